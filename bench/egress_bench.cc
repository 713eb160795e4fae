// What an HTTP request through the egress proxy costs, against the same request made directly,
// measured in one run (docs/benchmarks.md). Every case makes one GET of the same small
// document from an HTTP server on the host's loopback (tests/http_test_server.h), one request
// per connection:
//   BM_EgressDirect      libcurl, a fresh handle per request, straight to the server: the
//                        baseline, no policy
//   BM_EgressClient      net::EgressHttpClient::Send: libcurl through a per-request listener
//                        and EgressProxy (allowlist, address check, record)
//   BM_EgressWasmCall    a warm WebAssembly call of the web-fetch-wasm example that makes the
//                        request through skillrt_http, end to end (instance, request, output)
//   BM_EgressWasmNoFetch the same module refused by the input check before any request: the
//                        call without the request, to subtract
// Latency cases report min/p50/p99/mean/max as counters, in microseconds.
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "http_test_server.h"
#include "net/egress_http_client.h"
#include "net/resolver.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"

namespace skillrt::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kFetchSkill = fs::path(SKILLRT_SOURCE_DIR) / "examples/skills/web-fetch-wasm";
constexpr char kFetchWasm[] = "scripts/fetch.wasm";

// The server every case asks; started once.
::skillrt::testing::HttpTestServer& Server() {
  static ::skillrt::testing::HttpTestServer server("bench");
  return server;
}

std::string Url() { return "http://127.0.0.1:" + std::to_string(Server().port()) + "/doc.txt"; }

std::vector<EgressRule> Rules() {
  return {EgressRule{.host = "127.0.0.1", .port = Server().port()}};
}

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

void BM_EgressDirect(benchmark::State& state) {
  if (Server().port() == 0) return state.SkipWithError("cannot start the HTTP server");
  net::InitHttpClientLibrary();
  const std::string url = Url();
  std::vector<double> samples_us;
  for (auto _ : state) {
    const auto start = Clock::now();
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (rc != CURLE_OK || status != 200) return state.SkipWithError("direct request failed");
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
}

void BM_EgressClient(benchmark::State& state) {
  if (Server().port() == 0) return state.SkipWithError("cannot start the HTTP server");
  auto policy = net::EgressPolicy::Create(Rules());
  if (!policy) return state.SkipWithError(policy.error().ToString().c_str());
  net::EgressHttpClient client(*policy, std::make_shared<net::SystemResolver>(),
                               net::EgressHttpClientOptions{.max_requests = 1u << 30});
  const net::HttpRequest request{.method = "GET", .url = Url()};
  std::vector<double> samples_us;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto response = client.Send(request, Clock::now() + std::chrono::seconds(10), 1 << 20);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!response || response->status != 200) {
      return state.SkipWithError(response ? "status not 200" : response.error().message.c_str());
    }
    (void)client.TakeRecords();
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
}

// A warm wasm call of web-fetch-wasm with `input`; `want_fetch` says whether the input makes a
// request (the outcome then has one allowed egress record).
void MeasureWasm(benchmark::State& state, const std::string& input, bool want_fetch) {
  if (Server().port() == 0) return state.SkipWithError("cannot start the HTTP server");
  if (!fs::exists(kFetchSkill / kFetchWasm)) {
    return state.SkipWithError("web-fetch-wasm is not built; run scripts/build-wasm.sh");
  }
  static ScratchDir scratch("skillrt-egress-bench");
  WasmRuntimeOptions options;
  options.scratch_root = scratch.path();
  auto runtime = MakeWasmRuntime(options);
  if (!runtime) return state.SkipWithError(runtime.error().ToString().c_str());
  Plan plan;
  plan.run_id = "egressbench";
  plan.skill_name = "web-fetch-wasm";
  plan.skill_dir = kFetchSkill;
  plan.argv = {kFetchWasm};
  plan.stdin_data = input;
  plan.network = true;
  plan.egress = Rules();
  plan.limits.memory_max_bytes = 64ull << 20;
  std::vector<double> samples_us;
  for (int i = 0; i < 20; ++i) (void)(*runtime)->Run(plan);  // Compile and warm up.
  for (auto _ : state) {
    const auto start = Clock::now();
    Result<Outcome> outcome = (*runtime)->Run(plan);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!outcome) return state.SkipWithError(outcome.error().ToString().c_str());
    const bool fetched = outcome->egress.size() == 1 && outcome->egress[0].allowed;
    if (fetched != want_fetch || (want_fetch && outcome->status != Status::kOk)) {
      return state.SkipWithError(("unexpected outcome: " + outcome->message + " " +
                                  outcome->stdout_stream.data).c_str());
    }
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
}

void BM_EgressWasmCall(benchmark::State& state) {
  MeasureWasm(state, "{\"url\": \"" + Url() + "\"}", true);
}

void BM_EgressWasmNoFetch(benchmark::State& state) {
  MeasureWasm(state, "{\"url\": \"ftp://not-fetched/\"}", false);
}

BENCHMARK(BM_EgressDirect)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EgressClient)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EgressWasmCall)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EgressWasmNoFetch)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace skillrt::bench
