// Finding a skill's Python requirements (include/skillrt/dependencies.h,
// docs/dependencies.md). Installing them is in python_env.cc.
#include "skillrt/dependencies.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include <toml++/toml.h>

#include "skill/frontmatter.h"
#include "skillrt/grants.h"
#include "skillrt/skill.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxRequirementsBytes = 1 << 20;
constexpr size_t kMaxScriptBytes = 1 << 20;
constexpr int kMaxScripts = 1000;

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

void SortUnique(std::vector<std::string>& items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
}

// requirements.txt: one requirement per line; '#' starts a comment at the line's start or
// after whitespace (pip's rule). Options and continuations are refused, not skipped: a
// skill that needs them cannot be prepared as its author meant.
Result<std::vector<std::string>> ParseRequirementsFile(const fs::path& file) {
  auto text = frontmatter::ReadBoundedFile(file, kMaxRequirementsBytes);
  if (!text) return std::unexpected(text.error());
  std::vector<std::string> out;
  size_t start = 0;
  for (int line = 1; start <= text->size(); ++line) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string_view content = std::string_view(*text).substr(start, end - start);
    start = end + 1;
    for (size_t hash = content.find('#'); hash != std::string_view::npos;
         hash = content.find('#', hash + 1)) {
      if (hash == 0 || content[hash - 1] == ' ' || content[hash - 1] == '\t') {
        content = content.substr(0, hash);
        break;
      }
    }
    content = Trim(content);
    if (content.empty()) continue;
    if (content.back() == '\\') {
      return Fail(ErrorCode::kValidation, file.string() + ":" + std::to_string(line) +
                                              ": line continuations are not supported");
    }
    if (auto problem = CheckPythonRequirement(content)) {
      return Fail(ErrorCode::kValidation,
                  file.string() + ":" + std::to_string(line) + ": " + *problem);
    }
    out.emplace_back(content);
  }
  return out;
}

// The `dependencies` of every PEP 723 `# /// script` block in `text` (the script `file`).
// A block is "# /// script", then lines that are "#" or start with "# ", then "# ///"; its
// content is those lines without the "# " prefix, a TOML document
// (https://peps.python.org/pep-0723/).
Result<std::vector<std::string>> ScriptMetadata(std::string_view text, const fs::path& file) {
  std::vector<std::string> out;
  bool in_block = false;
  int block_line = 0;
  std::string content;
  size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view current = text.substr(start, end - start);
    if (!current.empty() && current.back() == '\r') current.remove_suffix(1);
    start = end + 1;
    if (!in_block) {
      if (current == "# /// script") {
        in_block = true;
        block_line = line;
        content.clear();
      }
      continue;
    }
    if (current == "# ///") {
      in_block = false;
      toml::table table;
      try {
        table = toml::parse(content);
      } catch (const toml::parse_error& e) {
        return Fail(ErrorCode::kParse,
                    file.string() + ":" + std::to_string(block_line + e.source().begin.line) +
                        ": script metadata: " + std::string(e.description()));
      }
      const toml::node* deps = table.get("dependencies");
      if (deps == nullptr) continue;
      const toml::array* array = deps->as_array();
      if (array == nullptr) {
        return Fail(ErrorCode::kValidation, file.string() + ":" + std::to_string(block_line) +
                                                ": script metadata: dependencies: expected an "
                                                "array of strings");
      }
      for (const toml::node& element : *array) {
        const auto* s = element.as_string();
        const int at = block_line + static_cast<int>(element.source().begin.line);
        if (s == nullptr) {
          return Fail(ErrorCode::kValidation, file.string() + ":" + std::to_string(at) +
                                                  ": script metadata: expected a string");
        }
        if (auto problem = CheckPythonRequirement(s->get())) {
          return Fail(ErrorCode::kValidation,
                      file.string() + ":" + std::to_string(at) + ": " + *problem);
        }
        out.push_back(s->get());
      }
      continue;
    }
    if (current == "#") {
      content += "\n";
    } else if (current.starts_with("# ")) {
      content += std::string(current.substr(2)) + "\n";
    } else {
      in_block = false;  // Not a metadata block after all (PEP 723: such a block is ignored).
    }
  }
  return out;
}

// Every `.py` file under `dir`, hidden entries and symbolic links skipped, in path order.
Result<std::vector<fs::path>> PythonScripts(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "opendir(" + dir.string() + ")", ec.value());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return FailErrno(ErrorCode::kIo, "readdir(" + dir.string() + ")", ec.value());
    const fs::path& path = it->path();
    if (path.filename().string().starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec) || path.extension() != ".py") continue;
    out.push_back(path);
    if (out.size() > static_cast<size_t>(kMaxScripts)) {
      return Fail(ErrorCode::kValidation, dir.string() + ": more than " +
                                              std::to_string(kMaxScripts) + " .py files");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<PythonRequirements> FindPythonRequirements(const Skill& skill, const GrantFile* grants,
                                                  const std::optional<std::string>& instance) {
  PythonRequirements found;
  if (!skill.manifest.dependencies.python.empty()) {
    found.requirements = skill.manifest.dependencies.python;
    found.source = "skill.toml";
  }
  const fs::path requirements_file = skill.dir / "requirements.txt";
  std::error_code ec;
  if (found.requirements.empty() &&
      fs::is_regular_file(fs::symlink_status(requirements_file, ec))) {
    auto listed = ParseRequirementsFile(requirements_file);
    if (!listed) return std::unexpected(listed.error());
    if (!listed->empty()) {
      found.requirements = std::move(*listed);
      found.source = "requirements.txt";
    }
  }
  if (found.requirements.empty() && skill.manifest.runtime == RuntimeKind::kNative) {
    auto scripts = PythonScripts(skill.dir);
    if (!scripts) return std::unexpected(scripts.error());
    std::string names;
    for (const fs::path& script : *scripts) {
      auto text = frontmatter::ReadBoundedFile(script, kMaxScriptBytes);
      if (!text) return std::unexpected(text.error());
      if (text->find("# /// script") == std::string::npos) continue;
      auto declared = ScriptMetadata(*text, script);
      if (!declared) return std::unexpected(declared.error());
      if (declared->empty()) continue;
      found.requirements.insert(found.requirements.end(), declared->begin(), declared->end());
      names += (names.empty() ? "" : ", ") + script.lexically_relative(skill.dir).string();
    }
    if (!names.empty()) found.source = "script metadata (" + names + ")";
  }
  if (grants != nullptr) {
    const Grants granted = FileGrantsFor(*grants, skill.meta.name, instance);
    if (!granted.python.empty()) {
      if (found.requirements.empty()) {
        found.requirements = granted.python;
        found.source = "grants file";
      } else {
        found.grants_ignored = true;
      }
    }
  }
  SortUnique(found.requirements);
  return found;
}

std::string PythonEnvironmentId(const std::vector<std::string>& requirements,
                                std::string_view version) {
  std::vector<std::string> sorted = requirements;
  SortUnique(sorted);
  std::string text = "skillrt python environment 1\npython " + std::string(version) + "\n";
  for (const std::string& requirement : sorted) text += requirement + "\n";
  return Sha256Hex(text);
}

}  // namespace skillrt
