// The tools an agent run offers. The disclosure tools carry the names, arguments and meaning
// of the MCP server's (docs/mcp.md, "Tools"), so a model that learnt one front end knows the
// other; runs go through the Engine like every other call.
#include "agent/agent_tools.h"

#include "skillrt/mcp/server.h"
#include "skillrt/skill.h"

namespace skillrt::agent {
namespace {

using nlohmann::json;

// One row per disclosure tool: its name, what the model reads about it, its arguments.
struct DisclosureTool {
  const char* name;
  const char* description;
  const char* input_schema;
};

constexpr DisclosureTool kDisclosureTools[] = {
    {"search_skills",
     "Find the skills that best match a task, described in words (ranked by keyword and "
     "meaning). Start here when you do not know which skill fits.",
     R"({"type":"object","properties":{
          "query":{"type":"string","minLength":1,"description":"The task, in words."},
          "top":{"type":"integer","minimum":1,"maximum":50,"description":"At most this many skills (default 5)."}},
        "required":["query"],"additionalProperties":false})"},
    {"list_skills",
     "List the available skills (name, description, whether they can run). Filter by a word "
     "in the name or description.",
     R"({"type":"object","properties":{
          "filter":{"type":"string","description":"Only skills whose name or description contains this text (case-insensitive)."}},
        "additionalProperties":false})"},
    {"load_skill",
     "Read a skill's instructions (the body of its SKILL.md), its input schema and the list of "
     "its files. Do this before running a skill.",
     R"({"type":"object","properties":{
          "skill":{"type":"string","description":"The skill's name."}},
        "required":["skill"],"additionalProperties":false})"},
    {"read_skill_file",
     "Read a text file of a skill (a path that load_skill lists, relative to the skill's "
     "directory). Large files are cut.",
     R"({"type":"object","properties":{
          "skill":{"type":"string","description":"The skill's name."},
          "path":{"type":"string","description":"The file's path inside the skill."}},
        "required":["skill","path"],"additionalProperties":false})"},
    {"run_skill",
     "Run a skill's entry point in its sandbox with a JSON input (as its input schema says). "
     "The policy may refuse or ask a person first.",
     R"({"type":"object","properties":{
          "skill":{"type":"string","description":"The skill's name, optionally @instance."},
          "input":{"type":"object","description":"The input object for the skill."}},
        "required":["skill"],"additionalProperties":false})"},
    {"exec_in_skill",
     "Run a command the skill's manifest allows, inside its sandbox (checked by the command "
     "guard), with the skill directory as the working directory.",
     R"({"type":"object","properties":{
          "skill":{"type":"string","description":"The skill's name, optionally @instance."},
          "argv":{"type":"array","items":{"type":"string"},"minItems":1,"description":"The command and its arguments."},
          "stdin":{"type":"string","description":"Text for the command's standard input."}},
        "required":["skill","argv"],"additionalProperties":false})"},
};

std::optional<std::string> StringArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string Lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

ToolCallResult TextResult(const ToolCall& call, std::string text, size_t budget) {
  return {.id = call.id, .name = call.name, .is_error = false,
          .text = FitToBudget(text, budget)};
}

}  // namespace

ToolCallResult ToolErrorResult(const ToolCall& call, std::string text) {
  return {.id = call.id, .name = call.name, .is_error = true, .text = "error: " + text};
}

Result<Toolbox> Toolbox::Make(Engine& engine, const AgentTools& options) {
  Toolbox box(engine, options);
  if (options.skills.empty()) {
    for (const DisclosureTool& tool : kDisclosureTools) {
      box.definitions_.push_back(
          {tool.name, tool.description, json::parse(tool.input_schema)});
    }
  } else {
    auto set = EngineToolSet(engine, {.only = options.skills});
    if (!set) return std::unexpected(set.error());
    box.skills_ = std::move(*set);
    for (const ToolEntry& entry : box.skills_.tools) {
      box.definitions_.push_back({entry.name, entry.description, entry.input_schema});
    }
  }
  for (const ToolDef& def : box.definitions_) box.names_.insert(def.name);
  return box;
}

PreparedCall Toolbox::Prepare(const ToolCall& call) const {
  if (!names_.contains(call.name)) {
    std::string known;
    for (const std::string& name : names_) known += (known.empty() ? "" : ", ") + name;
    return ToolErrorResult(call, "unknown tool '" + call.name + "'; the tools are: " + known);
  }
  if (!call.arguments) return ToolErrorResult(call, call.arguments_error);
  const json& args = *call.arguments;
  if (const ToolEntry* entry = skills_.Find(call.name)) {
    return RunRequest{.skill = entry->Selector(), .input = args};
  }
  if (call.name == "search_skills") return SearchSkills(call);
  if (call.name == "list_skills") return ListSkills(call);
  if (call.name == "load_skill") return LoadSkill(call);
  if (call.name == "read_skill_file") return ReadFile(call);
  auto skill = StringArg(args, "skill");
  if (!skill) return ToolErrorResult(call, call.name + " needs \"skill\": a skill name");
  if (call.name == "run_skill") {
    json input = args.value("input", json::object());
    if (!input.is_object()) return ToolErrorResult(call, "\"input\" must be an object");
    return RunRequest{.skill = *skill, .input = std::move(input)};
  }
  // exec_in_skill
  std::vector<std::string> argv;
  if (auto it = args.find("argv"); it != args.end() && it->is_array()) {
    for (const json& word : *it) {
      if (!word.is_string()) return ToolErrorResult(call, "argv must be an array of strings");
      argv.push_back(word.get<std::string>());
    }
  }
  if (argv.empty()) return ToolErrorResult(call, "exec_in_skill needs \"argv\": a non-empty array");
  ExecRequest request{.skill = *skill, .argv = std::move(argv)};
  if (auto stdin_data = StringArg(args, "stdin")) request.stdin_data = *stdin_data;
  return request;
}

ToolCallResult Toolbox::SearchSkills(const ToolCall& call) const {
  auto query = StringArg(*call.arguments, "query");
  if (!query || query->find_first_not_of(" \t\r\n") == std::string::npos) {
    return ToolErrorResult(call, "search_skills needs \"query\": the task, in words");
  }
  int64_t top = 5;
  if (auto it = call.arguments->find("top"); it != call.arguments->end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 50) {
      return ToolErrorResult(call, "\"top\" must be an integer from 1 to 50");
    }
    top = it->get<int64_t>();
  }
  if (!search_) {
    auto opened = SkillSearch::Open(
        engine_->registry(),
        SkillSearchOptions{.index_path = DefaultSearchIndexPath(engine_->home())});
    if (!opened) return ToolErrorResult(call, "search is unavailable: " + opened.error().message);
    std::shared_ptr<SkillSearch> search = std::move(*opened);
    if (auto synced = search->Sync(); !synced) {
      return ToolErrorResult(call, "search is unavailable: " + synced.error().message);
    }
    search_ = std::move(search);
  }
  auto found = search_->Search(*query, SearchOptions{.top_k = static_cast<size_t>(top)});
  if (!found) return ToolErrorResult(call, found.error().message);
  std::string text;
  for (const SearchHit& hit : found->hits) {
    text += "- " + hit.name + ": " + hit.description.substr(0, hit.description.find('\n')) + "\n";
  }
  if (text.empty()) text = "no skills match\n";
  return TextResult(call, std::move(text), options_.output_budget_bytes);
}

ToolCallResult Toolbox::ListSkills(const ToolCall& call) const {
  const std::string filter = Lower(StringArg(*call.arguments, "filter").value_or(""));
  auto refs = engine_->registry().List();
  if (!refs) return ToolErrorResult(call, refs.error().ToString());
  std::string text;
  for (const SkillRef& ref : *refs) {
    auto skill = engine_->registry().Describe(ref.name);
    const std::string description = skill ? skill->meta.description : std::string();
    if (!filter.empty() && Lower(ref.name).find(filter) == std::string::npos &&
        Lower(description).find(filter) == std::string::npos) {
      continue;
    }
    text += "- " + ref.name + ": " + description.substr(0, description.find('\n'));
    if (!skill) text += " (does not load: " + skill.error().message + ")";
    else if (!skill->manifest.entry) text += " (no entry point: exec_in_skill only)";
    text += "\n";
  }
  if (text.empty()) text = "no skills match\n";
  return TextResult(call, std::move(text), options_.output_budget_bytes);
}

ToolCallResult Toolbox::LoadSkill(const ToolCall& call) const {
  auto name = StringArg(*call.arguments, "skill");
  if (!name) return ToolErrorResult(call, "load_skill needs \"skill\": a skill name");
  auto skill = engine_->registry().Describe(*name);
  if (!skill) return ToolErrorResult(call, skill.error().message);
  std::string text = "# Skill " + skill->meta.name + "\n" + skill->meta.body + "\n";
  if (skill->manifest.entry) {
    text += "\nInput schema: " +
            (skill->manifest.input_schema ? skill->manifest.input_schema->dump()
                                          : std::string("none declared")) +
            "\n";
  }
  text += "\nFiles (read with read_skill_file):\n";
  for (const auto& file : mcp::SkillFiles(skill->dir)) text += "- " + file.generic_string() + "\n";
  text += skill->manifest.entry ? "Run it with run_skill.\n"
                                : "It has no entry point: use exec_in_skill.\n";
  return TextResult(call, std::move(text), options_.output_budget_bytes);
}

ToolCallResult Toolbox::ReadFile(const ToolCall& call) const {
  auto name = StringArg(*call.arguments, "skill");
  auto path = StringArg(*call.arguments, "path");
  if (!name || !path) return ToolErrorResult(call, "read_skill_file needs \"skill\" and \"path\"");
  auto skill = engine_->registry().Resolve(*name);
  if (!skill) return ToolErrorResult(call, skill.error().message);
  bool truncated = false;
  auto text = mcp::ReadSkillFile(skill->dir, *path, options_.read_max_bytes, &truncated);
  if (!text) return ToolErrorResult(call, text.error().message);
  if (truncated) *text += "\n[... cut at " + std::to_string(options_.read_max_bytes) + " bytes]";
  return TextResult(call, std::move(*text), options_.output_budget_bytes);
}

}  // namespace skillrt::agent
