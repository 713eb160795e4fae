// The cost the gate adds to every call: evaluating a policy, parsing a policy file (done once
// per engine) and computing an approval key (only when the policy asks).
#include <string>

#include <benchmark/benchmark.h>

#include "skillrt/approval.h"
#include "skillrt/policy.h"

namespace skillrt {
namespace {

// A policy of 4 * `groups` rules of every kind, like a large hand-written file.
std::string PolicyText(int groups) {
  std::string text = "version = 1\n";
  for (int i = 0; i < groups; ++i) {
    const std::string n = std::to_string(i);
    text += "[[rule]]\nname = \"skills-" + n + "\"\neffect = \"allow\"\nskills = [\"team" + n +
            "-*\"]\n";
    text += "[[rule]]\nname = \"write-" + n + "\"\neffect = \"ask\"\nwrite = [\"!{workspace}/" +
            n + "/**\"]\n";
    text += "[[rule]]\nname = \"env-" + n + "\"\neffect = \"deny\"\nenv = [\"SECRET_" + n +
            "_*\"]\n";
    text += "[[rule]]\nname = \"exec-" + n + "\"\neffect = \"deny\"\nexec = [\"git push " + n +
            "*\"]\nrisk = \"medium\"\n";
  }
  return text;
}

PolicyRequest TypicalRequest() {
  PolicyRequest r;
  r.skill = "team7-report";
  r.kind = "exec";
  r.read = {"/srv/data/sales", "/srv/data/costs", "/home/u/notes"};
  r.write = {"/work/proj/7/out"};
  r.env_pass = {"LANG", "SECRET_3_TOKEN"};
  r.commands = {"python3", "git", "sh"};
  r.exec = {{.text = "python3 scripts/report.py --month 11"},
            {.text = "git status"},
            {.text = "git push 7 origin main", .risk = RiskLevel::kMedium}};
  return r;
}

const PolicyVariables kVars{.workspace = "/work/proj", .home = "/home/u"};

void BM_EvaluatePolicy(benchmark::State& state) {
  auto policy = ParsePolicy(PolicyText(static_cast<int>(state.range(0))), "bench.toml",
                            PolicyLayer::kUser, kVars);
  if (!policy) {
    state.SkipWithError(policy.error().message.c_str());
    return;
  }
  const PolicyRequest request = TypicalRequest();
  for (auto _ : state) benchmark::DoNotOptimize(EvaluatePolicy(*policy, request));
  state.counters["rules"] = static_cast<double>(policy->rules.size());
}
BENCHMARK(BM_EvaluatePolicy)->Arg(0)->Arg(5)->Arg(25)->Arg(100);

void BM_ParsePolicy(benchmark::State& state) {
  const std::string text = PolicyText(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParsePolicy(text, "bench.toml", PolicyLayer::kUser, kVars));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParsePolicy)->Arg(5)->Arg(100);

void BM_ApprovalKey(benchmark::State& state) {
  const nlohmann::json invocation = {{"kind", "exec"},
                                     {"argv", {"python3", "scripts/report.py", "--month", "11"}},
                                     {"argv_sha256", std::string(64, 'a')},
                                     {"input_sha256", std::string(64, 'b')}};
  const nlohmann::json request = {
      {"runtime", "native"},
      {"sandbox_level", "strict"},
      {"capabilities",
       {{"read", {"/srv/data/sales", "/srv/data/costs"}},
        {"write", {"/work/proj/out"}},
        {"network", false},
        {"env_pass", {"LANG"}},
        {"env_set", {"LC_ALL"}},
        {"commands", {"python3", "git"}}}},
      {"limits", {{"wall_time_ms", 30000}, {"memory_bytes", 268435456}, {"pids", 64}}}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(ApprovalKey("team7-report", std::string(64, 'c'), invocation,
                                         request));
  }
}
BENCHMARK(BM_ApprovalKey);

}  // namespace
}  // namespace skillrt
