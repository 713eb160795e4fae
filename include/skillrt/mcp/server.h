// The MCP server: skills to an MCP client (docs/mcp.md). Transport-independent: the stdio
// and Streamable HTTP front ends hand it parsed messages and a channel back to the client.
//
// Requests are dispatched through one table of methods (server.cc, kMethods). Tool calls run
// through the Engine (gatekeeper, sandbox, audit), watched through their run events: events
// become progress notifications, a cancellation cancels the run, and an approval the policy
// asks for is put to the client (elicitation, only when the operator allows it) or refused
// with the approval key and how a person approves it.
#ifndef SKILLRT_MCP_SERVER_H_
#define SKILLRT_MCP_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/mcp/protocol.h"
#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/search.h"
#include "skillrt/tools.h"

namespace skillrt::mcp {

/// How the server is set up (the CLI fills it from `skillrt mcp` flags).
struct ServerOptions {
  /// Skills also offered as tools of their own: "SKILL" (name or name@instance) under the
  /// tool name the skill gives, or "TOOL=SKILL" under a name of the operator's choosing (a
  /// name that is not a valid tool name is ignored). With entries here, no other skill is.
  std::vector<std::string> expose_skills = {};
  /// Every skill is offered as a tool of its own when there are at most this many (0: never,
  /// unless named in `expose_skills`).
  size_t expose_all_max = 16;
  /// Tools per tools/list page.
  size_t page_size = 100;
  /// Skills per page of the list_skills tool and skills/list.
  size_t list_page_size = 50;
  /// The size budget of the index of skills in `instructions`, in bytes.
  size_t instructions_budget_bytes = 4096;
  /// What the agents served are for, in words (`skillrt mcp --focus TEXT`). When the
  /// catalogue does not fit `instructions_budget_bytes`, the skills named are the best
  /// matches for it by skill search (docs/search.md), then the rest in catalogue order as
  /// room allows. Empty, or when search cannot open its model: catalogue order.
  std::string instructions_focus = {};
  /// The most bytes of text a tool result hands back (ToolCallOptions::output_budget_bytes).
  size_t output_budget_bytes = 16 * 1024;
  /// The most bytes read_skill_file returns from one file per call.
  size_t read_max_bytes = 64 * 1024;
  /// Answers from the client's elicitation count as approvals (docs/mcp.md, "Approvals"). An
  /// elicitation answer comes from the client program, not provably from a person: only the
  /// operator may say it does. Off: a call the policy asks about is refused with its key.
  bool elicit_approvals = false;
  /// How long an elicitation waits for the client's answer.
  std::chrono::milliseconds elicitation_timeout{std::chrono::minutes(5)};
};

/// The server's way back to one client: notifications and, for elicitation, requests.
/// Implementations are thread-safe: runs send progress from their own threads.
class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  /// Sends a notification (or a response) to the client. Never blocks on a slow client for
  /// long: a transport drops what it cannot deliver.
  virtual void Send(const nlohmann::json& message) = 0;
  /// Sends a request to the client and waits up to `timeout` for its result. kUnsupported
  /// when the transport cannot carry server requests; kIo on timeout or a closed channel;
  /// kDenied when the client answered with an error.
  virtual Result<nlohmann::json> Request(std::string_view method, const nlohmann::json& params,
                                         std::chrono::milliseconds timeout) = 0;
  /// False once the client can no longer receive this request's result (it closed the
  /// stream or the connection): the request's run is cancelled (2026-07-28: closing the
  /// response stream cancels).
  virtual bool Alive() { return true; }
};

/// One client's state: what initialize negotiated, its log level, its calls in flight.
/// Thread-safe.
class Session {
 public:
  explicit Session(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }

  /// What initialize negotiated (empty before).
  std::string version() const;
  nlohmann::json client_info() const;
  nlohmann::json client_capabilities() const;
  bool initialized() const;
  void Initialize(std::string version, nlohmann::json client_info,
                  nlohmann::json capabilities);
  void MarkInitialized();

  /// The minimum level of notifications/message the client asked for (-1: none).
  int log_level() const { return log_level_.load(); }
  void set_log_level(int level) { log_level_ = level; }

  /// Calls in flight by request id (its JSON text), so that notifications/cancelled finds the
  /// run. Track returns false when the id is already in flight.
  bool Track(const std::string& request_key);
  void Attach(const std::string& request_key, RunHandle handle);
  /// Cancels the run of `request_key`, if any; true when a request with that id was in flight.
  bool Cancel(const std::string& request_key, const std::string& reason);
  /// True once `request_key` was cancelled by the client.
  bool WasCancelled(const std::string& request_key) const;
  void Untrack(const std::string& request_key);
  /// Cancels every run in flight (the client went away).
  void CancelAll(const std::string& reason);

 private:
  struct Call {
    std::optional<RunHandle> run;
    bool cancelled = false;
  };
  std::string id_;
  mutable std::mutex mu_;
  std::string version_;
  nlohmann::json client_info_ = nlohmann::json::object();
  nlohmann::json capabilities_ = nlohmann::json::object();
  bool initialized_ = false;
  bool ready_ = false;
  std::atomic<int> log_level_{-1};
  std::map<std::string, Call> calls_;
};

struct RequestContext;

/// The MCP server over one Engine. Thread-safe: any number of sessions and requests at once.
class Server {
 public:
  /// `engine` must outlive the server; it should have been opened with an approval timeout
  /// (EngineOptions::approval_timeout) so that asked calls wait for this server's answer.
  Server(Engine& engine, ServerOptions options);

  /// Handles one incoming message of `session` (already parsed): returns the response to
  /// send, or nullopt for a notification, a response, or a request the client cancelled.
  /// Long requests (tools/call) run on the caller's thread: transports call this from a
  /// worker per request. Never throws.
  std::optional<nlohmann::json> Handle(const nlohmann::json& message, Session& session,
                                       ClientChannel& channel);

  /// The response for text that is not JSON at all (a parse error, id null).
  static nlohmann::json ParseErrorResponse(std::string_view detail);

  /// Checks the skill roots for a change since the last check and, if the tools changed,
  /// returns notifications/tools/list_changed (and resources/list_changed) to send to every
  /// initialized session. Cheap when nothing changed (Registry's watch).
  std::vector<nlohmann::json> PollListChanged();

  /// The `instructions` text: what the server offers and an index of skills within
  /// ServerOptions::instructions_budget_bytes (chosen by ServerOptions::instructions_focus
  /// when not all fit), saying how to get the rest. Thread-safe.
  std::string Instructions();

  /// Searches the engine's catalogue (SkillSearch, docs/search.md) for `query`. The search is
  /// opened on first use, its index at DefaultSearchIndexPath(engine home), and synced with the
  /// catalogue whenever a skill was added, removed, moved, or its SKILL.md or skill.toml
  /// changed (stat(2) stamps) since the last sync. Thread-safe (one search at a time). Errors: SkillSearch::Open() (kNotFound naming
  /// the missing model), Sync() and Search() (kInvalidArgument for an empty query); a failed
  /// open is tried again on the next call.
  Result<SearchResult> SearchSkills(std::string_view query, const SearchOptions& options);

  Engine& engine() { return engine_; }
  const ServerOptions& options() const { return options_; }

  /// The tools of this server: the disclosure tools, then the exposed skill tools. Rebuilt
  /// when the skill roots change.
  struct ToolTable;
  std::shared_ptr<const ToolTable> tools() const;

 private:
  friend struct RequestContext;
  std::optional<nlohmann::json> HandleMessage(const nlohmann::json& message, Session& session,
                                              ClientChannel& channel);
  RpcResult Dispatch(RequestContext& context);
  std::shared_ptr<const ToolTable> BuildTools() const;

  Engine& engine_;
  ServerOptions options_;
  mutable std::mutex tools_mu_;
  mutable std::shared_ptr<const ToolTable> tools_;
  std::string tools_fingerprint_;
  CatalogueSearch search_;  ///< Opened by the first SearchSkills().
};

/// What one request's handler sees.
struct RequestContext {
  Server& server;
  Session& session;
  ClientChannel& channel;
  nlohmann::json id = {};
  std::string method = {};
  nlohmann::json params = {};
  std::string version = {};  ///< The protocol revision of this request.
  bool stateless = false;   ///< The request carries its own version in `_meta` (2026-07-28).
  std::string client_name = {};  ///< clientInfo.name, for audit records; "mcp-client" if none.
  nlohmann::json client_capabilities = {};
  std::optional<nlohmann::json> progress_token = {};
  int log_level = -1;
  std::string request_key = {};  ///< The id as JSON text.

  /// Sends notifications/message at `level` when the client asked for it.
  void Log(std::string_view level, const nlohmann::json& data) const;
};

/// Method handlers, one file per concern (tools.cc, skills_extension.cc).
RpcResult ToolsList(RequestContext& context);
RpcResult ToolsCall(RequestContext& context);
RpcResult ResourcesList(RequestContext& context);
RpcResult ResourceTemplatesList(RequestContext& context);
RpcResult ResourcesRead(RequestContext& context);
RpcResult SkillsList(RequestContext& context);
RpcResult SkillsGet(RequestContext& context);

/// The files of a skill directory (relative paths, regular files only, hidden ones skipped,
/// at most `max_files`), sorted; for the load tool and the skills extension.
std::vector<std::filesystem::path> SkillFiles(const std::filesystem::path& dir,
                                              size_t max_files = 1000);

/// Reads `relative` inside the skill directory `dir`: relative, no "..", no symlink out of
/// the directory, a regular file. kInvalidArgument / kDenied / kNotFound naming the path.
Result<std::string> ReadSkillFile(const std::filesystem::path& dir, std::string_view relative,
                                  size_t max_bytes, bool* truncated);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_SERVER_H_
