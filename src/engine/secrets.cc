#include "engine/secrets.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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
  if (instance) {
    for (const auto& [name, value] : instance->env) SetVar(plan.env, name, value);
    SetVar(plan.env, "SKILLRT_INSTANCE", instance->name);
    SetVar(plan.env, "SKILLRT_CONFIG",
           instance->config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  for (const ResolvedSecret& secret : secrets) SetVar(plan.env, secret.name, secret.value);
}

std::string RedactSecrets(std::string text, const std::vector<ResolvedSecret>& secrets,
                          bool cut) {
  std::vector<const ResolvedSecret*> order;
  for (const ResolvedSecret& s : secrets) {
    if (s.redact && !s.value.empty()) order.push_back(&s);
  }
  std::sort(order.begin(), order.end(), [](const ResolvedSecret* a, const ResolvedSecret* b) {
    return a->value.size() > b->value.size();
  });
  for (const ResolvedSecret* s : order) {
    const std::string mark = "[REDACTED:" + s->name + "]";
    size_t pos = 0;
    while ((pos = text.find(s->value, pos)) != std::string::npos) {
      text.replace(pos, s->value.size(), mark);
      pos += mark.size();
    }
  }
  if (cut) {
    for (const ResolvedSecret* s : order) {
      for (size_t len = std::min(s->value.size() - 1, text.size()); len > 0; --len) {
        if (text.compare(text.size() - len, len, s->value, 0, len) == 0) {
          text.replace(text.size() - len, len, "[REDACTED:" + s->name + "]");
          break;
        }
      }
    }
  }
  return text;
}

void RedactOutcome(Outcome& outcome, const std::vector<ResolvedSecret>& secrets) {
  if (secrets.empty()) return;
  for (CapturedStream* stream : {&outcome.stdout_stream, &outcome.stderr_stream}) {
    stream->data = RedactSecrets(std::move(stream->data), secrets, stream->truncated);
  }
  outcome.message = RedactSecrets(std::move(outcome.message), secrets, false);
}

}  // namespace skillrt
