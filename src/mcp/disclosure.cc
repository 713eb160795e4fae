// The progressive-disclosure tools (docs/mcp.md, "Tools"): an agent lists skills, loads one
// (its SKILL.md body and file list), reads its files, and runs it or a command in its sandbox,
// without carrying every skill's description in its context. One table row per tool.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "mcp/tool_table.h"
#include "skillrt/skill.h"
#include "skillrt/fd.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

json TextResult(const std::string& text, json structured) {
  return {{"content", {{{"type", "text"}, {"text", text}}}},
          {"structuredContent", std::move(structured)},
          {"isError", false}};
}

std::optional<std::string> StringArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string Lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

RpcResult ListSkillsTool(RequestContext& c, const json& args) {
  const std::string filter = Lower(StringArg(args, "filter").value_or(""));
  size_t offset = 0;
  if (auto cursor = StringArg(args, "cursor")) {
    if (cursor->empty() || cursor->find_first_not_of("0123456789") != std::string::npos ||
        cursor->size() > 9) {
      return ToolError("error: invalid cursor '" + *cursor + "'");
    }
    offset = std::stoul(*cursor);
  }
  size_t limit = c.server.options().list_page_size;
  if (args.contains("limit")) {
    if (!args["limit"].is_number_integer() || args["limit"].get<int64_t>() < 1) {
      return ToolError("error: limit must be a positive integer");
    }
    limit = std::min<size_t>(limit, args["limit"].get<size_t>());
  }
  auto refs = c.server.engine().registry().List();
  if (!refs) return ToolError("error: " + refs.error().ToString());
  json skills = json::array();
  size_t matched = 0;
  std::string text;
  for (const SkillRef& ref : *refs) {
    auto skill = c.server.engine().registry().Describe(ref.name);
    const std::string description = skill ? skill->meta.description : std::string();
    if (!filter.empty() && Lower(ref.name).find(filter) == std::string::npos &&
        Lower(description).find(filter) == std::string::npos) {
      continue;
    }
    if (matched++ < offset || skills.size() >= limit) continue;
    json item = {{"name", ref.name}, {"description", description}};
    if (skill) {
      item["runtime"] = RuntimeKindName(skill->manifest.runtime);
      item["runnable"] = skill->manifest.entry.has_value();
    } else {
      item["error"] = skill.error().message;
    }
    text += "- " + ref.name + ": " + description.substr(0, description.find('\n')) + "\n";
    skills.push_back(std::move(item));
  }
  json structured = {{"skills", skills}, {"total", matched}};
  if (offset + skills.size() < matched) {
    structured["next_cursor"] = std::to_string(offset + skills.size());
    text += "(more: call list_skills with cursor \"" + std::to_string(offset + skills.size()) +
            "\")\n";
  }
  if (skills.empty()) text = "no skills match\n";
  return TextResult(text, std::move(structured));
}

RpcResult LoadSkillTool(RequestContext& c, const json& args) {
  auto name = StringArg(args, "skill");
  if (!name) return ToolError("error: load_skill needs \"skill\": a skill name");
  auto skill = c.server.engine().registry().Describe(*name);
  if (!skill) return ToolError("error: " + skill.error().message);
  json files = json::array();
  for (const auto& file : SkillFiles(skill->dir)) files.push_back(file.generic_string());
  json structured = {{"name", skill->meta.name},
                     {"description", skill->meta.description},
                     {"body", skill->meta.body},
                     {"files", files},
                     {"runtime", RuntimeKindName(skill->manifest.runtime)},
                     {"runnable", skill->manifest.entry.has_value()}};
  if (skill->manifest.entry) {
    structured["input_schema"] =
        skill->manifest.input_schema ? *skill->manifest.input_schema : json(nullptr);
  }
  std::string text = "# Skill " + skill->meta.name + "\n" + skill->meta.body +
                     "\n\nFiles (read with read_skill_file):\n";
  for (const json& file : files) text += "- " + file.get<std::string>() + "\n";
  text += skill->manifest.entry ? "Run it with run_skill.\n"
                                : "It has no entry point: use exec_in_skill.\n";
  return TextResult(FitToBudget(text, c.server.options().output_budget_bytes),
                    std::move(structured));
}

RpcResult ReadSkillFileTool(RequestContext& c, const json& args) {
  auto name = StringArg(args, "skill");
  auto path = StringArg(args, "path");
  if (!name || !path) return ToolError("error: read_skill_file needs \"skill\" and \"path\"");
  auto skill = c.server.engine().registry().Resolve(*name);
  if (!skill) return ToolError("error: " + skill.error().message);
  bool truncated = false;
  auto text = ReadSkillFile(skill->dir, *path, c.server.options().read_max_bytes, &truncated);
  if (!text) return ToolError("error: " + text.error().message);
  return TextResult(*text, {{"skill", skill->name},
                            {"path", *path},
                            {"text", *text},
                            {"truncated", truncated}});
}

RpcResult RunSkillTool(RequestContext& c, const json& args) {
  auto name = StringArg(args, "skill");
  if (!name) return ToolError("error: run_skill needs \"skill\": a skill name");
  json input = args.value("input", json::object());
  return RunAndWatch(c, RunRequest{.skill = *name, .input = std::move(input)});
}

RpcResult ExecInSkillTool(RequestContext& c, const json& args) {
  auto name = StringArg(args, "skill");
  if (!name) return ToolError("error: exec_in_skill needs \"skill\": a skill name");
  const json argv = args.value("argv", json());
  std::vector<std::string> words;
  if (argv.is_array()) {
    for (const json& word : argv) {
      if (!word.is_string()) return ToolError("error: argv must be an array of strings");
      words.push_back(word.get<std::string>());
    }
  }
  if (words.empty()) return ToolError("error: exec_in_skill needs \"argv\": a non-empty array");
  ExecRequest request{.skill = *name, .argv = std::move(words)};
  if (auto stdin_data = StringArg(args, "stdin")) request.stdin_data = *stdin_data;
  return RunAndWatch(c, std::move(request));
}

}  // namespace

const std::vector<BuiltinTool>& BuiltinTools() {
  static const std::vector<BuiltinTool> kTools = {
      {"list_skills", "List skills",
       "List the available skills (name, description, whether they can run), a page at a "
       "time. Filter by a word in the name or description.",
       R"({"type":"object","properties":{
            "filter":{"type":"string","description":"Only skills whose name or description contains this text (case-insensitive)."},
            "cursor":{"type":"string","description":"The next_cursor of the previous page."},
            "limit":{"type":"integer","minimum":1,"description":"At most this many skills."}},
          "additionalProperties":false})",
       nullptr, true, ListSkillsTool},
      {"search_skills", "Search skills",
       "Find the skills that best match a task described in natural language, best first "
       "(ranked by keywords and meaning together). Use this when the catalogue is large; "
       "then read the chosen skill with load_skill.",
       R"({"type":"object","properties":{
            "query":{"type":"string","description":"The task, in natural language."},
            "top":{"type":"integer","minimum":1,"maximum":50,"description":"At most this many skills (default 5)."},
            "budget_tokens":{"type":"integer","minimum":1,"description":"At most this many tokens (cl100k_base) for all hits together; a long description is shortened."}},
          "required":["query"],"additionalProperties":false})",
       R"({"type":"object","properties":{
            "hits":{"type":"array","items":{"type":"object","properties":{
              "name":{"type":"string"},
              "description":{"type":"string"},
              "score":{"type":"number","description":"Higher is a better match."}},
              "required":["name","description","score"]}},
            "total_tokens":{"type":"integer","description":"Tokens the hits take."},
            "dropped_for_budget":{"type":"integer","description":"Hits left out for the budget."}},
          "required":["hits","total_tokens","dropped_for_budget"]})",
       true, SearchSkillsTool},
      {"load_skill", "Load a skill",
       "Read a skill's instructions (the body of its SKILL.md), its input schema and the list "
       "of its files. Do this before running a skill.",
       R"({"type":"object","properties":{
            "skill":{"type":"string","description":"The skill's name."}},
          "required":["skill"],"additionalProperties":false})",
       nullptr, true, LoadSkillTool},
      {"read_skill_file", "Read a file of a skill",
       "Read a text file of a skill (a path that load_skill lists, relative to the skill's "
       "directory). Large files are cut.",
       R"({"type":"object","properties":{
            "skill":{"type":"string","description":"The skill's name."},
            "path":{"type":"string","description":"The file's path inside the skill, e.g. scripts/run.py."}},
          "required":["skill","path"],"additionalProperties":false})",
       nullptr, true, ReadSkillFileTool},
      {"run_skill", "Run a skill",
       "Run a skill's entry point in its sandbox with a JSON input (as its input schema says). "
       "The policy may refuse or ask a person first.",
       R"({"type":"object","properties":{
            "skill":{"type":"string","description":"The skill's name, optionally @instance."},
            "input":{"type":"object","description":"The input object for the skill."}},
          "required":["skill"],"additionalProperties":false})",
       nullptr, false, RunSkillTool},
      {"exec_in_skill", "Run a command in a skill's sandbox",
       "Run a command the skill's manifest allows, inside its sandbox (checked by the command "
       "guard), with the skill directory as the working directory.",
       R"({"type":"object","properties":{
            "skill":{"type":"string","description":"The skill's name, optionally @instance."},
            "argv":{"type":"array","items":{"type":"string"},"minItems":1,"description":"The command and its arguments."},
            "stdin":{"type":"string","description":"Text for the command's standard input."}},
          "required":["skill","argv"],"additionalProperties":false})",
       nullptr, false, ExecInSkillTool},
  };
  return kTools;
}

std::vector<std::filesystem::path> SkillFiles(const std::filesystem::path& dir,
                                              size_t max_files) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(
      dir, std::filesystem::directory_options::none, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // Symlinks are not followed (the iterator does not), nor listed: a link could name a
    // file outside the skill.
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    files.push_back(std::filesystem::relative(it->path(), dir, ec));
    if (files.size() >= max_files) break;
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::string> ReadSkillFile(const std::filesystem::path& dir, std::string_view relative,
                                  size_t max_bytes, bool* truncated) {
  const std::filesystem::path path(relative);
  if (relative.empty() || path.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + std::string(relative) + "': give a path relative to the skill directory");
  }
  for (const auto& part : path) {
    if (part == "..") {
      return Fail(ErrorCode::kDenied,
                  "'" + std::string(relative) + "': a path may not leave the skill directory");
    }
  }
  // Resolve symlinks and check the result is still inside the skill: a link inside the skill
  // may not point out of it.
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::canonical(dir / path, ec);
  if (ec) return Fail(ErrorCode::kNotFound, "'" + std::string(relative) + "': no such file");
  const std::filesystem::path root = std::filesystem::canonical(dir, ec);
  auto [root_end, real_it] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (ec || root_end != root.end()) {
    return Fail(ErrorCode::kDenied,
                "'" + std::string(relative) + "': resolves outside the skill directory");
  }
  UniqueFd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + std::string(relative) + ")", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + std::string(relative) + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(relative) + "': not a file");
  }
  std::string data(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), max_bytes), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + std::string(relative) + ")", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  *truncated = static_cast<uint64_t>(st.st_size) > got;
  if (*truncated) {  // Whole UTF-8 sequences only.
    size_t end = data.size();
    while (end > 0 && (static_cast<unsigned char>(data[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && (static_cast<unsigned char>(data[end - 1]) & 0x80) != 0) data.resize(end - 1);
  }
  if (data.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + std::string(relative) + "': a binary file, not text");
  }
  return data;
}

}  // namespace skillrt::mcp
