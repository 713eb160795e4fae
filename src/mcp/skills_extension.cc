// Skill files as MCP resources under skill:// and the skills extension
// (io.modelcontextprotocol/skills, SEP-2640): skills/list and skills/get with a complete
// manifest of each skill's files and their sha256 digests.
#include <fstream>
#include <iterator>

#include "mcp/tool_table.h"
#include "skillrt/skill.h"
#include "skillrt/sha256.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kScheme = "skill://";
// The extension's per-skill limits: 512 files, 16 MiB in all.
constexpr size_t kMaxFilesPerSkill = 512;
constexpr uint64_t kMaxBytesPerSkill = 16ull << 20;

std::string MimeType(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".md") return "text/markdown";
  if (ext == ".json") return "application/json";
  if (ext == ".py") return "text/x-python";
  if (ext == ".sh") return "text/x-shellscript";
  if (ext == ".toml") return "application/toml";
  return "text/plain";
}

// The skill path of a registry name: the name itself (one segment, the skill's name).
std::string SkillUri(const std::string& name, const std::string& file) {
  return std::string(kScheme) + name + "/" + file;
}

// A skill entry (the extension's `Skill`): uri, frontmatter verbatim, files with digests.
Result<json> SkillEntry(const SkillRef& ref) {
  auto frontmatter = ReadFrontmatterJson(ref.dir);
  if (!frontmatter) return std::unexpected(frontmatter.error());
  json front = json::parse(*frontmatter);
  front["name"] = ref.name;  // The URI's last segment; the registry's form of the name.
  if (!front.contains("description")) front["description"] = "";
  json resources = json::array();
  uint64_t total = 0;
  for (const auto& file : SkillFiles(ref.dir, kMaxFilesPerSkill)) {
    std::ifstream in(ref.dir / file, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    total += data.size();
    if (total > kMaxBytesPerSkill) break;
    resources.push_back({{"uri", SkillUri(ref.name, file.generic_string())},
                         {"digest", "sha256:" + Sha256Hex(data)},
                         {"size", data.size()}});
  }
  return json{{"uri", SkillUri(ref.name, "SKILL.md")},
              {"frontmatter", std::move(front)},
              {"resources", std::move(resources)}};
}

// Splits "skill://NAME/PATH" into the skill's registry entry and the file path.
std::optional<std::pair<SkillRef, std::string>> ParseSkillUri(RequestContext& c,
                                                               const std::string& uri) {
  if (uri.rfind(kScheme, 0) != 0) return std::nullopt;
  const std::string rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  const std::string name = rest.substr(0, slash);
  if (name.find_first_of("./\\") != std::string::npos) return std::nullopt;
  auto ref = c.server.engine().registry().Resolve(name);
  if (!ref || ref->name != name) return std::nullopt;
  return std::pair{*ref, rest.substr(slash + 1)};
}

std::optional<size_t> Offset(const json& cursor) {
  if (cursor.is_null()) return 0;
  if (!cursor.is_string()) return std::nullopt;
  const std::string text = cursor.get<std::string>();
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(text);
}

}  // namespace

RpcResult ResourcesList(RequestContext& c) {
  auto offset = Offset(c.params.value("cursor", json()));
  if (!offset) return RpcFail(kInvalidParams, "invalid cursor");
  auto refs = c.server.engine().registry().List();
  if (!refs) return RpcFail(kInternalError, refs.error().message);
  // One resource per skill (its SKILL.md); the other files are reached through skills/get
  // or the resource template.
  json resources = json::array();
  const size_t page = c.server.options().list_page_size;
  size_t i = 0;
  for (; i + *offset < refs->size() && resources.size() < page; ++i) {
    const SkillRef& ref = (*refs)[i + *offset];
    auto skill = c.server.engine().registry().Describe(ref.name);
    json resource = {{"uri", SkillUri(ref.name, "SKILL.md")},
                     {"name", ref.name},
                     {"mimeType", "text/markdown"}};
    if (skill) resource["description"] = skill->meta.description;
    resources.push_back(std::move(resource));
  }
  json result = {{"resources", std::move(resources)}};
  if (*offset + i < refs->size()) result["nextCursor"] = std::to_string(*offset + i);
  return result;
}

RpcResult ResourceTemplatesList(RequestContext&) {
  return json{{"resourceTemplates",
               {{{"uriTemplate", "skill://{skill}/{+path}"},
                 {"name", "skill-file"},
                 {"title", "A file of a skill"},
                 {"description", "Any file of a skill, by its path inside the skill directory."}}}}};
}

RpcResult ResourcesRead(RequestContext& c) {
  const std::string uri = c.params.value("uri", "");
  auto target = ParseSkillUri(c, uri);
  if (!target) return RpcFail(kInvalidParams, "unknown resource: " + uri);
  bool truncated = false;
  auto text = ReadSkillFile(target->first.dir, target->second, kMaxBytesPerSkill, &truncated);
  if (!text) return RpcFail(kInvalidParams, "cannot read " + uri + ": " + text.error().message);
  return json{{"contents",
               {{{"uri", uri},
                 {"mimeType", MimeType(target->second)},
                 {"text", std::move(*text)}}}}};
}

RpcResult SkillsList(RequestContext& c) {
  auto offset = Offset(c.params.value("cursor", json()));
  if (!offset) return RpcFail(kInvalidParams, "invalid cursor");
  auto refs = c.server.engine().registry().List();
  if (!refs) return RpcFail(kInternalError, refs.error().message);
  json skills = json::array();
  const size_t page = c.server.options().list_page_size;
  size_t i = 0;
  for (; i + *offset < refs->size() && skills.size() < page; ++i) {
    auto entry = SkillEntry((*refs)[i + *offset]);
    if (entry) skills.push_back(std::move(*entry));  // An unreadable skill is not served.
  }
  json result = {{"skills", std::move(skills)}, {"ttlMs", 60'000}, {"cacheScope", "private"},
                 {"resultType", "complete"}};
  if (*offset + i < refs->size()) result["nextCursor"] = std::to_string(*offset + i);
  return result;
}

RpcResult SkillsGet(RequestContext& c) {
  const std::string uri = c.params.value("uri", "");
  auto target = ParseSkillUri(c, uri);
  if (!target || target->second != "SKILL.md") {
    return RpcFail(kInvalidParams, "not the SKILL.md of a skill this server serves: " + uri);
  }
  auto entry = SkillEntry(target->first);
  if (!entry) return RpcFail(kInvalidParams, entry.error().message);
  return json{{"skill", std::move(*entry)}, {"ttlMs", 60'000}, {"cacheScope", "private"},
              {"resultType", "complete"}};
}

}  // namespace skillrt::mcp
