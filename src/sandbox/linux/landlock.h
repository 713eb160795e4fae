// Landlock: an unprivileged access-control layer inside the sandbox, so that even the
// minimal root is reachable only as the plan allows (landlock(7)).
#ifndef SKILLRT_SANDBOX_LINUX_LANDLOCK_H_
#define SKILLRT_SANDBOX_LINUX_LANDLOCK_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/plan.h"

namespace skillrt::landlock {

/// The kernel's Landlock ABI version (landlock_create_ruleset(2) with
/// LANDLOCK_CREATE_RULESET_VERSION); 0 if Landlock is missing or disabled. Cached.
int Abi();

/// One path-beneath rule, opened in the child after pivot_root.
struct Rule {
  const char* path = nullptr;  ///< Sandbox path.
  uint64_t access = 0;         ///< LANDLOCK_ACCESS_FS_* rights (trimmed to files in the child).
  bool optional = false;       ///< A missing path is skipped rather than an error.
  /// Opened with no symbolic link followed (runtime/path_pin.h): the rule of a declared path
  /// must reach the bind made for it, not wherever a link planted since would lead.
  bool exact = false;
};

/// A flat, pointer-only view of a ruleset: what the child reads.
struct RulesetView {
  int abi = 0;
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  const Rule* rules = nullptr;
  size_t rule_count = 0;
};

/// The ruleset for one run. Not copyable (Rules point into `strings`).
struct Ruleset {
  Ruleset() = default;
  Ruleset(const Ruleset&) = delete;
  Ruleset& operator=(const Ruleset&) = delete;

  int abi = 0;
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  std::vector<Rule> rules;
  std::deque<std::string> strings;

  /// A view of this ruleset; valid while it lives and is not modified.
  RulesetView View() const {
    return {.abi = abi, .handled_fs = handled_fs, .handled_net = handled_net, .scoped = scoped,
            .rules = rules.data(), .rule_count = rules.size()};
  }
};

/// Computes the ruleset for `plan` at `abi` (>= 1): read and list the system directories,
/// /etc, /skill, /proc, the command aliases and declared readable paths; write only /tmp,
/// /dev/shm, declared writable paths and the workspace; execute `exec_paths` (sandbox paths)
/// and, with ExecProfile::kSystem, the system directories; TCP is left to the network
/// namespace (loopback only); no signals or abstract Unix sockets beyond the sandbox
/// (ABI >= 6).
void PlanRuleset(const Plan& plan, const std::vector<std::string>& exec_paths, int abi,
                 Ruleset* out);

/// Child side: creates the ruleset, adds the rules and restricts the calling thread (and its
/// future children). REQUIRES: no_new_privs set; in the final root. On failure reports on
/// `err_fd` and exits.
void Restrict(const RulesetView& ruleset, int err_fd);

}  // namespace skillrt::landlock

#endif  // SKILLRT_SANDBOX_LINUX_LANDLOCK_H_
