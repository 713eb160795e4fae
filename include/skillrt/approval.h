// Approvals: when the policy asks, a person or a program decides, and the answer is bound to
// an approval key that changes whenever the skill or the call does (docs/approvals.md).
#ifndef SKILLRT_APPROVAL_H_
#define SKILLRT_APPROVAL_H_

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/policy.h"
#include "skillrt/risk.h"

namespace skillrt {

/// An approver's answer.
enum class ApprovalDecision {
  kApproveOnce,     ///< Run this call, this time only.
  kApproveSession,  ///< Run it, and every call with the same key for the Engine's lifetime.
  kApproveAlways,   ///< As kApproveSession, and store the key in <home>/approvals.json.
  kDeny,            ///< Do not run it. The kDenialsBeforeAbort-th denial of a key aborts.
  kAbort,           ///< Do not run it, and refuse every later call that would ask.
};

/// "approved", "approved_session", "approved_always", "denied", "aborted".
std::string_view ApprovalDecisionName(ApprovalDecision decision);

/// True for the three approving answers.
bool IsApproved(ApprovalDecision decision);

/// The number of denials of one approval key after which the session aborts: the third
/// denial of the same call in one Engine is turned into kAbort (docs/approvals.md).
inline constexpr int kDenialsBeforeAbort = 3;

/// What an approver is shown and what the approval key covers. Plain data.
struct ApprovalRequest {
  std::string key;  ///< ApprovalKey(skill, tree_sha256, invocation, request).
  std::string skill;
  std::filesystem::path skill_dir;
  std::string tree_sha256;  ///< Skill::tree_sha256.
  /// {"kind": "run"|"exec", "instance": name|null, "argv": [...], "argv_sha256": ...,
  /// "input_sha256": ...}: what is run and a hash of its input (never the input itself).
  nlohmann::json invocation;
  /// The sanitized request: {"runtime", "sandbox_level", "capabilities": {"read", "write",
  /// "network", "env_pass", "env_set" (names only), "commands", "secrets" (names only)},
  /// "limits"}; no values.
  nlohmann::json request;
  RiskAssessment risk;        ///< The guard's assessment of the argv.
  PolicyDecision policy;      ///< The decision that asked (effect kAsk) and all its rules.
  int previous_denials = 0;   ///< Denials of this key earlier in the session.
};

/// A program that answers approval requests. Called with no lock held by the caller's
/// thread, one request at a time per Engine (calls are serialized). Must not call back into
/// the same Engine. An exception it throws counts as kDeny.
using ApprovalCallback = std::function<ApprovalDecision(const ApprovalRequest&)>;

/// sha256 (lower-case hex) of the RFC 8785 canonical JSON of
/// {"skill", "tree_sha256", "invocation", "request"}; so an approval given for one skill tree,
/// argv, input or set of capabilities and limits is never valid for another. kInvalidArgument
/// if a value cannot be canonicalized (a string that is not UTF-8; the engine puts argv
/// bytes through `argv_sha256` so that this cannot happen for them).
Result<std::string> ApprovalKey(std::string_view skill, std::string_view tree_sha256,
                                const nlohmann::json& invocation, const nlohmann::json& request);

/// sha256 (lower-case hex) of `argv` as bytes, each argument preceded by its length as a
/// decimal number and ':', so different argvs never hash alike, whatever bytes they hold.
std::string ArgvSha256(const std::vector<std::string>& argv);

/// The text an interactive approver shows: the skill, its directory and tree hash, what is
/// run, the capabilities and limits asked for, the risk and its reasons, and the rules that
/// asked. Control characters in any value are shown escaped (\x1b), so a skill cannot write
/// escape sequences to the terminal. Ends with a newline; no question.
std::string FormatApprovalPrompt(const ApprovalRequest& request);

/// The persistent approvals in <home>/approvals.json (docs/approvals.md, "The store"):
/// {"version": 1, "approvals": [{"key", "skill", "tree_sha256", "kind", "argv", "via",
/// "time"}]}. Only kApproveAlways adds to it. Thread-safe and safe across processes: reads
/// hold a shared flock(2) on <home>/approvals.lock, updates an exclusive one, and the file is
/// replaced by rename(2) from a 0600 temporary file in the same directory, then fsync'd.
class ApprovalStore {
 public:
  /// The store of `home`; nothing is read or created until used.
  explicit ApprovalStore(std::filesystem::path home);

  /// True when `key` is stored. A missing file holds nothing. Errors: kValidation when the
  /// file is not the format above (naming the file and the JSON pointer at fault) or is
  /// writable by group or others or owned by another user (a store others can write cannot
  /// vouch for anything); kIo.
  Result<bool> Contains(std::string_view key) const;

  /// Adds `request`'s key (a no-op when present), with `via` naming the approver.
  /// Errors as for Contains; the old file is left intact on any failure.
  Result<void> Add(const ApprovalRequest& request, std::string_view via);

  /// <home>/approvals.json.
  std::filesystem::path path() const { return home_ / "approvals.json"; }

 private:
  std::filesystem::path home_;
};

}  // namespace skillrt

#endif  // SKILLRT_APPROVAL_H_
