// Policy evaluation: globs, the built-in default and the deny-wins combination
// (include/skillrt/policy.h, docs/policy.md "Evaluation").
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "skillrt/policy.h"
#include "skill/limit_fields.h"

namespace skillrt {
namespace {

// Glob matching by dynamic programming from the end of the pattern: row(pi)[ti] says whether
// pattern[pi..] matches text[ti..]. O(pattern * text) time and four rows of memory, whatever
// the stars. `path_mode` makes `*` and `?` stop at '/', and gives `**` its cross-directory
// meaning.
bool GlobMatch(std::string_view p, std::string_view t, bool path_mode) {
  const size_t m = p.size(), n = t.size();
  // One allocation: four rows, where row (pi % 4) holds row(pi), then the "**" suffix row.
  std::vector<char> cells(5 * (n + 2), 0);
  auto row_at = [&](size_t pi) { return cells.data() + (pi % 4) * (n + 2); };
  char* suffix = cells.data() + 4 * (n + 2);
  for (size_t pi = m + 1; pi-- > 0;) {
    char* row = row_at(pi);
    if (pi == m) {
      for (size_t ti = 0; ti <= n; ++ti) row[ti] = ti == n;
      continue;
    }
    const char* r1 = row_at(pi + 1);
    const char c = p[pi];
    if (path_mode && c == '*' && pi + 1 < m && p[pi + 1] == '*') {
      const size_t after = pi + 2;
      const char* ra = row_at(after);
      // "**" consumes any text, '/' included: some suffix position must match the rest.
      suffix[n + 1] = 0;
      for (size_t ti = n + 1; ti-- > 0;) suffix[ti] = ra[ti] || suffix[ti + 1];
      const bool slash_after = after < m && p[after] == '/';
      const char* rs = row_at(after + 1);
      for (size_t ti = 0; ti <= n; ++ti) {
        // "**/" may also stand for no directory at all: "a/**/b" matches "a/b".
        row[ti] = suffix[ti] || (slash_after && rs[ti]);
      }
      continue;
    }
    for (size_t ti = n + 1; ti-- > 0;) {
      bool match;
      if (c == '*') {
        match = r1[ti] || (ti < n && !(path_mode && t[ti] == '/') && row[ti + 1]);
      } else if (ti == n) {
        // "dir/**" against "dir": the '/' before a final "**" is optional.
        match = path_mode && c == '/' && p.substr(pi) == "/**";
      } else if (c == '?') {
        match = !(path_mode && t[ti] == '/') && r1[ti + 1];
      } else if (c == '\\' && pi + 1 < m) {
        match = p[pi + 1] == t[ti] && row_at(pi + 2)[ti + 1];
      } else {
        match = c == t[ti] && r1[ti + 1];
      }
      row[ti] = match;
    }
  }
  return row_at(0)[0];
}

std::string NormalPath(std::string_view path) {
  std::string norm = std::filesystem::path(path).lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  return norm;
}

// A subject of one call: something the policy decides.
struct Subject {
  enum class Kind { kRead, kWrite, kNetwork, kEnv, kCommand, kExec, kSandbox, kLimit, kGrant };
  Kind kind;
  std::string value;  // Path, name or command text; empty for network and sandbox.
  RiskLevel risk = RiskLevel::kLow;
  PolicyGrant grant = {};  // For kGrant: what is granted (`value` is its label).

  std::string Label() const {
    switch (kind) {
      case Kind::kRead: return "read " + value;
      case Kind::kWrite: return "write " + value;
      case Kind::kNetwork: return "network";
      case Kind::kEnv: return "env " + value;
      case Kind::kCommand: return "command " + value;
      case Kind::kExec: return "exec " + value;
      case Kind::kSandbox: return "sandbox best-effort";
      case Kind::kLimit: return "limit " + value;
      case Kind::kGrant: return "grant " + value;
    }
    return value;
  }
};

bool AnyName(const std::vector<std::string>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return NameGlobMatch(g, text); });
}

// `text` and the patterns are normalized already (the parser normalizes patterns).
bool AnyPath(const std::vector<std::string>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    std::string_view pattern = g;
    const bool negate = !pattern.empty() && pattern.front() == '!';
    if (negate) pattern.remove_prefix(1);
    return GlobMatch(pattern, text, /*path_mode=*/true) != negate;
  });
}

bool CallMatches(const PolicyRule& rule, const PolicyRequest& request) {
  if (!rule.skills.empty() && !AnyName(rule.skills, request.skill)) return false;
  if (!rule.runtimes.empty() &&
      std::find(rule.runtimes.begin(), rule.runtimes.end(), request.runtime) ==
          rule.runtimes.end()) {
    return false;
  }
  if (!rule.kinds.empty() &&
      std::find(rule.kinds.begin(), rule.kinds.end(), request.kind) == rule.kinds.end()) {
    return false;
  }
  return true;
}

bool SubjectMatches(const PolicyRule& rule, const Subject& s) {
  switch (s.kind) {
    case Subject::Kind::kRead: return AnyPath(rule.read, s.value);
    case Subject::Kind::kWrite: return AnyPath(rule.write, s.value);
    case Subject::Kind::kNetwork: return rule.network;
    case Subject::Kind::kEnv: return AnyName(rule.env, s.value);
    case Subject::Kind::kCommand: return AnyName(rule.commands, s.value);
    case Subject::Kind::kExec:
      if (rule.exec.empty() && !rule.risk) return false;
      if (!rule.exec.empty() && !AnyName(rule.exec, s.value)) return false;
      return !rule.risk || s.risk >= *rule.risk;
    case Subject::Kind::kSandbox: return rule.best_effort;
    case Subject::Kind::kLimit: return false;  // Decided by call rules or the default.
    case Subject::Kind::kGrant: {
      if (!rule.grants) return false;
      // A rule that lists commands or paths matches only the grants those lists match; a
      // raised limit only a rule that lists none.
      if (rule.commands.empty() && rule.read.empty() && rule.write.empty()) return true;
      const std::string& what = s.grant.value;
      switch (s.grant.kind) {
        case PolicyGrant::Kind::kCommand: return AnyName(rule.commands, what);
        case PolicyGrant::Kind::kRead: return AnyPath(rule.read, NormalPath(what));
        case PolicyGrant::Kind::kWrite: return AnyPath(rule.write, NormalPath(what));
        case PolicyGrant::Kind::kLimit: return false;
      }
      return false;
    }
  }
  return false;
}

// The built-in default for a subject no rule decided: least privilege is allowed, anything
// beyond it asks (docs/policy.md, "The default").
PolicyMatch Default(const Subject& s) {
  PolicyMatch m{.source = "built-in", .effect = PolicyEffect::kAsk, .subject = s.Label()};
  switch (s.kind) {
    case Subject::Kind::kRead:
      m.name = "default-read";
      m.reason = "reads a host path beyond the skill directory";
      break;
    case Subject::Kind::kWrite:
      m.name = "default-write";
      m.reason = "writes a host path beyond the private scratch directory";
      break;
    case Subject::Kind::kNetwork:
      m.name = "default-network";
      m.reason = "uses the network";
      break;
    case Subject::Kind::kEnv:
      m.name = "default-env";
      m.reason = "passes a host environment variable into the sandbox";
      break;
    case Subject::Kind::kCommand:
      m.name = "default-command";
      m.effect = PolicyEffect::kAllow;
      m.reason = "a declared command; the sandbox confines what it reaches";
      break;
    case Subject::Kind::kExec:
      m.name = "default-exec";
      if (s.risk >= RiskLevel::kHigh) {
        m.reason = "a command of " + std::string(RiskLevelName(s.risk)) + " risk";
      } else {
        m.effect = PolicyEffect::kAllow;
        m.reason = "a command of " + std::string(RiskLevelName(s.risk)) +
                   " risk that the skill declares";
      }
      break;
    case Subject::Kind::kSandbox:
      m.name = "default-sandbox";
      m.reason = "skips isolation layers the host cannot provide";
      break;
    case Subject::Kind::kLimit:
      m.name = "default-limit";
      m.reason = "asks for more of this machine than its ceiling gives without approval";
      break;
    case Subject::Kind::kGrant:
      m.name = "default-grant";
      m.reason = "a user grant widens the skill beyond its manifest; whoever makes the call "
                 "may have added it";
      break;
  }
  return m;
}

PolicyMatch MatchOf(const PolicyRule& rule, std::string subject) {
  return PolicyMatch{.source = rule.file.empty() ? "built-in" : rule.file.string(),
                     .index = rule.index,
                     .line = rule.line,
                     .name = rule.name,
                     .effect = rule.effect,
                     .reason = rule.reason,
                     .subject = std::move(subject)};
}

constexpr std::string_view kUntrusted =
    "project allow rules need trust_project = true in the user policy";
constexpr std::string_view kOverruled = "overruled by a more restrictive rule";

// Decides one subject from the rules that matched it; appends them to `out` and returns the
// subject's effect. `rules` are all counted (untrusted ones were filtered by the caller).
PolicyEffect DecideSubject(const std::vector<const PolicyRule*>& rules, const std::string& label,
                           std::vector<PolicyMatch>* out) {
  PolicyEffect effect = PolicyEffect::kAllow;
  for (const PolicyRule* rule : rules) effect = std::max(effect, rule->effect);
  for (const PolicyRule* rule : rules) {
    PolicyMatch m = MatchOf(*rule, label);
    if (rule->effect != effect) m.ignored = std::string(kOverruled);
    out->push_back(std::move(m));
  }
  return effect;
}

}  // namespace

std::string_view PolicyEffectName(PolicyEffect effect) {
  switch (effect) {
    case PolicyEffect::kAllow: return "allow";
    case PolicyEffect::kAsk: return "ask";
    case PolicyEffect::kDeny: return "deny";
  }
  return "deny";
}

std::string_view PolicyGrantKindName(PolicyGrant::Kind kind) {
  switch (kind) {
    case PolicyGrant::Kind::kCommand: return "command";
    case PolicyGrant::Kind::kRead: return "read";
    case PolicyGrant::Kind::kWrite: return "write";
    case PolicyGrant::Kind::kLimit: return "limit";
  }
  return "command";
}

std::string PolicyGrant::Label() const {
  return std::string(PolicyGrantKindName(kind)) + " " + value;
}

std::string_view PolicyLayerName(PolicyLayer layer) {
  switch (layer) {
    case PolicyLayer::kUser: return "user";
    case PolicyLayer::kExplicit: return "explicit";
    case PolicyLayer::kProject: return "project";
  }
  return "project";
}

bool PolicyRule::IsCapabilityRule() const {
  return network || !read.empty() || !write.empty() || !env.empty() || !commands.empty() ||
         !exec.empty() || risk.has_value() || best_effort || grants;
}

bool NameGlobMatch(std::string_view pattern, std::string_view text) {
  return GlobMatch(pattern, text, /*path_mode=*/false);
}

bool PathGlobMatch(std::string_view pattern, std::string_view path) {
  bool negate = !pattern.empty() && pattern.front() == '!';
  if (negate) pattern.remove_prefix(1);
  std::string norm_pattern = NormalPath(pattern);
  std::string norm_path = NormalPath(path);
  bool match = GlobMatch(norm_pattern, norm_path, /*path_mode=*/true);
  return negate ? !match : match;
}

PolicyDecision EvaluatePolicy(const Policy& policy, const PolicyRequest& request) {
  std::vector<Subject> subjects;
  using K = Subject::Kind;
  for (const auto& p : request.read) subjects.push_back({K::kRead, NormalPath(p.string())});
  for (const auto& p : request.write) subjects.push_back({K::kWrite, NormalPath(p.string())});
  if (request.network) subjects.push_back({K::kNetwork, ""});
  for (const auto& name : request.env_pass) subjects.push_back({K::kEnv, name});
  for (const auto& command : request.commands) subjects.push_back({K::kCommand, command});
  for (const auto& e : request.exec) subjects.push_back({K::kExec, e.text, e.risk});
  if (request.sandbox == SandboxLevel::kBestEffort) subjects.push_back({K::kSandbox, ""});
  for (const PolicyGrant& grant : request.grants) {
    subjects.push_back({.kind = K::kGrant, .value = grant.Label(), .grant = grant});
  }
  if (request.limits) {
    for (const LimitField& field : LimitFields()) {
      const uint64_t asked = field.get(*request.limits);
      const uint64_t ceiling = field.get(policy.ceilings);
      if (asked <= ceiling) continue;
      const std::string unit = field.unit.empty() ? "" : " " + std::string(field.unit);
      subjects.push_back({K::kLimit, std::string(field.key) + " " + std::to_string(asked) + unit +
                                         " (ceiling " + std::to_string(ceiling) + unit + ")"});
    }
  }

  PolicyDecision decision;
  std::vector<const PolicyRule*> call_rules;
  std::vector<std::vector<const PolicyRule*>> subject_rules(subjects.size());
  const std::string call_label = "skill " + request.skill;
  for (const PolicyRule& rule : policy.rules) {
    if (!CallMatches(rule, request)) continue;
    const bool untrusted = rule.layer == PolicyLayer::kProject &&
                           rule.effect == PolicyEffect::kAllow && !policy.trust_project;
    if (!rule.IsCapabilityRule()) {
      if (untrusted) {
        PolicyMatch m = MatchOf(rule, call_label);
        m.ignored = std::string(kUntrusted);
        decision.rules.push_back(std::move(m));
      } else {
        call_rules.push_back(&rule);
      }
      continue;
    }
    for (size_t i = 0; i < subjects.size(); ++i) {
      if (!SubjectMatches(rule, subjects[i])) continue;
      if (untrusted) {
        PolicyMatch m = MatchOf(rule, subjects[i].Label());
        m.ignored = std::string(kUntrusted);
        decision.rules.push_back(std::move(m));
      } else {
        subject_rules[i].push_back(&rule);
      }
    }
  }

  PolicyEffect overall;
  if (call_rules.empty()) {
    overall = PolicyEffect::kAllow;
    decision.rules.push_back(PolicyMatch{
        .source = "built-in",
        .name = "default-call",
        .effect = PolicyEffect::kAllow,
        .reason = "any skill may run with least privilege: its own directory read-only, "
                  "private scratch, no network, no host environment",
        .subject = call_label});
  } else {
    overall = DecideSubject(call_rules, call_label, &decision.rules);
  }
  for (size_t i = 0; i < subjects.size(); ++i) {
    const std::string label = subjects[i].Label();
    PolicyEffect effect;
    if (!subject_rules[i].empty()) {
      effect = DecideSubject(subject_rules[i], label, &decision.rules);
    } else if (!call_rules.empty() && subjects[i].kind != Subject::Kind::kGrant) {
      // A call rule decides what the manifest asks for; a grant goes beyond the manifest, so
      // only a rule that names grants decides it.
      effect = DecideSubject(call_rules, label, &decision.rules);
    } else {
      PolicyMatch m = Default(subjects[i]);
      effect = m.effect;
      decision.rules.push_back(std::move(m));
    }
    overall = std::max(overall, effect);
  }
  decision.effect = overall;
  return decision;
}

std::vector<PolicyMatch> PolicyDecision::Deciding() const {
  std::vector<PolicyMatch> out;
  for (const PolicyMatch& m : rules) {
    if (m.ignored.empty() && m.effect == effect) out.push_back(m);
  }
  return out;
}

std::string PolicyDecision::Summary() const {
  std::string text(PolicyEffectName(effect));
  std::vector<PolicyMatch> deciding = Deciding();
  if (effect == PolicyEffect::kAllow || deciding.empty()) return text;
  const PolicyMatch& m = deciding.front();
  text += ": rule '" + m.name + "' (" + m.source;
  if (m.index > 0) text += " rule " + std::to_string(m.index);
  text += "): " + m.subject;
  if (!m.reason.empty()) text += ": " + m.reason;
  if (deciding.size() > 1) text += " (and " + std::to_string(deciding.size() - 1) + " more)";
  return text;
}

}  // namespace skillrt
