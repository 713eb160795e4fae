// The agent loop: a language model behind an OpenAI-compatible or Anthropic endpoint uses the
// skills as tools, every call gated, sandboxed and audited by the Engine, and every run leaves
// an event log under $SKILLRT_HOME/runs/<agent run id>/events.jsonl (docs/agent.md).
#ifndef SKILLRT_AGENT_H_
#define SKILLRT_AGENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/engine.h"
#include "skillrt/error.h"

namespace skillrt {

/// The wire protocol of a model endpoint.
enum class Protocol {
  /// OpenAI Chat Completions, POST <base>/chat/completions with `stream: true` (also spoken by
  /// DeepSeek, Qwen, Moonshot, Ollama, vLLM, llama.cpp's server).
  kOpenAIChat,
  /// Anthropic Messages, POST <base>/messages with `stream: true`.
  kAnthropic,
};

/// "openai" or "anthropic".
std::string_view ProtocolName(Protocol protocol);

/// "openai" (or "chat") / "anthropic"; kInvalidArgument naming the accepted names otherwise.
Result<Protocol> ParseProtocol(std::string_view name);

/// Tokens a model reported for one turn or a whole run.
struct TokenUsage {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t total() const { return input_tokens + output_tokens; }
};

/// One model endpoint: a named profile of <home>/agent.toml (docs/agent.md, "Configuration").
/// Holds no secret: the key is named by `api_key_ref` and read when a request is made.
struct ModelProfile {
  std::string name = "default";
  Protocol protocol = Protocol::kOpenAIChat;
  /// Up to and including the version segment, e.g. "https://api.openai.com/v1",
  /// "https://api.anthropic.com/v1", "http://127.0.0.1:11434/v1" (Ollama). http or https only.
  std::string base_url = {};
  std::string model = {};
  /// "env:NAME" or "file:PATH" (the file's first line); empty: no key is sent (a local
  /// server). The value is never written to an event, the audit log, an error or a file.
  std::string api_key_ref = {};
  /// Output tokens asked for per turn (Anthropic requires a value; sent to OpenAI as
  /// `max_tokens` too).
  uint32_t max_output_tokens = 4096;
  std::chrono::milliseconds connect_timeout{10'000};
  /// The most time one model request may take, the whole stream included.
  std::chrono::milliseconds request_timeout{300'000};
  /// Attempts after the first for a 429 or 5xx response (a connection that cannot be made is
  /// reported at once: it is a wrong base URL far more often than a passing fault).
  uint32_t max_retries = 3;
  /// The first backoff; doubled per attempt (with jitter) unless the server sends Retry-After.
  std::chrono::milliseconds retry_backoff{500};
};

/// Reads profile `name` ("" means the file's `default` key, else "default") from
/// `path` (TOML: `default = "NAME"` and one `[profiles.NAME]` table per profile with the
/// fields of ModelProfile: protocol, base_url, model, api_key_ref, max_output_tokens,
/// connect_timeout_ms, request_timeout_ms, max_retries). Errors: kNotFound (no file, no such
/// profile: the known ones are named), kParse, kValidation naming the field at fault (an
/// `api_key` written in the file is refused: keys are given by reference only).
Result<ModelProfile> LoadModelProfile(const std::filesystem::path& path, std::string_view name);

/// <home>/agent.toml.
std::filesystem::path ModelProfilePath(const std::filesystem::path& home);

/// The budgets of one agent run; whichever is reached first ends it (a `failed` event naming
/// it). Zero means no limit for the counts and times.
struct AgentLimits {
  uint32_t max_turns = 20;                ///< Model requests.
  uint32_t max_tool_calls = 50;           ///< Tool calls over the whole run.
  /// The whole run, checked before each model request (a skill run keeps its own limit).
  std::chrono::milliseconds wall_time{0};
  uint64_t max_tokens = 0;                ///< Input plus output tokens reported by the model.
  /// The same tool with the same arguments may be called this many times; one more stops the
  /// run (a model that repeats itself is not making progress).
  uint32_t max_identical_calls = 3;
};

/// How the model sees the skills.
struct AgentTools {
  /// Skills offered as tools of their own ("name" or "name@instance"); with none, the
  /// progressive-disclosure tools are offered instead: search_skills, list_skills,
  /// load_skill, read_skill_file, run_skill, exec_in_skill (as the MCP server's,
  /// docs/mcp.md). search_skills is the hybrid skill search (docs/search.md) over the
  /// catalogue, its index at DefaultSearchIndexPath(engine home), opened and synced on the
  /// first search of the run.
  std::vector<std::string> skills = {};
  /// The most bytes of a tool result the model reads: head and tail kept, the cut marked
  /// (FitToBudget in tools.h).
  size_t output_budget_bytes = 16 * 1024;
  /// The most bytes read_skill_file returns.
  size_t read_max_bytes = 64 * 1024;
};

/// One agent event as written to the log: {"v", "agent_run", "seq", "time", "type", ...}
/// (docs/agent.md, "Events"). Types: started, model_request, model_response, tool_call,
/// skill_event, approval_requested, approval_decided, tool_result, and one of finished,
/// failed, cancelled last.
using AgentEventSink = std::function<void(const nlohmann::json& event)>;

/// How an agent run is set up.
struct AgentOptions {
  ModelProfile model = {};
  AgentLimits limits = {};
  AgentTools tools = {};
  /// The system prompt; empty: a short one saying what the tools are.
  std::string system_prompt = {};
  /// Also receives every event as it is written (e.g. `skillrt agent --events -`). Called on
  /// the loop's thread; must not block for long.
  AgentEventSink on_event = {};
  /// Receives model text as it streams (the CLI prints it). Called on the loop's thread.
  std::function<void(std::string_view text)> on_text = {};
  /// The agent run id to use ("agent-" and [A-Za-z0-9_-], at most 64); empty: a new one.
  std::string run_id = {};
};

/// How an agent run ended.
enum class AgentStatus {
  kAnswered,   ///< The model answered without asking for a tool.
  kLimit,      ///< A turn, tool call, time, token or repeated-call limit was reached.
  kCancelled,  ///< Cancel was called (Ctrl-C in the CLI).
  kFailed,     ///< The model endpoint failed (after retries) or sent what cannot be read,
               ///< or the approvals were aborted.
};

/// "answered", "limit", "cancelled", "failed".
std::string_view AgentStatusName(AgentStatus status);

/// What an agent run did.
struct AgentResult {
  std::string run_id = {};
  AgentStatus status = AgentStatus::kFailed;
  std::string answer = {};   ///< The model's last text.
  std::string reason = {};   ///< Why it stopped, for every status but kAnswered.
  uint32_t turns = 0;
  uint32_t tool_calls = 0;
  TokenUsage usage = {};
  std::filesystem::path events_path = {};  ///< The event log.
};

/// One agent run over an Engine. Approvals come from the Engine's approver
/// (EngineOptions::approver: the terminal prompt, a callback, or none, in which case an asked
/// call is refused and the model reads why); when the approver aborts or denies one key
/// repeatedly (Engine::approvals_aborted), the run fails. Run on one thread; Cancel from any.
class Agent {
 public:
  /// `engine` must outlive the agent.
  Agent(Engine& engine, AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Runs `task` to its end. Errors, before the model is asked: kInvalidArgument (an empty
  /// task, a malformed run id, a base URL that is not http(s) or carries credentials),
  /// kNotFound (a skill in AgentTools::skills, the key's
  /// variable or file), kIo (the event log cannot be created). Everything after that is in
  /// the result and the event log. Call once.
  Result<AgentResult> Run(std::string_view task);

  /// Stops the run: the model request in flight is abandoned, the skill run in flight is
  /// cancelled (RunHandle::Cancel), and Run returns kCancelled. Thread-safe; async-signal-safe
  /// it is not (call it from a thread that waits for the signal).
  void Cancel();

  /// The agent run id (known before Run is called).
  const std::string& run_id() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// One agent run's log, as `skillrt runs list` and the service's GET /v1/agent-runs show it.
struct AgentRunSummary {
  std::string run_id = {};
  std::string started = {};  ///< RFC 3339 time of its first event.
  std::string model = {};
  std::string task = {};     ///< Its first line, cut to 80 bytes.
  /// The last event's type when it ended the run (finished, failed, cancelled), else
  /// "unfinished": still running, or its process was killed.
  std::string status = {};
  /// Why it ended, for failed and cancelled (the end event's reason).
  std::string reason = {};
  uint64_t events = 0;
  uint32_t turns = 0;       ///< model_request events.
  uint32_t tool_calls = 0;  ///< tool_call events.
  TokenUsage usage = {};    ///< Summed over its model_response events.
};

/// True for a well-formed agent run id: "agent-" followed by 1-58 characters of
/// [A-Za-z0-9_-] (so never a path: no '/', no '.'). Pure.
bool IsValidAgentRunId(std::string_view id);

/// The summary of one run from its events (as ListAgentRuns makes each row). Pure.
AgentRunSummary SummarizeAgentRun(std::string_view run_id,
                                  const std::vector<nlohmann::json>& events);

/// <home>/runs/<run_id>/events.jsonl.
std::filesystem::path AgentEventsPath(const std::filesystem::path& home, std::string_view run_id);

/// The agent runs under <home>/runs, oldest first. Unreadable logs are listed with what could
/// be read. Errors: none (no runs: empty).
std::vector<AgentRunSummary> ListAgentRuns(const std::filesystem::path& home);

/// The events of run `run_id` (a unique prefix of an id is enough; "last" is the newest).
/// A torn last line (the writer was killed mid-write) is skipped. kNotFound / kInvalidArgument
/// (an ambiguous prefix) naming the run.
Result<std::vector<nlohmann::json>> ReadAgentEvents(const std::filesystem::path& home,
                                                    std::string_view run_id);

/// The full id of `run_id` as ReadAgentEvents resolves it.
Result<std::string> ResolveAgentRunId(const std::filesystem::path& home, std::string_view run_id);

/// Follows one agent run's log as its writer appends to it: each ReadNew() returns the events
/// of the complete lines written since the last call (a line still being written waits for
/// the next call; a line that is not a JSON object is skipped, as ReadAgentEvents does). For
/// `skillrt runs tail` and the service's live stream of an agent run. Owns one open file
/// descriptor. Not thread-safe: one reader at a time.
class AgentEventFollower {
 public:
  /// Opens the log of `run_id` as ResolveAgentRunId resolves it, from its first event.
  /// Errors as ResolveAgentRunId; kIo naming the file when it cannot be opened.
  static Result<AgentEventFollower> Open(const std::filesystem::path& home,
                                         std::string_view run_id);
  ~AgentEventFollower();
  AgentEventFollower(AgentEventFollower&&) noexcept;
  AgentEventFollower& operator=(AgentEventFollower&&) noexcept;

  /// The events appended since the last call, in order; empty when nothing new is complete.
  /// kIo naming the file when read(2) fails.
  Result<std::vector<nlohmann::json>> ReadNew();

  /// Whether an event that ends a run (finished, failed, cancelled) has been returned.
  bool ended() const;

  /// The run's full id.
  const std::string& run_id() const;

 private:
  struct Impl;
  explicit AgentEventFollower(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The conversation of `events` as a person reads it: the task, the model's text, each tool
/// call with its arguments, what the skill did (status, duration) and the result, approvals,
/// and how the run ended. Pure.
std::string ReplayAgentRun(const std::vector<nlohmann::json>& events);

}  // namespace skillrt

#endif  // SKILLRT_AGENT_H_
