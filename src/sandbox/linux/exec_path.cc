#include "sandbox/linux/exec_path.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <sstream>

#include "sandbox/linux/mount.h"
#include "skillrt/fd.h"

namespace skillrt::exec_path {
namespace {

constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

bool IsUnder(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() &&
                            path[prefix.size()] == '/');
}

bool IsExecutableFile(const std::string& host) {
  struct stat st;
  return ::stat(host.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

std::string_view PathVariable(const Plan& plan) {
  for (const std::string& kv : plan.env) {
    if (kv.starts_with("PATH=")) return std::string_view(kv).substr(5);
  }
  return kDefaultPath;
}

// Reads the interpreter of an ELF executable (PT_INTERP), if any.
std::optional<std::string> ElfInterpreter(int fd) {
  Elf64_Ehdr eh;
  if (::pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) {
    return std::nullopt;
  }
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (::pread(fd, &ph, sizeof(ph), static_cast<off_t>(eh.e_phoff + i * sizeof(ph))) !=
        sizeof(ph)) {
      return std::nullopt;
    }
    if (ph.p_type == PT_INTERP && ph.p_filesz > 1 && ph.p_filesz < 4096) {
      std::string interp(ph.p_filesz, '\0');
      if (::pread(fd, interp.data(), interp.size(), static_cast<off_t>(ph.p_offset)) !=
          static_cast<ssize_t>(interp.size())) {
        return std::nullopt;
      }
      interp.resize(interp.find('\0') == std::string::npos ? interp.size() : interp.find('\0'));
      return interp;
    }
  }
  return std::nullopt;
}

void Collect(const Plan& plan, const std::string& inside, int depth,
             std::vector<std::string>* out) {
  if (depth > 4 || std::find(out->begin(), out->end(), inside) != out->end()) return;
  const std::optional<std::string> host = HostPathOf(plan, inside);
  if (!host || !IsExecutableFile(*host)) return;
  out->push_back(inside);
  UniqueFd fd(::open(host->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  std::array<char, 256> head{};
  const ssize_t n = ::pread(fd.get(), head.data(), head.size() - 1, 0);
  if (n >= 4 && std::string_view(head.data(), 4) == "\x7f" "ELF") {
    if (auto interp = ElfInterpreter(fd.get())) Collect(plan, *interp, depth + 1, out);
  } else if (n >= 2 && head[0] == '#' && head[1] == '!') {
    std::string line(head.data() + 2, static_cast<size_t>(n - 2));
    line = line.substr(0, line.find('\n'));
    std::istringstream words(line);
    std::string interp, arg;
    words >> interp >> arg;
    if (interp.empty()) return;
    Collect(plan, interp, depth + 1, out);
    if (interp.ends_with("/env") && !arg.empty() && !arg.starts_with("-")) {
      if (auto resolved = Resolve(plan, arg)) Collect(plan, *resolved, depth + 1, out);
    }
  }
}

}  // namespace

std::optional<std::string> HostPathOf(const Plan& plan, std::string_view inside) {
  if (inside.empty() || inside[0] != '/') return std::nullopt;
  if (IsUnder(inside, "/skill")) {
    return plan.skill_dir.string() + std::string(inside.substr(6));
  }
  const std::string_view aliases = mount::kAliasDir;
  if (inside.size() > aliases.size() + 1 && IsUnder(inside, aliases)) {
    return mount::AliasTarget(inside.substr(aliases.size() + 1));
  }
  for (std::string_view system : {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    if (IsUnder(inside, system)) return std::string(inside);
  }
  for (const BindMount& m : plan.mounts) {
    if (IsUnder(inside, m.path.string())) return std::string(inside);
  }
  return std::nullopt;
}

std::optional<std::string> Resolve(const Plan& plan, std::string_view command) {
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string_view::npos) {
    std::string inside =
        command[0] == '/' ? std::string(command) : "/skill/" + std::string(command);
    inside = std::filesystem::path(inside).lexically_normal().string();
    auto host = HostPathOf(plan, inside);
    if (host && IsExecutableFile(*host)) return inside;
    return std::nullopt;
  }
  std::string_view path = PathVariable(plan);
  while (true) {
    const size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    if (!dir.empty() && dir[0] == '/') {
      std::string inside = std::string(dir) + "/" + std::string(command);
      auto host = HostPathOf(plan, inside);
      if (host && IsExecutableFile(*host)) return inside;
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

std::vector<std::string> Closure(const Plan& plan, const std::string& inside) {
  std::vector<std::string> out;
  Collect(plan, inside, 0, &out);
  return out;
}

}  // namespace skillrt::exec_path
