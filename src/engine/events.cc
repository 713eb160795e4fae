// The JSON form of run events (include/skillrt/events.h, docs/events.md).
#include <time.h>

#include <array>
#include <cstdio>

#include "engine/gatekeeper.h"
#include "skillrt/events.h"
#include "util/utf8.h"

namespace skillrt {
namespace {

// RFC 3339 UTC with microseconds: 2026-12-06T12:42:13.123456Z.
std::string TimeText(std::chrono::system_clock::time_point time) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch());
  const time_t seconds = static_cast<time_t>(us.count() / 1'000'000);
  struct tm utc;
  ::gmtime_r(&seconds, &utc);
  std::array<char, 48> buf;
  const size_t len = ::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf.data() + len, buf.size() - len, ".%06lldZ",
                static_cast<long long>(us.count() % 1'000'000));
  return buf.data();
}

nlohmann::json RiskToJson(const RiskAssessment& risk) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const RiskReason& reason : risk.reasons) {
    reasons.push_back({{"level", RiskLevelName(reason.level)},
                       {"rule", reason.rule},
                       {"reason", ToValidUtf8(reason.reason)},
                       {"command", ToValidUtf8(reason.command)}});
  }
  return {{"level", RiskLevelName(risk.level)}, {"reasons", std::move(reasons)}};
}

struct PayloadToJson {
  nlohmann::json& j;

  void operator()(const AcceptedEvent& e) const {
    j["kind"] = e.kind;
    j["skill"] = ToValidUtf8(e.skill);
    j["instance"] = e.instance ? nlohmann::json(ToValidUtf8(*e.instance)) : nlohmann::json();
  }
  void operator()(const PlannedEvent& e) const {
    j["skill"] = ToValidUtf8(e.skill);
    j["runtime"] = e.runtime;
    j["tree_sha256"] = e.tree_sha256;
    j["lock"] = e.lock;
    j["sandbox_level"] = SandboxLevelName(e.level);
    j["limits"] = LimitsToJson(e.limits);
    nlohmann::json argv = nlohmann::json::array();
    for (const std::string& arg : e.argv) argv.push_back(ToValidUtf8(arg));
    j["argv"] = std::move(argv);
    j["capabilities"] = e.capabilities;
  }
  void operator()(const DecidedEvent& e) const {
    j["effect"] = PolicyEffectName(e.decision.effect);
    j["summary"] = ToValidUtf8(e.decision.Summary());
    j["rules"] = PolicyRulesToJson(e.decision.rules);
  }
  void operator()(const ApprovalRequestedEvent& e) const {
    j["approval_key"] = e.approval_key;
    j["invocation"] = e.invocation;
    j["request"] = e.request;
    j["risk"] = RiskToJson(e.risk);
    j["timeout_ms"] = e.timeout.count();
  }
  void operator()(const ApprovalDecidedEvent& e) const {
    j["decision"] = ApprovalDecisionName(e.decision);
    j["approved"] = IsApproved(e.decision);
    j["via"] = ToValidUtf8(e.via);
    j["message"] = ToValidUtf8(e.message);
  }
  void operator()(const StartedEvent& e) const { j["layers"] = e.layers; }
  void operator()(const OutputEvent& e) const {
    j["stream"] = OutputStreamName(e.stream);
    j["data"] = ToValidUtf8(e.data);
  }
  void operator()(const EgressEvent& e) const { j["egress"] = EgressRecordToJson(e.record); }
  void operator()(const FinishedEvent& e) const {
    if (e.outcome) {
      j["status"] = StatusName(e.outcome->status);
      j["outcome"] = OutcomeToJson(*e.outcome);
      j["error"] = nullptr;
    } else {
      const Error& error = e.error.value_or(Error{});
      j["status"] = "error";
      j["outcome"] = nullptr;
      j["error"] = {{"code", ErrorCodeName(error.code)}, {"message", ToValidUtf8(error.message)}};
    }
    j["events_dropped"] = e.events_dropped;
  }
};

}  // namespace

std::string_view RunEvent::type() const {
  static constexpr std::array<std::string_view, 9> kNames = {
      "accepted", "planned", "decided", "approval_requested", "approval_decided",
      "started",  "output",  "egress",  "finished"};
  return kNames[payload.index()];
}

nlohmann::json RunEventToJson(const RunEvent& event) {
  nlohmann::json j = {
      {"v", kRunEventsVersion},
      {"run_id", event.run_id},
      {"seq", event.seq},
      {"time", TimeText(event.time)},
      {"type", event.type()},
  };
  std::visit(PayloadToJson{j}, event.payload);
  return j;
}

}  // namespace skillrt
