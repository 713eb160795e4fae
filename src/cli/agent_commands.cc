// `skillrt agent` runs the agent loop (include/skillrt/agent.h) with the model's text on
// stdout, or its events with `--events -`; `skillrt runs` reads agent runs back.
#include "cli/agent_commands.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/signal_watch.h"
#include "skillrt/agent.h"

namespace skillrt::cli {

struct AgentCommands::Flags {
  std::string task;
  std::string profile;
  std::string base_url;
  std::string model;
  std::string protocol;
  std::string api_key_ref;
  std::vector<std::string> expose;
  std::optional<uint32_t> max_turns;
  std::optional<uint32_t> max_tool_calls;
  std::optional<double> timeout_seconds;
  std::optional<uint64_t> max_tokens;
  std::optional<uint32_t> max_identical;
  std::string events;           // "-": the events on stdout.
  std::string approve = "tty";  // tty | refuse
  std::string run;              // RUN of `runs show|tail|replay`.
  bool json = false;
};

namespace {

std::filesystem::path Home(const GlobalOptions& global) {
  return global.home.empty() ? DefaultHome() : global.home;
}

// The profile: <home>/agent.toml's (named by --profile, or its default) when the file exists or
// a profile is named, then each flag given overrides its field.
Result<ModelProfile> ProfileFor(const GlobalOptions& global, const AgentCommands::Flags& f) {
  ModelProfile profile;
  const std::filesystem::path path = ModelProfilePath(Home(global));
  std::error_code ec;
  if (!f.profile.empty() || std::filesystem::exists(path, ec)) {
    auto loaded = LoadModelProfile(path, f.profile);
    if (!loaded) return loaded;
    profile = *loaded;
  }
  if (!f.protocol.empty()) {
    auto protocol = ParseProtocol(f.protocol);
    if (!protocol) return std::unexpected(protocol.error());
    profile.protocol = *protocol;
  }
  if (!f.base_url.empty()) profile.base_url = f.base_url;
  if (!f.model.empty()) profile.model = f.model;
  if (!f.api_key_ref.empty()) profile.api_key_ref = f.api_key_ref;
  if (profile.base_url.empty() || profile.model.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no model endpoint: give --base-url and --model, or a profile in " +
                    path.string() + " (docs/agent.md)");
  }
  return profile;
}

int AgentCommand(const GlobalOptions& global, const AgentCommands::Flags& f) {
  // SIGINT and SIGTERM cancel the agent run: the skill run in flight ends as `cancelled`,
  // and so does the log.
  CancelOnSignal signals;
  if (f.approve != "tty" && f.approve != "refuse") {
    PrintError("--approve: expected tty or refuse, not '" + f.approve + "'");
    return kExitUsage;
  }
  if (!f.events.empty() && f.events != "-") {
    PrintError("--events: only - (stdout) is accepted; the log is always written under "
               "$SKILLRT_HOME/runs");
    return kExitUsage;
  }
  auto profile = ProfileFor(global, f);
  if (!profile) {
    PrintError(InCliTerms(profile.error().message));
    return ExitCodeFor(profile.error());
  }
  int exit_code = kExitOk;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code, f.approve == "tty");
  if (!engine) return exit_code;

  AgentOptions options{.model = *profile};
  options.tools.skills = f.expose;
  if (f.max_turns) options.limits.max_turns = *f.max_turns;
  if (f.max_tool_calls) options.limits.max_tool_calls = *f.max_tool_calls;
  if (f.timeout_seconds) {
    options.limits.wall_time =
        std::chrono::milliseconds(static_cast<int64_t>(*f.timeout_seconds * 1000));
  }
  if (f.max_tokens) options.limits.max_tokens = *f.max_tokens;
  if (f.max_identical) options.limits.max_identical_calls = *f.max_identical;
  const bool events_out = f.events == "-";
  if (events_out) {
    options.on_event = [](const nlohmann::json& event) { WriteOut(Dump(event) + "\n"); };
  } else if (!f.json) {
    options.on_text = [](std::string_view text) {
      WriteOut(text);
      std::fflush(stdout);
    };
    // Each turn's text ends its line.
    options.on_event = [](const nlohmann::json& event) {
      if (event.value("type", "") == "model_response" && !event.value("text", "").empty() &&
          !event.value("text", "").ends_with('\n')) {
        WriteOut("\n");
      }
    };
  }
  Agent agent(*engine, std::move(options));
  signals.Watch([&agent](int) { agent.Cancel(); });
  auto result = agent.Run(f.task);
  signals.Stop();  // Before `agent` goes: the watcher refers to it.
  if (!result) {
    PrintError(InCliTerms(result.error().message));
    return ExitCodeFor(result.error());
  }
  if (f.json) {
    WriteOut(Dump({{"run_id", result->run_id},
                   {"status", AgentStatusName(result->status)},
                   {"answer", result->answer},
                   {"reason", result->reason},
                   {"turns", result->turns},
                   {"tool_calls", result->tool_calls},
                   {"input_tokens", result->usage.input_tokens},
                   {"output_tokens", result->usage.output_tokens},
                   {"events", result->events_path.string()}}) +
             "\n");
  }
  if (!global.quiet && !f.json) {
    std::string line = "agent run " + result->run_id + ": " +
                       std::string(AgentStatusName(result->status));
    if (!result->reason.empty()) line += " (" + result->reason + ")";
    line += ", " + std::to_string(result->turns) + " turns, " +
            std::to_string(result->tool_calls) + " tool calls; events in " +
            result->events_path.string();
    PrintError(line);
  }
  switch (result->status) {
    case AgentStatus::kAnswered: return kExitOk;
    case AgentStatus::kCancelled: return kExitCancelled;
    case AgentStatus::kLimit:
    case AgentStatus::kFailed: return kExitFailed;
  }
  return kExitFailed;
}

int RunsList(const GlobalOptions& global, bool json) {
  const std::vector<AgentRunSummary> runs = ListAgentRuns(Home(global));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const AgentRunSummary& run : runs) {
      out.push_back({{"run_id", run.run_id}, {"started", run.started}, {"model", run.model},
                     {"task", run.task}, {"status", run.status}, {"events", run.events},
                     {"turns", run.turns}, {"tool_calls", run.tool_calls},
                     {"input_tokens", run.usage.input_tokens},
                     {"output_tokens", run.usage.output_tokens}});
    }
    WriteOut(Dump(out) + "\n");
    return kExitOk;
  }
  for (const AgentRunSummary& run : runs) {
    char line[512];
    std::snprintf(line, sizeof(line), "%-38s %-10s %-20s %s\n", run.run_id.c_str(),
                  run.status.c_str(), run.model.substr(0, 20).c_str(), run.task.c_str());
    WriteOut(line);
  }
  return kExitOk;
}

int RunsShow(const GlobalOptions& global, const std::string& run, bool replay) {
  auto events = ReadAgentEvents(Home(global), run);
  if (!events) {
    PrintError(events.error().message);
    return ExitCodeFor(events.error());
  }
  if (replay) {
    WriteOut(ReplayAgentRun(*events));
    return kExitOk;
  }
  for (const nlohmann::json& event : *events) WriteOut(Dump(event) + "\n");
  return kExitOk;
}

// Prints the run's events as they are appended, until the run's last event.
int RunsTail(const GlobalOptions& global, const std::string& run) {
  auto follower = AgentEventFollower::Open(Home(global), run);
  if (!follower) {
    PrintError(follower.error().message);
    return ExitCodeFor(follower.error());
  }
  for (;;) {
    auto events = follower->ReadNew();
    if (!events) {
      PrintError(events.error().message);
      return ExitCodeFor(events.error());
    }
    for (const nlohmann::json& event : *events) WriteOut(Dump(event) + "\n");
    std::fflush(stdout);
    if (follower->ended()) return kExitOk;
    if (events->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

AgentCommands::AgentCommands(CLI::App* app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  agent_ = app->add_subcommand(
      "agent", "Let a model (OpenAI-compatible or Anthropic) do a task with the skills as tools");
  agent_->add_option("TASK", f.task, "What the model should do")->required();
  agent_->add_option("--profile", f.profile, "Profile of $SKILLRT_HOME/agent.toml");
  agent_->add_option("--base-url", f.base_url,
                     "Endpoint up to its version, e.g. https://api.openai.com/v1");
  agent_->add_option("--model", f.model, "Model name");
  agent_->add_option("--protocol", f.protocol, "openai (default) or anthropic");
  agent_->add_option("--api-key-ref", f.api_key_ref, "The key by reference: env:NAME or file:PATH");
  agent_->add_option("--expose", f.expose,
                     "Offer this skill as a tool of its own (repeatable); none: the "
                     "list/load/read/run/exec tools");
  agent_->add_option("--max-turns", f.max_turns, "Model requests at most (default 20)");
  agent_->add_option("--max-tool-calls", f.max_tool_calls, "Tool calls at most (default 50)");
  agent_->add_option("--timeout", f.timeout_seconds, "Seconds for the whole run");
  agent_->add_option("--max-tokens", f.max_tokens, "Input plus output tokens at most");
  agent_->add_option("--max-identical-calls", f.max_identical,
                     "Times the same call may repeat (default 3)");
  agent_->add_option("--events", f.events, "-: write the run's events to stdout as they happen");
  agent_->add_option("--approve", f.approve,
                     "tty (default): ask at the terminal when the policy asks; refuse: refuse "
                     "and tell the model");
  agent_->add_flag("--json", f.json, "Print one JSON object describing the run");

  CLI::App* runs = app->add_subcommand("runs", "Read agent runs back");
  runs->require_subcommand(1);
  list_ = runs->add_subcommand("list", "The agent runs, oldest first");
  list_->add_flag("--json", f.json, "Print a JSON array");
  show_ = runs->add_subcommand("show", "A run's events as JSON Lines");
  show_->add_option("RUN", f.run, "Run id, a unique prefix, or last")->required();
  tail_ = runs->add_subcommand("tail", "Follow a run's events until it ends");
  tail_->add_option("RUN", f.run, "Run id, a unique prefix, or last")->required();
  replay_ = runs->add_subcommand("replay", "A run's conversation as a person reads it");
  replay_->add_option("RUN", f.run, "Run id, a unique prefix, or last")->required();
}

AgentCommands::~AgentCommands() = default;

std::vector<CLI::App*> AgentCommands::subcommands() const {
  return {agent_, list_, show_, tail_, replay_};
}

std::optional<int> AgentCommands::Run(const GlobalOptions& global) const {
  if (*agent_) return AgentCommand(global, *flags_);
  if (*list_) return RunsList(global, flags_->json);
  if (*show_) return RunsShow(global, flags_->run, /*replay=*/false);
  if (*replay_) return RunsShow(global, flags_->run, /*replay=*/true);
  if (*tail_) return RunsTail(global, flags_->run);
  return std::nullopt;
}

}  // namespace skillrt::cli
