// Resolving commands inside the sandbox's root from the host side, before the child starts.
#ifndef SKILLRT_SANDBOX_LINUX_EXEC_PATH_H_
#define SKILLRT_SANDBOX_LINUX_EXEC_PATH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/plan.h"

namespace skillrt::exec_path {

/// The host path that backs sandbox path `inside` under `plan`'s root (mount.h), or nullopt
/// when nothing executable backs it (/tmp, /proc, /dev, /etc, or outside every mount). A
/// command alias (/skillrt/bin/NAME) is backed by the program it stands for.
std::optional<std::string> HostPathOf(const Plan& plan, std::string_view inside);

/// Resolves `command` to a sandbox path: a name is looked up in the PATH of `plan.env`
/// (execvp(3) order); a relative path resolves against /skill; an absolute path is kept.
/// nullopt when no executable regular file backs it.
std::optional<std::string> Resolve(const Plan& plan, std::string_view command);

/// The sandbox paths that must be executable to run the file at sandbox path `inside`:
/// itself, an ELF program's interpreter (PT_INTERP), a script's "#!" interpreter, and for
/// "#!/usr/bin/env NAME" also NAME, recursively (bounded). Unresolvable entries are left out.
std::vector<std::string> Closure(const Plan& plan, const std::string& inside);

}  // namespace skillrt::exec_path

#endif  // SKILLRT_SANDBOX_LINUX_EXEC_PATH_H_
