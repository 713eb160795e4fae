#include "engine/secrets.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include "engine/plan_builder.h"
#include "skillrt/fd.h"

namespace skillrt {
namespace {

// Reads a secret file; the error names the path and errno, never content.
Result<std::string> ReadSecretFile(const std::string& path, const std::string& where) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return FailErrno(ErrorCode::kNotFound, where + ": cannot open " + path, errno);
  std::string value;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kNotFound, where + ": cannot read " + path, errno);
    if (n == 0) break;
    value.append(buf, static_cast<size_t>(n));
    if (value.size() > kMaxSecretBytes) {
      return Fail(ErrorCode::kInvalidArgument, where + ": " + path + " is larger than 64 KiB");
    }
  }
  if (value.ends_with("\r\n")) {
    value.resize(value.size() - 2);
  } else if (value.ends_with("\n")) {
    value.pop_back();
  }
  return value;
}

char FoldCase(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A byte range of the text that holds (the start of) a secret's value.
struct Range {
  size_t begin, end;
  const ResolvedSecret* secret;
};

// Finds one secret's value, ignoring ASCII case, in a stream of bytes fed one at a time,
// each with the range of the text it was decoded from (Knuth-Morris-Pratt: time linear in the
// text whatever the value and the text hold). Appends the range of every occurrence, overlaps
// included, to `out`.
class ValueFinder {
 public:
  ValueFinder(const ResolvedSecret& secret, std::vector<Range>& out)
      : secret_(secret),
        out_(out),
        value_(secret.value),
        next_(value_.size(), 0),
        starts_(value_.size(), 0) {
    for (char& c : value_) c = FoldCase(c);
    for (size_t i = 1, k = 0; i < value_.size(); ++i) {
      while (k > 0 && value_[i] != value_[k]) k = next_[k - 1];
      if (value_[i] == value_[k]) ++k;
      next_[i] = k;
    }
  }

  // One byte `c` of the stream, decoded from text[begin, end).
  void Feed(char c, size_t begin, size_t end) {
    const size_t m = value_.size();
    starts_[fed_ % m] = begin;
    ++fed_;
    c = FoldCase(c);
    while (matched_ > 0 && value_[matched_] != c) matched_ = next_[matched_ - 1];
    if (value_[matched_] == c) ++matched_;
    if (matched_ == m) {
      out_.push_back({starts_[(fed_ - m) % m], end, &secret_});
      matched_ = next_[m - 1];
    }
  }

  // The stream was cut at `text_end`: a tail that is the start of the value counts too.
  void FeedEnd(size_t text_end) {
    if (matched_ > 0) {
      out_.push_back({starts_[(fed_ - matched_) % value_.size()], text_end, &secret_});
    }
  }

 private:
  const ResolvedSecret& secret_;
  std::vector<Range>& out_;
  std::string value_;           // Folded to lower case.
  std::vector<size_t> next_;    // KMP failure function of value_.
  std::vector<size_t> starts_;  // Ring: where each of the last value_.size() bytes began.
  size_t fed_ = 0;
  size_t matched_ = 0;
};

void AppendUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The four hex digits at text[at], or -1.
int32_t Hex4(std::string_view text, size_t at) {
  if (at + 4 > text.size()) return -1;
  int32_t v = 0;
  for (size_t k = at; k < at + 4; ++k) {
    const char c = text[k];
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Calls emit(byte, begin, end) for each byte of `text` as a JSON string's reader gets it
// (RFC 8259 section 7): an escape (\n, \", \u0068, a surrogate pair \ud83d\ude00) gives the
// bytes it stands for, each with the range of the whole escape; every other byte is itself.
// Applied to all of the text, inside string literals or not: a reader may take any of it for
// JSON.
template <typename Emit>
void DecodeJsonEscapes(std::string_view text, Emit&& emit) {
  std::string bytes;
  for (size_t i = 0; i < text.size();) {
    size_t end = i + 1;
    bytes.clear();
    if (text[i] == '\\' && i + 1 < text.size()) {
      switch (text[i + 1]) {
        case '"': case '\\': case '/': bytes = text[i + 1]; break;
        case 'b': bytes = '\b'; break;
        case 'f': bytes = '\f'; break;
        case 'n': bytes = '\n'; break;
        case 'r': bytes = '\r'; break;
        case 't': bytes = '\t'; break;
        case 'u': {
          const int32_t unit = Hex4(text, i + 2);
          if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) break;
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            const int32_t low = text.substr(i + 6, 2) == "\\u" ? Hex4(text, i + 8) : -1;
            if (low < 0xDC00 || low > 0xDFFF) break;  // A lone surrogate decodes to no text.
            AppendUtf8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), bytes);
            end = i + 12;
          } else {
            AppendUtf8(static_cast<char32_t>(unit), bytes);
            end = i + 6;
          }
          break;
        }
        default: break;
      }
      if (!bytes.empty() && end == i + 1) end = i + 2;
    }
    if (bytes.empty()) {
      emit(text[i], i, i + 1);
      i += 1;
      continue;
    }
    for (char c : bytes) emit(c, i, end);
    i = end;
  }
}

void SetVar(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  const std::string prefix = name + "=";
  for (std::string& entry : env) {
    if (entry.starts_with(prefix)) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

}  // namespace

Result<std::vector<ResolvedSecret>> ResolveSecrets(const Manifest& manifest,
                                                   const std::string& skill_name,
                                                   const std::optional<Instance>& instance,
                                                   const std::filesystem::path& instances_file) {
  std::vector<ResolvedSecret> out;
  for (const auto& [name, spec] : manifest.secrets) {
    const std::string where = "skill '" + skill_name + "': secret " + name;
    const SecretRef* ref = nullptr;
    if (instance) {
      if (auto it = instance->secrets.find(name); it != instance->secrets.end()) ref = &it->second;
    }
    if (ref == nullptr) {
      if (!spec.required) continue;
      const std::string table =
          "[" + skill_name + "." + (instance ? instance->name : std::string("INSTANCE")) +
          ".secrets]";
      return Fail(ErrorCode::kNotFound,
                  where + " is required and has no reference; add " + name +
                      " = \"env:VARIABLE\" or \"file:/path\" under " + table + " in " +
                      instances_file.string() +
                      (instance ? "" : " (and name the instance: SKILL@INSTANCE or default)"));
    }
    std::string value;
    const std::string ref_where = where + ": " + std::string(ref->KindName()) + " reference";
    if (ref->kind == SecretRef::Kind::kEnv) {
      const char* v = ::getenv(ref->target.c_str());
      if (v == nullptr) {
        if (!spec.required) continue;
        return Fail(ErrorCode::kNotFound, ref_where + ": variable " + ref->target + " is not set");
      }
      value = v;
    } else {
      auto read = ReadSecretFile(ref->target, ref_where);
      if (!read) {
        if (!spec.required && read.error().code == ErrorCode::kNotFound) continue;
        return std::unexpected(read.error());
      }
      value = std::move(*read);
    }
    if (value.find('\0') != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, ref_where + ": the value holds a NUL byte");
    }
    if (value.empty()) {
      if (!spec.required) continue;
      return Fail(ErrorCode::kNotFound, ref_where + ": the value is empty");
    }
    out.push_back(ResolvedSecret{.name = name, .value = std::move(value), .redact = spec.redact});
  }
  return out;
}

void AddCallEnvironment(Plan& plan, const std::optional<Instance>& instance,
                        const std::vector<ResolvedSecret>& secrets) {
  // The egress proxy's variables, when the plan builder set them, are not the instance's or a
  // secret's to change: they are put back as they were after the others.
  std::vector<std::string> proxy_env;
  for (const std::string& entry : EgressProxyEnvironment()) {
    if (std::find(plan.env.begin(), plan.env.end(), entry) != plan.env.end()) {
      proxy_env.push_back(entry);
    }
  }
  if (instance) {
    for (const auto& [name, value] : instance->env) SetVar(plan.env, name, value);
    SetVar(plan.env, "SKILLRT_INSTANCE", instance->name);
    SetVar(plan.env, "SKILLRT_CONFIG",
           instance->config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  for (const ResolvedSecret& secret : secrets) SetVar(plan.env, secret.name, secret.value);
  for (const std::string& entry : proxy_env) {
    const size_t eq = entry.find('=');
    SetVar(plan.env, entry.substr(0, eq), entry.substr(eq + 1));
  }
}

std::string RedactSecrets(std::string text, const std::vector<ResolvedSecret>& secrets,
                          bool cut) {
  // Every byte range holding a value (overlaps included) or, for a cut stream, the start of
  // one at the very end; overlapping ranges merge, so no part of any value survives.
  std::vector<Range> ranges;
  const bool escapes = text.find('\\') != std::string::npos;
  for (const ResolvedSecret& s : secrets) {
    if (!s.redact || s.value.empty()) continue;
    ValueFinder as_written(s, ranges);
    for (size_t i = 0; i < text.size(); ++i) as_written.Feed(text[i], i, i + 1);
    if (cut) as_written.FeedEnd(text.size());
    if (escapes) {
      ValueFinder decoded(s, ranges);
      DecodeJsonEscapes(
          text, [&decoded](char c, size_t begin, size_t end) { decoded.Feed(c, begin, end); });
      if (cut) decoded.FeedEnd(text.size());
    }
  }
  if (ranges.empty()) return text;
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < ranges.size();) {
    Range merged = ranges[i];
    size_t longest = merged.end - merged.begin;
    for (++i; i < ranges.size() && ranges[i].begin < merged.end; ++i) {
      if (ranges[i].end - ranges[i].begin > longest) {
        longest = ranges[i].end - ranges[i].begin;
        merged.secret = ranges[i].secret;
      }
      merged.end = std::max(merged.end, ranges[i].end);
    }
    out.append(text, copied, merged.begin - copied);
    out += "[REDACTED:" + merged.secret->name + "]";
    copied = merged.end;
  }
  out.append(text, copied, std::string::npos);
  return out;
}

void RedactJson(nlohmann::json& value, const std::vector<ResolvedSecret>& secrets) {
  if (value.is_string()) {
    value = RedactSecrets(value.get<std::string>(), secrets, false);
  } else if (value.is_array()) {
    for (nlohmann::json& item : value) RedactJson(item, secrets);
  } else if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      RedactJson(it.value(), secrets);
      // Two keys may redact to the same text; neither value is dropped.
      const std::string key = RedactSecrets(it.key(), secrets, false);
      std::string unique = key;
      for (int n = 2; out.contains(unique); ++n) unique = key + " (" + std::to_string(n) + ")";
      out[unique] = std::move(it.value());
    }
    value = std::move(out);
  } else if (!value.is_null()) {
    // A number is printed again from its value (1.2345678e7 as 12345678.0): what is printed
    // is what must not hold a value.
    const std::string text = value.dump();
    std::string redacted = RedactSecrets(text, secrets, false);
    if (redacted != text) value = std::move(redacted);
  }
}

void RedactOutcome(Outcome& outcome, const std::vector<ResolvedSecret>& secrets) {
  if (secrets.empty()) return;
  for (CapturedStream* stream : {&outcome.stdout_stream, &outcome.stderr_stream}) {
    stream->data = RedactSecrets(std::move(stream->data), secrets, stream->truncated);
  }
  RedactJson(outcome.output, secrets);
  outcome.message = RedactSecrets(std::move(outcome.message), secrets, false);
  // A skill chooses the names it asks the egress proxy for: a secret spelled into one must not
  // reach the audit log through the connection's record (nor, lower-cased by the proxy, past
  // an exact comparison: RedactSecrets ignores ASCII case).
  for (EgressRecord& connection : outcome.egress) RedactEgressRecord(connection, secrets);
}

void RedactEgressRecord(EgressRecord& record, const std::vector<ResolvedSecret>& secrets) {
  for (std::string* field :
       {&record.method, &record.host, &record.address, &record.reason, &record.rule}) {
    *field = RedactSecrets(std::move(*field), secrets, false);
  }
}

void RedactError(Error& error, const std::vector<ResolvedSecret>& secrets) {
  error.message = RedactSecrets(std::move(error.message), secrets, false);
}

StreamRedactor::StreamRedactor(const std::vector<ResolvedSecret>& secrets) : secrets_(secrets) {
  for (const ResolvedSecret& secret : secrets_) {
    if (secret.redact && !secret.value.empty()) hold_ = std::max(hold_, 6 * secret.value.size());
  }
}

std::string StreamRedactor::Push(std::string_view bytes) {
  if (hold_ == 0) return std::string(bytes);
  pending_.append(bytes);
  if (pending_.size() <= hold_) return {};
  // An occurrence that begins in what is released ends within `pending_` (it is at most
  // hold_ bytes long), so redacting the whole buffer has already replaced it.
  std::string redacted = RedactSecrets(std::move(pending_), secrets_, /*cut=*/false);
  if (redacted.size() <= hold_) {
    pending_ = std::move(redacted);
    return {};
  }
  pending_ = redacted.substr(redacted.size() - hold_);
  redacted.resize(redacted.size() - hold_);
  return redacted;
}

std::string StreamRedactor::Flush(bool cut) {
  if (hold_ == 0) return {};
  return RedactSecrets(std::exchange(pending_, {}), secrets_, cut);
}

}  // namespace skillrt
