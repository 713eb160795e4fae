// The MCP server's request handling: version negotiation, the method table, sessions and
// the handshake (MCP 2025-11-25 "Lifecycle"; 2026-07-28 "server/discover" and per-request
// `_meta`).
#include "skillrt/mcp/server.h"

#include <algorithm>
#include <array>
#include <map>

#include "skillrt/skill.h"
#include "skillrt/sha256.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

constexpr const char* kServerName = "skillrt";
constexpr const char* kServerVersion = "0.1.0";

json ServerInfo() {
  return {{"name", kServerName},
          {"title", "skillrt: sandboxed agent skills"},
          {"version", kServerVersion}};
}

json Capabilities() {
  return {{"tools", {{"listChanged", true}}},
          {"resources", {{"listChanged", true}}},
          {"logging", json::object()},
          {"extensions", {{kSkillsExtension, json::object()}}}};
}

json SupportedVersions() {
  json versions = json::array({kStatelessVersion});
  for (std::string_view v : kSessionVersions) versions.push_back(v);
  return versions;
}

bool IsSessionVersion(std::string_view version) {
  return std::find(kSessionVersions.begin(), kSessionVersions.end(), version) !=
         kSessionVersions.end();
}

RpcResult Initialize(RequestContext& c) {
  if (c.stateless) {
    return RpcFail(kInvalidRequest, "initialize is not part of protocol revision " +
                                        std::string(kStatelessVersion) +
                                        "; send server/discover or call methods directly");
  }
  const json requested = c.params.value("protocolVersion", json());
  if (!requested.is_string()) return RpcFail(kInvalidParams, "protocolVersion must be a string");
  // Offer the client's version when spoken here, else the latest with a handshake; the client
  // disconnects when it cannot speak that (2025-11-25, "Version Negotiation").
  const std::string version = IsSessionVersion(requested.get<std::string>())
                                  ? requested.get<std::string>()
                                  : std::string(kLatestSessionVersion);
  c.session.Initialize(version, c.params.value("clientInfo", json::object()),
                       c.params.value("capabilities", json::object()));
  return json{{"protocolVersion", version},
              {"capabilities", Capabilities()},
              {"serverInfo", ServerInfo()},
              {"instructions", c.server.Instructions()}};
}

RpcResult Ping(RequestContext&) { return json::object(); }

RpcResult Discover(RequestContext& c) {
  return json{{"supportedVersions", SupportedVersions()},
              {"capabilities", Capabilities()},
              {"serverInfo", ServerInfo()},
              {"instructions", c.server.Instructions()},
              {"ttlMs", 60'000},
              {"cacheScope", "public"}};
}

RpcResult SetLogLevel(RequestContext& c) {
  const int rank = LogLevelRank(c.params.value("level", ""));
  if (rank < 0) {
    return RpcFail(kInvalidParams,
                   "level must be one of debug, info, notice, warning, error, critical, alert, "
                   "emergency");
  }
  c.session.set_log_level(rank);
  return json::object();
}

using Handler = RpcResult (*)(RequestContext&);

// Every method the server answers. `before_init`: allowed before the handshake completes
// (2025-11-25, "Initialization": only pings until then). `cacheable`: a stateless result
// carries ttlMs/cacheScope (2026-07-28 CacheableResult).
struct Method {
  std::string_view name;
  Handler handler;
  bool before_init;
  bool cacheable;
};

constexpr std::array<Method, 11> kMethods = {{
    {"initialize", Initialize, true, false},
    {"ping", Ping, true, false},
    {"server/discover", Discover, true, false},  // Sets its own ttlMs.
    {"logging/setLevel", SetLogLevel, false, false},
    {"tools/list", ToolsList, false, true},
    {"tools/call", ToolsCall, false, false},
    {"resources/list", ResourcesList, false, true},
    {"resources/templates/list", ResourceTemplatesList, false, true},
    {"resources/read", ResourcesRead, false, true},
    {"skills/list", SkillsList, false, true},
    {"skills/get", SkillsGet, false, true},
}};

const Method* FindMethod(std::string_view name) {
  for (const Method& m : kMethods) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// A description's first line, at most 120 bytes (cut on a UTF-8 boundary, "..." marking it).
std::string ShortDescription(std::string_view description) {
  std::string line(description.substr(0, description.find('\n')));
  if (line.size() > 120) {
    size_t cut = 117;  // Whole UTF-8 sequences only.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line = line.substr(0, cut) + "...";
  }
  return line;
}

}  // namespace

// Session ------------------------------------------------------------------------------------

std::string Session::version() const {
  std::lock_guard lock(mu_);
  return version_;
}
json Session::client_info() const {
  std::lock_guard lock(mu_);
  return client_info_;
}
json Session::client_capabilities() const {
  std::lock_guard lock(mu_);
  return capabilities_;
}
bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}
void Session::Initialize(std::string version, json client_info, json capabilities) {
  std::lock_guard lock(mu_);
  version_ = std::move(version);
  client_info_ = client_info.is_object() ? std::move(client_info) : json::object();
  capabilities_ = capabilities.is_object() ? std::move(capabilities) : json::object();
  initialized_ = true;
}
void Session::MarkInitialized() {
  std::lock_guard lock(mu_);
  ready_ = true;
}
bool Session::Track(const std::string& key) {
  std::lock_guard lock(mu_);
  return calls_.try_emplace(key).second;
}
void Session::Attach(const std::string& key, RunHandle handle) {
  std::lock_guard lock(mu_);
  auto it = calls_.find(key);
  if (it == calls_.end()) return;
  it->second.run = handle;
  if (it->second.cancelled) handle.Cancel("cancelled by the client");
}
bool Session::Cancel(const std::string& key, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = calls_.find(key);
  if (it == calls_.end()) return false;
  it->second.cancelled = true;
  if (it->second.run) it->second.run->Cancel(reason);
  return true;
}
bool Session::WasCancelled(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(key);
  return it != calls_.end() && it->second.cancelled;
}
void Session::Untrack(const std::string& key) {
  std::lock_guard lock(mu_);
  calls_.erase(key);
}
void Session::CancelAll(const std::string& reason) {
  std::lock_guard lock(mu_);
  for (auto& [key, call] : calls_) {
    call.cancelled = true;
    if (call.run) call.run->Cancel(reason);
  }
}

void RequestContext::Log(std::string_view level, const json& data) const {
  const int rank = LogLevelRank(level);
  if (log_level < 0 || rank < log_level) return;
  channel.Send(NotificationMessage(
      "notifications/message", {{"level", level}, {"logger", "skillrt"}, {"data", data}}));
}

// Server -------------------------------------------------------------------------------------

Server::Server(Engine& engine, ServerOptions options)
    : engine_(engine),
      options_(std::move(options)),
      search_(engine.registry(), DefaultSearchIndexPath(engine.home())) {}

json Server::ParseErrorResponse(std::string_view detail) {
  return ErrorMessage(nullptr, RpcError{kParseError, "parse error: " + std::string(detail)});
}

std::optional<json> Server::Handle(const json& message, Session& session,
                                   ClientChannel& channel) {
  // A value of an unexpected type anywhere in a message (a clientInfo.name that is a number)
  // makes nlohmann::json throw; it is the client's error, answered as such.
  try {
    return HandleMessage(message, session, channel);
  } catch (const json::exception& e) {
    const json id = message.is_object() ? message.value("id", json()) : json();
    return ErrorMessage(id.is_string() || id.is_number_integer() ? id : json(),
                        RpcError{kInvalidParams, std::string("invalid params: ") + e.what()});
  } catch (const std::exception& e) {
    return ErrorMessage(nullptr, RpcError{kInternalError, e.what()});
  }
}

std::optional<json> Server::HandleMessage(const json& message, Session& session,
                                          ClientChannel& channel) {
  std::string why;
  const MessageKind kind = Classify(message, &why);
  const json id = message.is_object() && message.contains("id") ? message["id"] : json();
  if (kind == MessageKind::kInvalid) {
    return ErrorMessage(id.is_string() || id.is_number_integer() ? id : json(),
                        RpcError{kInvalidRequest, "invalid request: " + why});
  }
  if (kind == MessageKind::kResponse) return std::nullopt;  // Routed by the transport.
  const std::string method = message["method"].get<std::string>();
  const json params = message.value("params", json::object());
  if (kind == MessageKind::kNotification) {
    if (method == "notifications/initialized") {
      session.MarkInitialized();
    } else if (method == "notifications/cancelled") {
      const json request_id = params.value("requestId", json());
      if (!request_id.is_null()) {
        session.Cancel(Dump(request_id), params.value("reason", "cancelled by the client"));
      }
    }
    // Other notifications (roots/list_changed, progress) need nothing from this server.
    return std::nullopt;
  }

  RequestContext context{.server = *this,
                         .session = session,
                         .channel = channel,
                         .id = id,
                         .method = method,
                         .params = params,
                         .request_key = Dump(id)};
  const json meta = params.value("_meta", json::object());
  if (meta.is_object() && meta.contains(kMetaProtocolVersion)) {
    const json requested = meta[kMetaProtocolVersion];
    if (requested != kStatelessVersion) {
      return ErrorMessage(
          id, RpcError{kUnsupportedProtocolVersion,
                       "unsupported protocol version in _meta",
                       {{"supported", json::array({kStatelessVersion})},
                        {"requested", requested}}});
    }
    context.stateless = true;
    context.version = std::string(kStatelessVersion);
    const json info = meta.value(kMetaClientInfo, json::object());
    context.client_name = info.is_object() ? info.value("name", "") : "";
    context.client_capabilities = meta.value(kMetaClientCapabilities, json::object());
    context.log_level = LogLevelRank(meta.value(kMetaLogLevel, ""));
  } else {
    context.version = session.version();
    context.client_name = session.client_info().value("name", "");
    context.client_capabilities = session.client_capabilities();
    context.log_level = session.log_level();
  }
  if (context.client_name.empty()) context.client_name = "mcp-client";
  if (meta.is_object() && meta.contains("progressToken")) {
    const json& token = meta["progressToken"];
    if (token.is_string() || token.is_number_integer()) context.progress_token = token;
  }

  RpcResult result = Dispatch(context);
  if (session.WasCancelled(context.request_key)) {
    return std::nullopt;  // The client said it will not use the result (2025-11-25).
  }
  if (!result) return ErrorMessage(id, result.error());
  if (context.stateless && result->is_object()) {
    (*result)["resultType"] = result->value("resultType", "complete");
    (*result)["_meta"][kMetaServerInfo] = ServerInfo();
  }
  return ResultMessage(id, std::move(*result));
}

RpcResult Server::Dispatch(RequestContext& context) {
  const Method* method = FindMethod(context.method);
  if (method == nullptr) {
    return RpcFail(kMethodNotFound, "method not found: " + context.method);
  }
  if (!context.stateless && !method->before_init && !context.session.initialized()) {
    return RpcFail(kInvalidRequest, "send initialize before " + context.method +
                                        " (or carry the protocol version in _meta)");
  }
  RpcResult result = method->handler(context);
  if (result && context.stateless && method->cacheable && result->is_object()) {
    // Lists change when the skill roots do: a minute is a bound a client may cache for.
    (*result)["ttlMs"] = 60'000;
    (*result)["cacheScope"] = "private";
  }
  return result;
}

std::vector<json> Server::PollListChanged() {
  auto refs = engine_.registry().List();
  if (!refs) return {};
  Sha256 digest;
  for (const SkillRef& ref : *refs) digest.Update(ref.name + "\n" + ref.dir.string() + "\n");
  std::string fingerprint = digest.HexDigest();
  std::lock_guard lock(tools_mu_);
  if (fingerprint == tools_fingerprint_) return {};
  const bool first = tools_fingerprint_.empty();
  tools_fingerprint_ = std::move(fingerprint);
  tools_.reset();  // Rebuilt by the next tools().
  if (first) return {};
  return {NotificationMessage("notifications/tools/list_changed"),
          NotificationMessage("notifications/resources/list_changed")};
}

std::string Server::Instructions() {
  std::string text =
      "skillrt runs agent skills in a sandbox. Find a skill with search_skills (the best "
      "matches for a task) or list_skills (paginated, filterable), read its instructions with "
      "load_skill and its files with read_skill_file, "
      "then run its entry point with run_skill or a command in its sandbox with exec_in_skill. "
      "Every call is checked by the policy and recorded in the audit log.\n";
  auto refs = engine_.registry().List();
  if (!refs) return text;
  // One line per skill, in catalogue order.
  std::map<std::string, std::string> lines;
  size_t all_lines = 0;
  for (const SkillRef& ref : *refs) {
    auto skill = engine_.registry().Describe(ref.name);
    std::string line = "- " + ref.name;
    if (skill) line += ": " + ShortDescription(skill->meta.description);
    line += "\n";
    all_lines += line.size();
    lines[ref.name] = std::move(line);
  }
  std::string index = "Skills (" + std::to_string(refs->size()) + "):\n";
  const size_t budget = options_.instructions_budget_bytes;
  // Keep room for the closing line that says how to get the rest.
  const size_t room = budget > text.size() + index.size() + 160
                          ? budget - text.size() - index.size() - 160
                          : 0;
  std::vector<std::string> order;
  for (const SkillRef& ref : *refs) order.push_back(ref.name);
  if (all_lines > room && !options_.instructions_focus.empty()) {
    // Not all fit: the best matches for the focus first. A failed search (no model) keeps
    // the catalogue order.
    auto found = SearchSkills(options_.instructions_focus,
                              SearchOptions{.top_k = std::min<size_t>(refs->size(), 50)});
    if (found && !found->hits.empty()) {
      std::vector<std::string> first;
      for (const SearchHit& hit : found->hits) {
        if (lines.contains(hit.name)) first.push_back(hit.name);
      }
      for (const std::string& name : order) {
        if (std::find(first.begin(), first.end(), name) == first.end()) first.push_back(name);
      }
      order = std::move(first);
      index = "Skills (" + std::to_string(refs->size()) + "; the best matches for \"" +
              ShortDescription(options_.instructions_focus) + "\" first):\n";
    }
  }
  size_t shown = 0, used = 0;
  for (const std::string& name : order) {
    const std::string& line = lines[name];
    if (used + line.size() > room) break;
    index += line;
    used += line.size();
    ++shown;
  }
  if (shown < refs->size()) {
    index += "(" + std::to_string(refs->size() - shown) +
             " more: call search_skills with the task to find the ones that fit it, or "
             "list_skills with a cursor or a filter to see them)\n";
  }
  return text + index;
}

}  // namespace skillrt::mcp
