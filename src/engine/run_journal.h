// Runs in flight, kept under $SKILLRT_HOME/runs: one small file per run, written before the
// runtime starts it and removed once the run's audit record is written. A file left behind
// by a process that is gone (killed with SIGKILL, crashed, the machine lost power) names a
// run that never got its record: the next engine to open the home ends what is left of it
// and records it as abandoned (docs/sandbox.md, "When skillrt is killed").
#ifndef SKILLRT_ENGINE_RUN_JOURNAL_H_
#define SKILLRT_ENGINE_RUN_JOURNAL_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt {

/// Identifies this process across pid reuse and reboots: its pid, its start time in clock
/// ticks since boot (proc(5), /proc/[pid]/stat field 22) and the boot id
/// (/proc/sys/kernel/random/boot_id).
struct ProcessIdentity {
  int pid = 0;
  uint64_t start_ticks = 0;
  std::string boot_id;

  /// This process. Computed once per pid (a forked child gets its own); thread-safe.
  static ProcessIdentity Self();
  /// True while the process this identity names is running.
  bool Alive() const;
};

/// The journal of runs in flight under one home. Thread-safe; processes sharing a home each
/// write only their own runs' files and judge others' only by their owner's liveness.
class RunJournal {
 public:
  /// `home` is $SKILLRT_HOME; entries live in `home`/runs (created 0700 on first Begin).
  explicit RunJournal(std::filesystem::path home);

  /// Records that `run_id` starts now in this process; `entry` (an object: skill, runtime,
  /// kind) is stored with the owner's identity and the time, before the run starts; written
  /// but not synced (it must outlive this process, not the machine). Errors: kIo (a full
  /// disk among them, or an entry for `run_id` already there): the run must not start, as
  /// nothing would record it should this process die.
  Result<void> Begin(const std::string& run_id, nlohmann::json entry);

  /// Removes `run_id`'s entry. Best effort: a leftover entry of a live process is ignored
  /// by Abandoned until the process is gone, then reported once.
  void End(const std::string& run_id);

  /// Entries whose owner is no longer running, each with "run_id", the fields given to
  /// Begin, "owner" and "started". Unreadable entries are reported with what could be read.
  std::vector<nlohmann::json> Abandoned() const;

  /// Removes an entry returned by Abandoned, once it has been dealt with.
  void Forget(const std::string& run_id);

 private:
  std::filesystem::path dir_;
};

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_RUN_JOURNAL_H_
