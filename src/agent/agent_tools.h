// What the model may call: the progressive-disclosure tools (list, load, read a file, run,
// exec) or chosen skills as tools of their own, each call turned into a tool result or into
// a run for the Engine to start.
#ifndef SKILLRT_AGENT_AGENT_TOOLS_H_
#define SKILLRT_AGENT_AGENT_TOOLS_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/agent.h"
#include "skillrt/engine.h"
#include "skillrt/search.h"
#include "skillrt/tools.h"

namespace skillrt::agent {

/// A tool as both protocols describe it.
struct ToolDef {
  std::string name;
  std::string description;
  nlohmann::json input_schema;
};

/// What one call comes to: a result at once (a listing, a file, an error the model should
/// read), or a run to start through the Engine.
using PreparedCall = std::variant<ToolCallResult, RunRequest, ExecRequest>;

/// The tools of one agent run. Thread-compatible (used by the loop's thread only).
class Toolbox {
 public:
  /// The disclosure tools when `options.skills` is empty, else one tool per named skill
  /// (EngineToolSet with `only`). Errors: those of EngineToolSet (kNotFound for an unknown
  /// skill).
  static Result<Toolbox> Make(Engine& engine, const AgentTools& options);

  const std::vector<ToolDef>& definitions() const { return definitions_; }
  const std::set<std::string, std::less<>>& names() const { return names_; }

  /// Turns `call` (arguments already parsed, or the reason they are not) into a result or a
  /// run request. Never fails: a bad call is an error result naming what is wrong.
  PreparedCall Prepare(const ToolCall& call) const;

 private:
  explicit Toolbox(Engine& engine, AgentTools options)
      : engine_(&engine), options_(std::move(options)) {}
  ToolCallResult SearchSkills(const ToolCall& call) const;
  ToolCallResult ListSkills(const ToolCall& call) const;
  ToolCallResult LoadSkill(const ToolCall& call) const;
  ToolCallResult ReadFile(const ToolCall& call) const;

  Engine* engine_;
  AgentTools options_;
  ToolSet skills_;  // Chosen skills as their own tools; empty for the disclosure tools.
  std::vector<ToolDef> definitions_;
  std::set<std::string, std::less<>> names_;
  // Opened and synced by the first search_skills call; null until then (and after a failure,
  // so the next call tries again).
  mutable std::shared_ptr<SkillSearch> search_;
};

/// An error result for `call`.
ToolCallResult ToolErrorResult(const ToolCall& call, std::string text);

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_AGENT_TOOLS_H_
