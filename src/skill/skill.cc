// Loading and validating a skill directory: SKILL.md (Agent Skills specification,
// https://agentskills.io/specification) and the optional capability manifest skill.toml.
// What is accepted, strictly and leniently, is documented in docs/skill-format.md.
#include "skillrt/skill.h"

#include <algorithm>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "skill/frontmatter.h"
#include "skill/infer.h"
#include "skill/manifest_internal.h"
#include "skill/skill_name.h"
#include "skill/tree_hash.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using frontmatter::MapEntry;
using frontmatter::YamlNode;

constexpr std::size_t kMaxDescriptionChars = 1024;
constexpr std::size_t kMaxCompatibilityChars = 500;

enum class Mode { kStrict, kLenient };

std::size_t CodePoints(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Splits `allowed-tools` on spaces (and commas, which some skills use) outside parentheses,
// so "Bash(git status) Read" gives {"Bash(git status)", "Read"}.
std::vector<std::string> SplitTools(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    bool separator = depth == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',');
    if (separator) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

// A YAML value as JSON (`Json`: nlohmann::json, or ordered_json to keep document order):
// scalars are strings (YAML 1.2 core types are not guessed), null is null.
template <typename Json>
Json YamlAsJson(const YamlNode& v) {
  switch (v.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar:
      return v.scalar;
    case YamlNode::Kind::kSequence: {
      Json out = Json::array();
      for (const YamlNode& item : v.items) out.push_back(YamlAsJson<Json>(item));
      return out;
    }
    case YamlNode::Kind::kMap: {
      Json out = Json::object();
      for (const MapEntry& e : v.entries) out[e.key] = YamlAsJson<Json>(e.value);
      return out;
    }
  }
  return nullptr;
}

// Checks the frontmatter and fills `meta`. Problems with `name` and `description` are always
// errors; other deviations are errors when strict and warnings when lenient.
class FrontmatterChecker {
 public:
  FrontmatterChecker(const fs::path& file, std::string dir_name, Mode mode)
      : file_(file), dir_name_(std::move(dir_name)), mode_(mode) {}

  void Check(const frontmatter::Document& doc, SkillMetadata* meta,
             std::vector<Diagnostic>* out) {
    out_ = out;
    bool has_name = false;
    bool has_description = false;
    for (const MapEntry& entry : doc.root.entries) {
      const YamlNode& v = entry.value;
      if (entry.key == "name") {
        has_name = true;
        Name(entry, meta);
      } else if (entry.key == "description") {
        has_description = true;
        Description(entry, meta);
      } else if (entry.key == "license") {
        if (v.kind == YamlNode::Kind::kScalar) {
          meta->license = v.scalar;
        } else {
          Soft(entry.line, "license", ExpectedString(v));
        }
      } else if (entry.key == "compatibility") {
        Compatibility(entry, meta);
      } else if (entry.key == "metadata") {
        Metadata(entry, meta);
      } else if (entry.key == "allowed-tools") {
        AllowedTools(entry, meta);
      } else {
        Soft(entry.line, entry.key,
             "unknown key (allowed: name, description, license, compatibility, metadata, "
             "allowed-tools)");
      }
    }
    if (!has_name) MissingName(meta);
    if (!has_description) Hard(1, "description", "required key is missing");
    meta->body = doc.body;
    if (IsBlank(doc.body)) {
      Add(Diagnostic::Severity::kWarning, doc.closing_line, "",
          "the body after the frontmatter is empty; it should hold the skill's instructions");
    }
  }

 private:

  static std::string ExpectedString(const YamlNode& v) {
    return "expected a string, got " + std::string(frontmatter::KindName(v));
  }

  void Add(Diagnostic::Severity severity, int line, std::string field, std::string message) {
    out_->push_back(Diagnostic{.severity = severity,
                               .file = file_,
                               .line = line,
                               .field = std::move(field),
                               .message = std::move(message)});
  }
  void Hard(int line, std::string field, std::string message) {
    Add(Diagnostic::Severity::kError, line, std::move(field), std::move(message));
  }
  void Soft(int line, std::string field, std::string message) {
    Add(mode_ == Mode::kStrict ? Diagnostic::Severity::kError : Diagnostic::Severity::kWarning,
        line, std::move(field), std::move(message));
  }

  void Name(const MapEntry& entry, SkillMetadata* meta) {
    const YamlNode& v = entry.value;
    if (v.kind == YamlNode::Kind::kNull) {
      Hard(entry.line, "name", "must not be empty");
      return;
    }
    if (v.kind != YamlNode::Kind::kScalar) {
      Hard(entry.line, "name", ExpectedString(v));
      return;
    }
    meta->display_name = v.scalar;
    std::string name = v.scalar;
    if (std::string problem = skill_name::Problem(v.scalar); !problem.empty()) {
      std::optional<std::string> normal = NormalizeSkillName(v.scalar);
      if (mode_ == Mode::kStrict || !normal) {
        Hard(entry.line, "name", problem);
        return;
      }
      Soft(entry.line, "name", problem + "; normalised to '" + *normal + "'");
      name = *normal;
    }
    meta->name = name;
    // A directory written the same loose way ("PDF_Tools/") matches its normalised name.
    std::string dir_normal = NormalizeSkillName(dir_name_).value_or(dir_name_);
    const bool matches = mode_ == Mode::kStrict ? name == dir_name_
                                                : name == dir_name_ || name == dir_normal;
    if (!matches) {
      Soft(entry.line, "name",
           "'" + v.scalar + "' does not match the directory name '" + dir_name_ + "'");
    }
  }

  // Without `name`, lenient loading names the skill after its directory, as the registry does.
  void MissingName(SkillMetadata* meta) {
    std::optional<std::string> normal = NormalizeSkillName(dir_name_);
    if (mode_ == Mode::kStrict || !normal) {
      Hard(1, "name", "required key is missing");
      return;
    }
    Soft(1, "name", "required key is missing; the directory name '" + *normal + "' is used");
    meta->name = *normal;
    meta->display_name = dir_name_;
  }

  void Description(const MapEntry& entry, SkillMetadata* meta) {
    const YamlNode& v = entry.value;
    if (v.kind == YamlNode::Kind::kNull || (v.kind == YamlNode::Kind::kScalar &&
                                            IsBlank(v.scalar))) {
      Hard(entry.line, "description", "must not be empty");
      return;
    }
    if (v.kind != YamlNode::Kind::kScalar) {
      Hard(entry.line, "description", ExpectedString(v));
      return;
    }
    if (std::size_t n = CodePoints(v.scalar); n > kMaxDescriptionChars) {
      // Kept whole when lenient: a description is only shown, and cutting it loses meaning.
      Soft(entry.line, "description",
           "is " + std::to_string(n) + " characters long, at most 1024 are allowed" +
               (mode_ == Mode::kLenient ? " (kept whole)" : ""));
      if (mode_ == Mode::kStrict) return;
    }
    meta->description = v.scalar;
  }

  void Compatibility(const MapEntry& entry, SkillMetadata* meta) {
    const YamlNode& v = entry.value;
    if (v.kind != YamlNode::Kind::kScalar) {
      Soft(entry.line, "compatibility", ExpectedString(v));
      return;
    }
    if (IsBlank(v.scalar)) {
      Soft(entry.line, "compatibility", "must not be empty when present");
      return;
    }
    if (std::size_t n = CodePoints(v.scalar); n > kMaxCompatibilityChars) {
      Soft(entry.line, "compatibility",
           "is " + std::to_string(n) + " characters long, at most 500 are allowed");
      return;
    }
    meta->compatibility = v.scalar;
  }

  void Metadata(const MapEntry& entry, SkillMetadata* meta) {
    const YamlNode& v = entry.value;
    if (v.kind != YamlNode::Kind::kMap) {
      Soft(entry.line, "metadata",
           "expected a map of strings to strings, got " + std::string(frontmatter::KindName(v)));
      return;
    }
    for (const MapEntry& item : v.entries) {
      if (item.value.kind != YamlNode::Kind::kScalar) {
        if (mode_ == Mode::kStrict) {
          Soft(item.line, "metadata." + item.key, ExpectedString(item.value));
          continue;
        }
        std::string text =
            item.value.kind == YamlNode::Kind::kNull
                ? std::string()
                : YamlAsJson<nlohmann::json>(item.value)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        Soft(item.line, "metadata." + item.key,
             ExpectedString(item.value) + "; kept as the text " +
                 (text.empty() ? std::string("\"\"") : text));
        meta->metadata[item.key] = std::move(text);
        continue;
      }
      meta->metadata[item.key] = item.value.scalar;
    }
  }

  void AllowedTools(const MapEntry& entry, SkillMetadata* meta) {
    const YamlNode& v = entry.value;
    switch (v.kind) {
      case YamlNode::Kind::kNull:
        return;
      case YamlNode::Kind::kScalar:
        meta->allowed_tools = SplitTools(v.scalar);
        return;
      case YamlNode::Kind::kSequence:
        Soft(entry.line, "allowed-tools",
             "expected a space-delimited string, got a list (e.g. allowed-tools: "
             "Bash(git:*) Read)");
        for (const YamlNode& item : v.items) {
          if (item.kind == YamlNode::Kind::kScalar) {
            meta->allowed_tools.push_back(item.scalar);
          } else {
            Soft(item.line, "allowed-tools", ExpectedString(item));
          }
        }
        return;
      case YamlNode::Kind::kMap:
        Soft(entry.line, "allowed-tools", "expected a space-delimited string, got a map");
        return;
    }
  }

  fs::path file_;
  std::string dir_name_;
  Mode mode_;
  std::vector<Diagnostic>* out_ = nullptr;
};

// Removes "<path>: " from the front of a message whose Diagnostic already names the file.
std::string WithoutPath(const std::string& message, const fs::path& path) {
  std::string prefix = path.string() + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

// One line "<file>:<line>: <field>: <what>" for a Result error.
std::string ErrorText(const Diagnostic& d) {
  std::string out = d.file.string();
  if (d.line > 0) out += ":" + std::to_string(d.line);
  out += ": ";
  if (!d.field.empty()) out += d.field + ": ";
  out += d.message;
  return out;
}

// An inferred manifest: least privilege, and an entry running the one script in scripts/.
// The commands are added by the caller (src/skill/infer.h).
Manifest InferManifest(const fs::path& dir) {
  Manifest manifest;
  manifest.inferred = true;
  std::vector<std::string> scripts;
  std::error_code ec;
  fs::directory_iterator it(dir / "scripts", ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(".")) continue;
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (name.ends_with(".py") || name.ends_with(".sh") || name.ends_with(".wasm")) {
      scripts.push_back(name);
    }
  }
  if (scripts.size() == 1) {
    const std::string& script = scripts.front();
    if (script.ends_with(".wasm")) {
      // A module or a component: the WebAssembly runtime tells them apart.
      manifest.runtime = RuntimeKind::kWasm;
      manifest.entry = EntryPoint{.argv = {"scripts/" + script}};
    } else {
      manifest.entry = EntryPoint{
          .argv = {script.ends_with(".py") ? "python3" : "bash", "scripts/" + script}};
    }
  }
  return manifest;
}

// The command named by an allowed-tools entry such as "Bash(python3 scripts/run.py:*)",
// or an empty string for entries that name no single command.
std::string CommandOfTool(std::string_view tool) {
  if (!tool.starts_with("Bash(") || !tool.ends_with(")")) return "";
  std::string_view inner = tool.substr(5, tool.size() - 6);
  std::size_t begin = inner.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  inner.remove_prefix(begin);
  std::string_view word = inner.substr(0, inner.find_first_of(" \t:"));
  if (word.empty() || word.find_first_of("*?[]$`\"'\\;&|<>(){}") != std::string_view::npos) {
    return "";
  }
  if (word.find('/') != std::string_view::npos && !word.starts_with("/")) return "";
  if (word == "." || word == "..") return "";
  return std::string(word);
}

void SeedCommands(const SkillMetadata& meta, Manifest* manifest) {
  std::vector<std::string>& commands = manifest->capabilities.commands;
  if (!commands.empty()) return;
  for (const std::string& tool : meta.allowed_tools) {
    std::string cmd = CommandOfTool(tool);
    if (!cmd.empty() && std::find(commands.begin(), commands.end(), cmd) == commands.end()) {
      commands.push_back(std::move(cmd));
    }
  }
}

// The two files of a skill as LoadSkillFiles read them.
struct SkillFiles {
  std::optional<frontmatter::ReadFile> skill_md;
  std::optional<frontmatter::ReadFile> skill_toml;  // Absent when the skill has none.
};

// LoadSkillUnhashed(), keeping the bytes of SKILL.md and skill.toml in `*read` for the tree
// hash.
Result<Skill> LoadSkillFiles(const fs::path& dir, SkillFiles* read) {
  std::error_code ec;
  fs::path canonical = fs::canonical(dir, ec);
  if (ec) return Fail(ErrorCode::kNotFound, dir.string() + ": no such skill directory");
  if (!fs::is_directory(canonical, ec)) {
    return Fail(ErrorCode::kNotFound, dir.string() + ": not a directory");
  }
  fs::path skill_md = canonical / "SKILL.md";
  auto text = frontmatter::ReadBoundedFileWithStat(skill_md, frontmatter::kMaxSkillFileBytes);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "no SKILL.md in " + canonical.string());
    }
    return std::unexpected(text.error());
  }
  read->skill_md = std::move(*text);
  auto doc = frontmatter::Parse(read->skill_md->data, skill_md);
  if (!doc) return Fail(ErrorCode::kParse, ErrorText(doc.error()));

  Skill skill;
  skill.dir = canonical;
  std::vector<Diagnostic> found;
  FrontmatterChecker(skill_md, canonical.filename().string(), Mode::kLenient)
      .Check(*doc, &skill.meta, &found);
  for (Diagnostic& d : found) {
    if (d.severity == Diagnostic::Severity::kError) {
      return Fail(ErrorCode::kValidation, ErrorText(d));
    }
    skill.warnings.push_back(std::move(d));
  }

  fs::path toml_path = canonical / "skill.toml";
  if (fs::exists(fs::symlink_status(toml_path, ec))) {
    auto toml =
        frontmatter::ReadBoundedFileWithStat(toml_path, manifest_internal::kMaxManifestBytes);
    if (!toml) return std::unexpected(toml.error());
    read->skill_toml = std::move(*toml);
    auto manifest = ParseManifest(read->skill_toml->data, toml_path.string(), canonical);
    if (!manifest) return std::unexpected(manifest.error());
    skill.manifest = std::move(*manifest);
  } else {
    skill.manifest = InferManifest(canonical);
    infer::Commands commands = infer::InferCommands(canonical, doc->body, doc->body_line);
    skill.manifest.script_commands = std::move(commands.script_commands);
    skill.manifest.mentioned_commands = std::move(commands.mentioned_commands);
  }
  SeedCommands(skill.meta, &skill.manifest);
  return skill;
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string out = file.string();
  if (line > 0) out += ":" + std::to_string(line);
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

std::vector<Diagnostic> ValidateSkill(const std::filesystem::path& dir) {
  std::vector<Diagnostic> out;
  auto error = [&](const fs::path& file, int line, std::string field, std::string message) {
    out.push_back(Diagnostic{.severity = Diagnostic::Severity::kError,
                             .file = file,
                             .line = line,
                             .field = std::move(field),
                             .message = std::move(message)});
  };
  try {
    std::error_code ec;
    fs::path canonical = fs::canonical(dir, ec);
    if (ec || !fs::is_directory(canonical, ec)) {
      error(dir, 0, "", "not a skill directory (missing or not a directory)");
      return out;
    }
    fs::path skill_md = canonical / "SKILL.md";
    auto text = frontmatter::ReadBoundedFile(skill_md, frontmatter::kMaxSkillFileBytes);
    if (!text) {
      error(skill_md, 0, "",
            text.error().code == ErrorCode::kNotFound
                ? "missing SKILL.md"
                : WithoutPath(text.error().message, skill_md));
    } else if (auto doc = frontmatter::Parse(*text, skill_md); !doc) {
      out.push_back(std::move(doc.error()));
    } else {
      SkillMetadata meta;
      FrontmatterChecker(skill_md, canonical.filename().string(), Mode::kStrict)
          .Check(*doc, &meta, &out);
    }
    fs::path toml_path = canonical / "skill.toml";
    if (fs::exists(fs::symlink_status(toml_path, ec))) {
      auto toml = frontmatter::ReadBoundedFile(toml_path, manifest_internal::kMaxManifestBytes);
      if (!toml) {
        error(toml_path, 0, "", WithoutPath(toml.error().message, toml_path));
      } else {
        for (const auto& issue : manifest_internal::ParseAll(*toml, canonical).issues) {
          std::string message = issue.message;
          if (issue.column > 0) message += " (column " + std::to_string(issue.column) + ")";
          error(toml_path, issue.line, issue.key_path, std::move(message));
        }
      }
    }
  } catch (const std::exception& e) {  // Allocation failure or a filesystem surprise.
    error(dir, 0, "", std::string("internal error while validating: ") + e.what());
  }
  return out;
}

Result<Skill> LoadSkill(const std::filesystem::path& dir) {
  SkillFiles read;
  auto skill = LoadSkillFiles(dir, &read);
  if (!skill) return skill;
  // SKILL.md and skill.toml are hashed from the bytes just parsed, not read again.
  std::vector<tree_hash::KnownFile> known;
  if (read.skill_md) known.push_back({.rel = "SKILL.md", .file = &*read.skill_md});
  if (read.skill_toml) known.push_back({.rel = "skill.toml", .file = &*read.skill_toml});
  auto hash = tree_hash::Hash(skill->dir, known);
  if (!hash) return std::unexpected(hash.error());
  skill->tree_sha256 = std::move(*hash);
  return skill;
}

Result<Skill> LoadSkillUnhashed(const std::filesystem::path& dir) {
  SkillFiles read;
  return LoadSkillFiles(dir, &read);
}

Result<std::string> ReadFrontmatterJson(const std::filesystem::path& dir) {
  const fs::path file = dir / "SKILL.md";
  auto text = frontmatter::ReadBoundedFile(file, frontmatter::kMaxSkillFileBytes);
  if (!text) return std::unexpected(text.error());
  auto document = frontmatter::Parse(*text, file);
  if (!document) return Fail(ErrorCode::kValidation, document.error().ToString());
  return YamlAsJson<nlohmann::ordered_json>(document->root).dump();
}

}  // namespace skillrt
