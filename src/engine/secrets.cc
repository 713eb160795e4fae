#include "engine/secrets.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine/plan_builder.h"
#include "util/fd.h"

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
  struct Range {
    size_t begin, end;
    const ResolvedSecret* secret;
  };
  std::vector<Range> ranges;
  for (const ResolvedSecret& s : secrets) {
    if (!s.redact || s.value.empty()) continue;
    for (size_t pos = text.find(s.value); pos != std::string::npos;
         pos = text.find(s.value, pos + 1)) {
      ranges.push_back({pos, pos + s.value.size(), &s});
    }
    if (cut) {
      for (size_t len = std::min(s.value.size() - 1, text.size()); len > 0; --len) {
        if (text.compare(text.size() - len, len, s.value, 0, len) == 0) {
          ranges.push_back({text.size() - len, text.size(), &s});
          break;
        }
      }
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

void RedactOutcome(Outcome& outcome, const std::vector<ResolvedSecret>& secrets) {
  if (secrets.empty()) return;
  for (CapturedStream* stream : {&outcome.stdout_stream, &outcome.stderr_stream}) {
    stream->data = RedactSecrets(std::move(stream->data), secrets, stream->truncated);
  }
  outcome.message = RedactSecrets(std::move(outcome.message), secrets, false);
  // A skill chooses the names it asks the egress proxy for: a secret spelled into one must not
  // reach the audit log through the connection's record.
  for (EgressRecord& connection : outcome.egress) {
    for (std::string* field : {&connection.method, &connection.host, &connection.address,
                               &connection.reason, &connection.rule}) {
      *field = RedactSecrets(std::move(*field), secrets, false);
    }
  }
}

}  // namespace skillrt
