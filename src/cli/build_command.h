// `skillrt build SKILL`: builds a Python or JavaScript skill into a WebAssembly component
// and compiles it ahead of time (docs/wasm-languages.md, docs/cli.md).
#ifndef SKILLRT_CLI_BUILD_COMMAND_H_
#define SKILLRT_CLI_BUILD_COMMAND_H_

#include <string>

#include "cli/cli.h"

namespace skillrt::cli {

/// The command's flags.
struct BuildFlags {
  std::string skill;  ///< A skill name or the path of a skill directory.
  bool json = false;  ///< `--json`: print one JSON object.
};

/// Adds the SKILL argument and flags to `cmd`, which keeps pointers into `flags`.
void AddBuildCommand(CLI::App* cmd, BuildFlags* flags);

/// Builds the skill (or finds it built) and prints what was done; progress goes to stderr.
/// Returns the process exit code: a skill without `[wasm]` is a usage error.
int BuildCommand(const GlobalOptions& global, const BuildFlags& flags);

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_BUILD_COMMAND_H_
