// <home>/agent.toml: named model profiles (docs/agent.md, "Configuration"). A table of the
// fields a profile may set, each with its type check; anything else is an error naming it.
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "skillrt/agent.h"

namespace skillrt {
namespace {

using Setter = Result<void> (*)(const toml::node& value, ModelProfile* profile);

template <typename T>
std::optional<T> As(const toml::node& node) {
  if (auto v = node.value<T>()) return *v;
  return std::nullopt;
}

Result<void> NeedString(const toml::node& value, std::string* out) {
  auto text = As<std::string>(value);
  if (!text) return Fail(ErrorCode::kValidation, "expected a string");
  *out = *text;
  return {};
}

Result<void> NeedMs(const toml::node& value, std::chrono::milliseconds* out) {
  auto n = As<int64_t>(value);
  if (!n || *n <= 0) return Fail(ErrorCode::kValidation, "expected a positive integer (ms)");
  *out = std::chrono::milliseconds(*n);
  return {};
}

struct Field {
  std::string_view name;
  Setter set;
};

constexpr Field kFields[] = {
    {"protocol",
     [](const toml::node& v, ModelProfile* p) -> Result<void> {
       std::string name;
       if (auto r = NeedString(v, &name); !r) return r;
       auto protocol = ParseProtocol(name);
       if (!protocol) return std::unexpected(protocol.error());
       p->protocol = *protocol;
       return {};
     }},
    {"base_url", [](const toml::node& v, ModelProfile* p) { return NeedString(v, &p->base_url); }},
    {"model", [](const toml::node& v, ModelProfile* p) { return NeedString(v, &p->model); }},
    {"api_key_ref",
     [](const toml::node& v, ModelProfile* p) -> Result<void> {
       if (auto r = NeedString(v, &p->api_key_ref); !r) return r;
       if (!p->api_key_ref.starts_with("env:") && !p->api_key_ref.starts_with("file:")) {
         return Fail(ErrorCode::kValidation, "expected env:NAME or file:PATH");
       }
       return {};
     }},
    {"max_output_tokens",
     [](const toml::node& v, ModelProfile* p) -> Result<void> {
       auto n = As<int64_t>(v);
       if (!n || *n <= 0 || *n > 1'000'000) {
         return Fail(ErrorCode::kValidation, "expected an integer from 1 to 1000000");
       }
       p->max_output_tokens = static_cast<uint32_t>(*n);
       return {};
     }},
    {"connect_timeout_ms",
     [](const toml::node& v, ModelProfile* p) { return NeedMs(v, &p->connect_timeout); }},
    {"request_timeout_ms",
     [](const toml::node& v, ModelProfile* p) { return NeedMs(v, &p->request_timeout); }},
    {"max_retries",
     [](const toml::node& v, ModelProfile* p) -> Result<void> {
       auto n = As<int64_t>(v);
       if (!n || *n < 0 || *n > 20) return Fail(ErrorCode::kValidation, "expected 0 to 20");
       p->max_retries = static_cast<uint32_t>(*n);
       return {};
     }},
};

}  // namespace

std::string_view ProtocolName(Protocol protocol) {
  return protocol == Protocol::kAnthropic ? "anthropic" : "openai";
}

Result<Protocol> ParseProtocol(std::string_view name) {
  if (name == "openai" || name == "chat") return Protocol::kOpenAIChat;
  if (name == "anthropic") return Protocol::kAnthropic;
  return Fail(ErrorCode::kInvalidArgument,
              "unknown protocol '" + std::string(name) + "': expected openai or anthropic");
}

std::string_view AgentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kAnswered: return "answered";
    case AgentStatus::kLimit: return "limit";
    case AgentStatus::kCancelled: return "cancelled";
    case AgentStatus::kFailed: return "failed";
  }
  return "failed";
}

std::filesystem::path ModelProfilePath(const std::filesystem::path& home) {
  return home / "agent.toml";
}

Result<ModelProfile> LoadModelProfile(const std::filesystem::path& path, std::string_view name) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, path.string() + ": no such file");
  std::stringstream text;
  text << in.rdbuf();
  toml::table root;
  try {
    root = toml::parse(text.str(), path.string());
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kParse, path.string() + ":" +
                                       std::to_string(e.source().begin.line) + ": " +
                                       std::string(e.description()));
  }
  std::string chosen(name);
  if (chosen.empty()) chosen = root["default"].value_or(std::string("default"));
  const toml::table* profiles = root["profiles"].as_table();
  const toml::table* table = profiles ? (*profiles)[chosen].as_table() : nullptr;
  if (table == nullptr) {
    std::string known;
    if (profiles) {
      for (const auto& [key, _] : *profiles) known += (known.empty() ? "" : ", ") + std::string(key.str());
    }
    return Fail(ErrorCode::kNotFound, path.string() + ": no profile '" + chosen + "'" +
                                          (known.empty() ? "" : " (profiles: " + known + ")"));
  }
  ModelProfile profile{.name = chosen};
  for (const auto& [key, value] : *table) {
    const std::string field(key.str());
    const std::string where = path.string() + ": profiles." + chosen + "." + field;
    if (field == "api_key") {
      return Fail(ErrorCode::kValidation,
                  where + ": a key is never written in the file; use api_key_ref = "
                          "\"env:NAME\" or \"file:PATH\"");
    }
    const Field* row = nullptr;
    for (const Field& f : kFields) {
      if (f.name == field) row = &f;
    }
    if (row == nullptr) return Fail(ErrorCode::kValidation, where + ": unknown field");
    if (auto set = row->set(value, &profile); !set) {
      return Fail(ErrorCode::kValidation, where + ": " + set.error().message);
    }
  }
  if (profile.base_url.empty() || profile.model.empty()) {
    return Fail(ErrorCode::kValidation, path.string() + ": profiles." + chosen +
                                            ": base_url and model are required");
  }
  return profile;
}

}  // namespace skillrt
