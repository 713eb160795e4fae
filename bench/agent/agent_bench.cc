// The agent loop's own cost per tool call, and how fast its event log is written while a reader
// follows it (docs/benchmarks.md, "Agent loop").
//
// 1. Per tool call: a model on loopback (cpp-httplib, streaming one calculator call per turn)
//    drives an Agent for N turns; for each call the loop's time from the model's response to
//    its next request (parse, run through the engine, log, format the result) is set against
//    the baseline, the same skill run directly with Engine::Run in the same process, interleaved.
// 2. Events per second: an event log written as fast as possible with a reader following the
//    file (counting complete lines), against the same log written with no reader.
//
// Usage: agent_bench SKILLS_DIR [CALLS] [EVENTS]
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/event_log.h"
#include "skillrt/agent.h"
#include "skillrt/engine.h"

namespace {

using Clock = std::chrono::steady_clock;
using skillrt::Agent;

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5))];
}

// Microseconds since midnight of an RFC 3339 time "YYYY-MM-DDTHH:MM:SS.ffffffZ" (a run that
// crosses midnight would be misread; a benchmark run takes a minute).
double TimeUs(const nlohmann::json& time) {
  const std::string t = time.get<std::string>();
  const double h = std::stod(t.substr(11, 2)), m = std::stod(t.substr(14, 2));
  const double sec = std::stod(t.substr(17, 9));
  return ((h * 60 + m) * 60 + sec) * 1e6;
}

std::string Chunk(const std::string& delta_json, const std::string& finish = "null") {
  return "data: {\"choices\":[{\"index\":0,\"delta\":" + delta_json +
         ",\"finish_reason\":" + finish + "}]}\n\n";
}

// The model: turn n < calls asks for calculator with "n+1"; then it answers.
std::string Reply(int turn, int calls) {
  if (turn >= calls) {
    return Chunk(R"({"content":"done"})", "\"stop\"") + "data: [DONE]\n\n";
  }
  const std::string id = "call_" + std::to_string(turn);
  const std::string args = "{\\\"expression\\\": \\\"" + std::to_string(turn) + "+1\\\"}";
  return Chunk(R"({"tool_calls":[{"index":0,"id":")" + id +
               R"(","type":"function","function":{"name":"calculator","arguments":")" + args +
               "\"}}]}") +
         Chunk("{}", "\"tool_calls\"") + "data: [DONE]\n\n";
}

int ToolCalls(const std::filesystem::path& skills, int calls) {
  const std::filesystem::path home =
      std::filesystem::temp_directory_path() / ("agent-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home);
  skillrt::EngineOptions engine_options;
  engine_options.home = home;
  engine_options.skill_roots = {skills};
  auto engine = skillrt::Engine::Open(std::move(engine_options));
  if (!engine) {
    std::fprintf(stderr, "engine: %s\n", engine.error().ToString().c_str());
    return 1;
  }
  httplib::Server server;
  std::atomic<int> turn{0};
  server.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(Reply(turn++, calls), "text/event-stream");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });

  // Warm-up: the runtime's first run prepares what later runs reuse.
  for (int i = 0; i < 3; ++i) {
    (void)(*engine)->Run({.skill = "calculator", .input = {{"expression", "1+1"}}});
  }

  // The loop: times of each model_response and the model_request after it.
  std::vector<nlohmann::json> logged;
  skillrt::AgentOptions options{
      .model = {.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1",
                .model = "bench"},
      .limits = {.max_turns = static_cast<uint32_t>(calls + 2),
                 .max_tool_calls = static_cast<uint32_t>(calls + 1)},
      .tools = {.skills = {"calculator"}},
      .on_event = [&](const nlohmann::json& e) { logged.push_back(e); }};
  // Baseline runs interleaved with the loop's: one direct run before each model response is
  // answered would perturb the loop, so they run in a block of the same size right before and
  // right after it, and both blocks count.
  std::vector<double> direct_us;
  auto direct_block = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      auto outcome = (*engine)->Run(
          {.skill = "calculator", .input = {{"expression", std::to_string(i) + "+1"}}});
      if (!outcome || outcome->status != skillrt::Status::kOk) std::abort();
      direct_us.push_back(Micros(Clock::now() - t0));
    }
  };
  direct_block(calls / 2);
  Agent agent(**engine, std::move(options));
  auto result = agent.Run("bench");
  direct_block(calls - calls / 2);
  server.stop();
  serving.join();
  if (!result || result->status != skillrt::AgentStatus::kAnswered ||
      result->tool_calls != static_cast<uint32_t>(calls)) {
    std::fprintf(stderr, "agent run failed: %s\n",
                 result ? result->reason.c_str() : result.error().ToString().c_str());
    return 1;
  }
  // Per call: the loop's whole time from the model's response to its next request, and the
  // part of it that was the skill's run as the engine stamped it (its `accepted` to its
  // `finished` event); the difference is the loop's own cost. All times are the events' own
  // (one clock, microseconds).
  std::vector<double> loop_us, skill_us, own_us, before_us, after_us;
  double response_at = -1, accepted_at = -1, finished_at = -1, call_at = -1, result_at = -1;
  for (const nlohmann::json& e : logged) {
    const std::string type = e.value("type", "");
    if (type == "model_response") {
      response_at = TimeUs(e["time"]);
    } else if (type == "tool_call") {
      call_at = TimeUs(e["time"]);
    } else if (type == "tool_result") {
      result_at = TimeUs(e["time"]);
    } else if (type == "skill_event") {
      const std::string nested = e["event"].value("type", "");
      if (nested == "accepted") accepted_at = TimeUs(e["event"]["time"]);
      if (nested == "finished") finished_at = TimeUs(e["event"]["time"]);
    } else if (type == "model_request" && response_at >= 0 && accepted_at >= 0) {
      const double total = TimeUs(e["time"]) - response_at;
      loop_us.push_back(total);
      skill_us.push_back(finished_at - accepted_at);
      own_us.push_back(total - (finished_at - accepted_at));
      before_us.push_back(accepted_at - call_at);
      after_us.push_back(result_at - finished_at);
      response_at = accepted_at = finished_at = -1;
    }
  }
  std::printf("tool calls: %zu through the loop, %zu direct\n", loop_us.size(), direct_us.size());
  std::printf("%-52s %10s %10s\n", "", "p50 (ms)", "p99 (ms)");
  std::printf("%-52s %10.3f %10.3f\n", "direct Engine::Run, wall (baseline)",
              Pct(direct_us, 50) / 1e3, Pct(direct_us, 99) / 1e3);
  std::printf("%-52s %10.3f %10.3f\n", "in the loop: the skill's run (accepted..finished)",
              Pct(skill_us, 50) / 1e3, Pct(skill_us, 99) / 1e3);
  std::printf("%-52s %10.3f %10.3f\n", "in the loop: model response -> next request",
              Pct(loop_us, 50) / 1e3, Pct(loop_us, 99) / 1e3);
  std::printf("%-52s %10.3f %10.3f\n", "the loop's own cost per tool call (difference)",
              Pct(own_us, 50) / 1e3, Pct(own_us, 99) / 1e3);
  std::printf("%-52s %10.3f %10.3f\n", "  of which tool_call -> the run accepted (Start)",
              Pct(before_us, 50) / 1e3, Pct(before_us, 99) / 1e3);
  std::printf("%-52s %10.3f %10.3f\n", "  of which the run finished -> tool_result",
              Pct(after_us, 50) / 1e3, Pct(after_us, 99) / 1e3);
  std::filesystem::remove_all(home);
  return 0;
}

// A representative event: a skill's output line nested under its tool call.
nlohmann::json SampleEvent(size_t i) {
  return {{"tool_call_id", "call_" + std::to_string(i % 7)},
          {"event",
           {{"v", 1}, {"run_id", "agent-20260101T000000-000000000000-c1"}, {"seq", i},
            {"time", "2026-01-01T00:00:00.000000Z"}, {"type", "output"}, {"stream", "stdout"},
            {"data", "line " + std::to_string(i) + " of the skill's output, as it ran\n"}}}};
}

double WriteEvents(const std::filesystem::path& dir, const std::string& id, size_t events,
                   bool follow, double* max_lag_ms) {
  auto log = skillrt::agent::EventLog::Create(dir, id, {});
  if (!log) std::abort();
  std::atomic<size_t> written{0};
  std::atomic<bool> done{false};
  double lag_ms = 0;
  std::thread reader;
  if (follow) {
    reader = std::thread([&] {
      std::ifstream in((*log)->path(), std::ios::binary);
      char buffer[1 << 16];
      size_t lines = 0;
      while (lines < events) {
        in.read(buffer, sizeof(buffer));
        const std::streamsize n = in.gcount();
        if (n <= 0) {
          in.clear();
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
        lines += static_cast<size_t>(std::count(buffer, buffer + n, '\n'));
        const double behind = static_cast<double>(written.load() - std::min(lines, written.load()));
        lag_ms = std::max(lag_ms, behind);  // In events; turned into ms below.
      }
      done = true;
    });
  }
  const auto t0 = Clock::now();
  for (size_t i = 0; i < events; ++i) {
    (*log)->Write("skill_event", SampleEvent(i));
    written.store(i + 1);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (follow) reader.join();
  const double rate = static_cast<double>(events) / seconds;
  if (max_lag_ms) *max_lag_ms = lag_ms / rate * 1e3;
  return rate;
}

int EventsPerSecond(size_t events) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("agent-bench-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  double lag_ms = 0;
  const double alone = WriteEvents(dir, "agent-alone", events, false, nullptr);
  const double followed = WriteEvents(dir, "agent-followed", events, true, &lag_ms);
  const auto bytes = std::filesystem::file_size(dir / "agent-followed" / "events.jsonl");
  std::printf("\nevents written: %zu of %.0f bytes each\n", events,
              static_cast<double>(bytes) / static_cast<double>(events));
  std::printf("%-44s %12.0f events/s\n", "no reader (baseline)", alone);
  std::printf("%-44s %12.0f events/s (reader at most %.2f ms behind)\n",
              "a reader following the file", followed, lag_ms);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: agent_bench SKILLS_DIR [CALLS] [EVENTS]\n");
    return 2;
  }
  const int calls = argc > 2 ? std::atoi(argv[2]) : 200;
  const size_t events = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 200000;
  if (int rc = ToolCalls(argv[1], calls); rc != 0) return rc;
  return EventsPerSecond(events);
}
