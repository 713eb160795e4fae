// The MCP server's cost (docs/benchmarks.md, "MCP server"): tools/call of a WebAssembly skill
// over stdio and over Streamable HTTP against the engine called directly, in one run; and
// tools/list pages with 5,000 skills exposed as tools. Prints a Markdown table.
// Usage: skillrt_mcp_bench [CALLS]    (default 200 calls per row)
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "skillrt/mcp/http.h"
#include "skillrt/mcp/server.h"
#include "skillrt/mcp/stdio.h"
#include "skillrt/engine.h"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kExamples = fs::path(SKILLRT_SOURCE_DIR) / "examples/skills";
const json kInput = {{"numbers", {3, 1, 4, 1, 5, 9, 2, 6}}};

struct Row {
  std::string name;
  std::vector<double> ms;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void Print(const Row& row) {
  double total = 0;
  for (double ms : row.ms) total += ms;
  std::printf("| %-34s | %8.3f | %8.3f | %8.0f |\n", row.name.c_str(), Percentile(row.ms, 0.5),
              Percentile(row.ms, 0.99), 1000.0 * static_cast<double>(row.ms.size()) / total);
}

// The calls of several rows, in turns, so that every row sees the same load on the machine.
void Interleave(int calls, std::vector<std::pair<Row*, std::function<void()>>> rows) {
  for (int i = 0; i < 10; ++i) {
    for (auto& [row, call] : rows) call();  // Warm: compile cache, catalogue, connections.
  }
  for (int i = 0; i < calls; ++i) {
    for (auto& [row, call] : rows) {
      const auto start = Clock::now();
      call();
      row->ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
}

template <typename F>
Row Measure(std::string name, int calls, F call) {
  for (int i = 0; i < 10; ++i) call();  // Warm: compile cache, catalogue, connections.
  Row row{std::move(name), {}};
  for (int i = 0; i < calls; ++i) {
    const auto start = Clock::now();
    call();
    row.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return row;
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "mcp_bench: %s\n", what.c_str());
    std::exit(1);
  }
}

std::unique_ptr<skillrt::Engine> OpenEngine(const fs::path& home, const fs::path& root) {
  skillrt::EngineOptions options;
  options.home = home;
  options.skill_roots = {root};
  options.approval_timeout = std::chrono::seconds(30);
  auto engine = skillrt::Engine::Open(std::move(options));
  Check(engine.has_value(), engine ? "" : engine.error().ToString());
  return std::move(*engine);
}

// A client on a pipe pair to ServeStdio running on a thread.
class StdioClient {
 public:
  explicit StdioClient(skillrt::mcp::Server& server) {
    Check(::pipe(to_server_) == 0 && ::pipe(from_server_) == 0, "pipe");
    thread_ = std::thread([this, &server] {
      (void)skillrt::mcp::ServeStdio(server, {.in_fd = to_server_[0], .out_fd = from_server_[1]});
    });
    in_ = ::fdopen(from_server_[0], "r");
  }
  ~StdioClient() {
    ::close(to_server_[1]);
    thread_.join();
    std::fclose(in_);
  }
  json Call(const json& request) {
    const std::string line = request.dump() + "\n";
    Check(::write(to_server_[1], line.data(), line.size()) == static_cast<ssize_t>(line.size()),
          "write");
    for (;;) {
      char* text = nullptr;
      size_t cap = 0;
      ssize_t n = ::getline(&text, &cap, in_);
      Check(n > 0, "the server closed stdout");
      json reply = json::parse(std::string(text, static_cast<size_t>(n)));
      std::free(text);
      if (reply.contains("id") && reply["id"] == request["id"]) return reply;
    }
  }

 private:
  int to_server_[2], from_server_[2];
  std::thread thread_;
  FILE* in_ = nullptr;
};

json Request(int id, std::string method, json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

const json kInit = {{"protocolVersion", "2025-11-25"},
                    {"capabilities", json::object()},
                    {"clientInfo", {{"name", "bench"}, {"version", "1"}}}};

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 200;
  const fs::path tmp = fs::temp_directory_path() / ("skillrt-mcp-bench-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  Check(fs::exists(kExamples / "number-stats/scripts/stats.wasm"),
        "build the example skills first: scripts/build-wasm.sh");

  std::printf("| %-34s | %8s | %8s | %8s |\n", "tools/call of number-stats (wasm)", "p50 ms",
              "p99 ms", "calls/s");
  std::printf("|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(10, '-').c_str(),
              std::string(10, '-').c_str(), std::string(10, '-').c_str());
  {
    auto engine = OpenEngine(tmp / "home", kExamples);
    skillrt::mcp::Server server(*engine, {});
    auto direct = [&] {
      auto outcome = engine->Run({.skill = "number-stats", .input = kInput});
      Check(outcome && outcome->status == skillrt::Status::kOk, "direct run failed");
    };

    StdioClient stdio(server);
    stdio.Call(Request(0, "initialize", kInit));
    int id = 1;
    auto over_stdio = [&] {
      json reply = stdio.Call(Request(id++, "tools/call",
                                      {{"name", "number-stats"}, {"arguments", kInput}}));
      Check(reply.contains("result") && !reply["result"]["isError"].get<bool>(), reply.dump());
    };

    std::stop_source stop;
    std::atomic<uint16_t> port{0};
    std::thread http_thread([&] {
      (void)skillrt::mcp::ServeHttp(server, {.port = 0,
                                             .on_listening = [&](uint16_t p) { port = p; },
                                             .stop = stop.get_token()});
    });
    while (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    httplib::Client client("127.0.0.1", port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    httplib::Headers headers = {{"Accept", "application/json"}};
    auto init = client.Post("/mcp", headers, Request(0, "initialize", kInit).dump(),
                            "application/json");
    Check(init && init->status == 200, "HTTP initialize");
    headers.emplace("Mcp-Session-Id", init->get_header_value("Mcp-Session-Id"));
    auto over_http = [&] {
      auto res = client.Post("/mcp", headers,
                             Request(id++, "tools/call",
                                     {{"name", "number-stats"}, {"arguments", kInput}})
                                 .dump(),
                             "application/json");
      Check(res && res->status == 200 && !json::parse(res->body)["result"]["isError"].get<bool>(),
            res ? res->body : "HTTP error");
    };
    Row rows[3] = {{"engine.Run (direct)", {}},
                   {"MCP over stdio", {}},
                   {"MCP over Streamable HTTP", {}}};
    Interleave(calls, {{&rows[0], direct}, {&rows[1], over_stdio}, {&rows[2], over_http}});
    for (const Row& row : rows) Print(row);
    std::vector<double> added;
    for (size_t i = 0; i < rows[0].ms.size(); ++i) added.push_back(rows[1].ms[i] - rows[0].ms[i]);
    std::printf("\nAdded by stdio, p50 of the per-call difference: %.3f ms\n",
                Percentile(added, 0.5));
    stop.request_stop();
    http_thread.join();
  }

  // tools/list with 5,000 skills, each exposed as a tool, 100 per page.
  const fs::path many = tmp / "many";
  for (int i = 0; i < 5000; ++i) {
    const fs::path dir = many / ("skill-" + std::to_string(i));
    fs::create_directories(dir);
    std::ofstream(dir / "SKILL.md") << "---\nname: skill-" << i
                                    << "\ndescription: Benchmark skill number " << i
                                    << ".\n---\n# skill\n";
    std::ofstream(dir / "skill.toml") << "[entry]\nargv = [\"true\"]\n";
  }
  {
    auto engine = OpenEngine(tmp / "home2", many);
    skillrt::mcp::Server server(*engine, {.expose_all_max = 10000, .page_size = 100});
    StdioClient stdio(server);
    stdio.Call(Request(0, "initialize", kInit));
    int id = 1;
    std::string cursor;
    size_t listed = 0;
    std::printf("\n| %-34s | %8s | %8s | %8s |\n", "tools/list, 5,000 skills, 100/page",
                "p50 ms", "p99 ms", "pages/s");
    std::printf("|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(10, '-').c_str(),
                std::string(10, '-').c_str(), std::string(10, '-').c_str());
    Print(Measure("MCP over stdio, one page", calls, [&] {
      json params = cursor.empty() ? json::object() : json{{"cursor", cursor}};
      json reply = stdio.Call(Request(id++, "tools/list", params));
      Check(reply.contains("result"), reply.dump());
      listed += reply["result"]["tools"].size();
      cursor = reply["result"].value("nextCursor", "");
    }));
    Check(listed > 5000, "the pages did not hold the skills");
  }
  fs::remove_all(tmp);
  return 0;
}
