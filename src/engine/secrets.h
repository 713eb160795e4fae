// Secrets and instance settings for one call: resolving the user's references
// (docs/secrets.md), putting values and instance settings into the plan's environment, and
// redacting known values from captured output.
#ifndef SKILLRT_ENGINE_SECRETS_H_
#define SKILLRT_ENGINE_SECRETS_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/instance.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"

namespace skillrt {

/// One secret's value for one call. Lives only in memory, for the length of the call.
struct ResolvedSecret {
  std::string name;   ///< The variable name declared in [secrets].
  std::string value;  ///< Never logged, audited or put in an error message.
  bool redact = true;
};

/// Largest secret value read from a `file:` reference, in bytes.
inline constexpr size_t kMaxSecretBytes = 64 << 10;

/// Resolves every secret `manifest` declares from `instance`'s references: `env:NAME` reads
/// the variable from skillrt's own environment (getenv(3)), `file:PATH` reads the file (at
/// most kMaxSecretBytes; one trailing "\n" or "\r\n" is removed). A declared secret without
/// a reference, or whose reference yields nothing, is skipped when not `required` and is
/// kNotFound otherwise; the message names the skill, the secret and the reference kind and
/// target (variable name or path), never a value: "skill 'x': secret API_TOKEN: env
/// reference: variable X_TOKEN is not set". kInvalidArgument for a value holding NUL.
/// `instances_file` is named in the hint for a missing reference. Thread-safe as long as no
/// thread modifies the environment.
Result<std::vector<ResolvedSecret>> ResolveSecrets(const Manifest& manifest,
                                                   const std::string& skill_name,
                                                   const std::optional<Instance>& instance,
                                                   const std::filesystem::path& instances_file);

/// Adds to `plan.env`, after what the manifest set (replacing a variable of the same name):
/// the instance's `env`, SKILLRT_INSTANCE=<name> and SKILLRT_CONFIG=<config as compact JSON>
/// when there is an instance, then each secret as NAME=value. The egress proxy variables the
/// plan builder set (EgressProxyEnvironment) keep their values.
void AddCallEnvironment(Plan& plan, const std::optional<Instance>& instance,
                        const std::vector<ResolvedSecret>& secrets);

/// `text` with each occurrence of each redacted secret's value replaced by
/// "[REDACTED:NAME]"; overlapping occurrences become one mark naming the longest value.
/// An occurrence is the value's bytes in any mix of ASCII upper and lower case (host names are
/// lower-cased on their way to an egress record, and a case-folded value gives away all but
/// its case), written as they are or with JSON string escapes (RFC 8259 section 7: "\u0068",
/// "\/", a surrogate pair), which the whole text is also read through: the escaped form of a
/// value is the value to whoever parses the text as JSON. The mark replaces every byte of the
/// text the value was decoded from. When `cut` (the stream was truncated), a tail of `text`
/// that is the start of a value is replaced too, since the rest was cut off. Time linear in
/// text.size() for each secret. Pure; thread-safe.
std::string RedactSecrets(std::string text, const std::vector<ResolvedSecret>& secrets,
                          bool cut);

/// Redacts, in place, every string of `value` and every object key (RedactSecrets on the
/// decoded text); a key that becomes the same as another gets " (2)", " (3)", ... added so that
/// no member is lost. A number or boolean whose printed form holds a value becomes the
/// redacted string of that form.
void RedactJson(nlohmann::json& value, const std::vector<ResolvedSecret>& secrets);

/// Redacts everything of `outcome` that comes from the skill or that it influenced: the
/// captured streams, the parsed output (RedactJson), the message and every field of the
/// egress records (RedactSecrets). Call it after the output was parsed and before anything
/// reads the outcome.
void RedactOutcome(Outcome& outcome, const std::vector<ResolvedSecret>& secrets);

/// Redacts every field of one egress record that a skill chooses or influences (method, host,
/// address, reason, rule), ignoring ASCII case as the proxy lower-cases host names. Used for
/// the outcome's records and for each `egress` event as it is emitted.
void RedactEgressRecord(EgressRecord& record, const std::vector<ResolvedSecret>& secrets);

/// Redacts `error`'s message (RedactSecrets): the error a runtime returns instead of an
/// outcome.
void RedactError(Error& error, const std::vector<ResolvedSecret>& secrets);

/// Redacts a stream that arrives in pieces (a run's output events) as RedactSecrets redacts
/// it whole: a value split across pieces is still found, because the last bytes that could
/// begin one (six times the longest value: its JSON-escaped spelling) are held back until
/// more arrives or Flush. Not thread-safe; borrows `secrets`, which must outlive it.
class StreamRedactor {
 public:
  explicit StreamRedactor(const std::vector<ResolvedSecret>& secrets);

  /// Adds `bytes`; returns what can be released, redacted (possibly empty).
  std::string Push(std::string_view bytes);

  /// Releases what was held back, redacted; a tail that is the start of a value is redacted
  /// too when `cut` (the stream was truncated).
  std::string Flush(bool cut);

 private:
  const std::vector<ResolvedSecret>& secrets_;
  size_t hold_ = 0;  // Bytes held back; 0 when nothing needs redacting.
  std::string pending_;
};

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_SECRETS_H_
