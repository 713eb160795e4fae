// <home>/grants.toml: parsing, writing and updating it (include/skillrt/grants.h,
// docs/grants.md "The grants file").
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include <toml++/toml.h>

#include "skillrt/grants.h"
#include "skillrt/instance.h"
#include "skillrt/skill.h"
#include "skillrt/atomic_file.h"
#include "skillrt/fd.h"
#include "util/toml_type.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

constexpr int kGrantFileVersion = 1;
constexpr size_t kMaxGrantFileBytes = 1 << 20;

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// One key of one entry: its TOML key and the list of Grants it fills.
struct GrantKey {
  std::string_view key;
  std::vector<std::string> Grants::*strings = nullptr;
  std::vector<fs::path> Grants::*paths = nullptr;
};
constexpr GrantKey kGrantKeys[] = {
    {"commands", &Grants::commands, nullptr},
    {"read", nullptr, &Grants::read_paths},
    {"write", nullptr, &Grants::write_paths},
    {"python", &Grants::python, nullptr},
};

// True when `selector` is "NAME" or "NAME@INSTANCE" with valid names.
bool IsSelector(std::string_view selector) {
  const size_t at = selector.find('@');
  if (at == std::string_view::npos) return IsValidSkillName(selector);
  return IsValidSkillName(selector.substr(0, at)) &&
         IsValidInstanceName(selector.substr(at + 1));
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<GrantFile> Run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text);
    } catch (const toml::parse_error& e) {
      return Fail(ErrorCode::kParse, source_ + ":" + std::to_string(e.source().begin.line) +
                                         ":" + std::to_string(e.source().begin.column) + ": " +
                                         std::string(e.description()));
    }
    GrantFile out;
    for (const auto& [key, node] : root) {
      const std::string name(key.str());
      if (name == "version") {
        const auto* v = node.as_integer();
        if (v == nullptr || v->get() != kGrantFileVersion) {
          return Bad(node, "version", "expected 1");
        }
      } else if (name == "python") {
        const toml::table* table = node.as_table();
        if (table == nullptr) return Bad(node, "python", "expected a table");
        for (const auto& [pkey, pnode] : *table) {
          if (pkey.str() != "index_url") {
            return Bad(pnode, "python." + std::string(pkey.str()),
                       "unknown key (expected index_url)");
          }
          const auto* s = pnode.as_string();
          if (s == nullptr || s->get().empty() || s->get().find_first_of(" \t\n") !=
                                                       std::string::npos) {
            return Bad(pnode, "python.index_url", "expected a URL");
          }
          out.index_url = s->get();
        }
      } else if (name == "skills") {
        const toml::table* table = node.as_table();
        if (table == nullptr) return Bad(node, "skills", "expected a table");
        for (const auto& [skey, snode] : *table) {
          const std::string selector(skey.str());
          const std::string path = "skills." + selector;
          if (!IsSelector(selector)) {
            return Bad(snode, path, "'" + selector +
                                        "' is not a skill name, or NAME@INSTANCE");
          }
          auto grants = Entry(snode, path);
          if (!grants) return std::unexpected(grants.error());
          out.entries[selector] = std::move(*grants);
        }
      } else {
        return Bad(node, name, "unknown key (expected version, python or skills)");
      }
    }
    return out;
  }

 private:
  std::unexpected<Error> Bad(const toml::node& node, const std::string& path,
                             const std::string& what) {
    return Fail(ErrorCode::kValidation,
                source_ + ":" + std::to_string(LineOf(node)) + ": " + path + ": " + what);
  }

  Result<Grants> Entry(const toml::node& node, const std::string& path) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return Bad(node, path, "expected a table");
    Grants grants;
    for (const auto& [key, value] : *table) {
      const std::string key_path = path + "." + std::string(key.str());
      if (key.str() == "limits") {
        auto limits = LimitsTable(value, key_path);
        if (!limits) return std::unexpected(limits.error());
        grants = MergeGrants(grants, *limits);
        continue;
      }
      const GrantKey* known = nullptr;
      for (const GrantKey& candidate : kGrantKeys) {
        if (candidate.key == key.str()) known = &candidate;
      }
      if (known == nullptr) {
        return Bad(value, key_path,
                   "unknown key (expected commands, read, write, python or limits)");
      }
      const toml::array* array = value.as_array();
      if (array == nullptr) {
        return Bad(value, key_path, "expected an array of strings, got " + TomlTypeName(value));
      }
      for (size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const std::string element_path = key_path + "[" + std::to_string(i) + "]";
        const auto* s = element.as_string();
        if (s == nullptr) return Bad(element, element_path, "expected a string");
        Grants one;
        if (known->strings != nullptr) (one.*(known->strings)).push_back(s->get());
        if (known->paths != nullptr) (one.*(known->paths)).push_back(s->get());
        auto checked = CheckGrants(one, source_ + ":" + std::to_string(LineOf(element)) + ": " +
                                            element_path);
        if (!checked) {
          Error error = checked.error();
          error.code = ErrorCode::kValidation;
          return std::unexpected(std::move(error));
        }
        grants = MergeGrants(grants, *checked);
      }
    }
    return grants;
  }

  // [skills."...".limits]: manifest keys and units, checked by CheckGrants.
  Result<Grants> LimitsTable(const toml::node& node, const std::string& path) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return Bad(node, path, "expected a table, got " + TomlTypeName(node));
    Grants grants;
    for (const auto& [key, value] : *table) {
      const std::string key_path = path + "." + std::string(key.str());
      const auto* n = value.as_integer();
      if (n == nullptr || n->get() <= 0) {
        return Bad(value, key_path, "expected a positive integer, got " +
                                        (n ? std::to_string(n->get()) : TomlTypeName(value)));
      }
      Grants one;
      one.limits[std::string(key.str())] = static_cast<uint64_t>(n->get());
      auto checked = CheckGrants(one, source_ + ":" + std::to_string(LineOf(value)) + ": " +
                                          key_path);
      if (!checked) {
        Error error = checked.error();
        error.code = ErrorCode::kValidation;
        return std::unexpected(std::move(error));
      }
      grants = MergeGrants(grants, *checked);
    }
    return grants;
  }

  std::string source_;
};

toml::array ToArray(const std::vector<std::string>& items) {
  toml::array out;
  for (const std::string& item : items) out.push_back(item);
  return out;
}

}  // namespace

fs::path GrantFilePath(const fs::path& home) { return home / "grants.toml"; }

Result<GrantFile> ParseGrantFile(std::string_view text, std::string_view source) {
  try {
    return Parser(std::string(source)).Run(text);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc; toml++ errors are caught above.
    return Fail(ErrorCode::kInternal, std::string(source) + ": " + e.what());
  }
}

Result<GrantFile> ReadGrantFile(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return GrantFile{};
    return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + file.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kValidation, file.string() + ": not a regular file");
  }
  // Whoever can edit the file can widen every skill: a file others can change is refused.
  if ((st.st_uid != ::geteuid() && st.st_uid != 0) || (st.st_mode & 022) != 0) {
    return Fail(ErrorCode::kValidation,
                file.string() + ": writable by group or others, or owned by another user; "
                                "refusing to read grants others can change");
  }
  if (static_cast<size_t>(st.st_size) > kMaxGrantFileBytes) {
    return Fail(ErrorCode::kValidation, file.string() + ": larger than 1 MiB");
  }
  std::string text;
  char buf[16 << 10];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxGrantFileBytes) {
      return Fail(ErrorCode::kValidation, file.string() + ": larger than 1 MiB");
    }
  }
  return ParseGrantFile(text, file.string());
}

std::string GrantFileToToml(const GrantFile& file) {
  toml::table root;
  root.insert("version", kGrantFileVersion);
  if (!file.index_url.empty()) root.insert("python", toml::table{{"index_url", file.index_url}});
  toml::table skills;
  for (const auto& [selector, grants] : file.entries) {
    if (grants.empty()) continue;
    toml::table entry;
    for (const GrantKey& key : kGrantKeys) {
      std::vector<std::string> items;
      if (key.strings != nullptr) items = grants.*(key.strings);
      if (key.paths != nullptr) {
        for (const fs::path& p : grants.*(key.paths)) items.push_back(p.string());
      }
      if (!items.empty()) entry.insert(key.key, ToArray(items));
    }
    if (!grants.limits.empty()) {
      toml::table limits;
      for (const auto& [key, value] : grants.limits) {
        limits.insert(key, static_cast<int64_t>(value));
      }
      entry.insert("limits", std::move(limits));
    }
    skills.insert(selector, std::move(entry));
  }
  if (!skills.empty()) root.insert("skills", std::move(skills));
  std::ostringstream text;
  text << "# What the user lets skills do beyond their manifests (docs/grants.md).\n"
       << "# Edited by `skillrt grant` and `skillrt revoke`.\n"
       << root << "\n";
  return text.str();
}

Result<void> UpdateGrantFile(const fs::path& file,
                             const std::function<Result<void>(GrantFile&)>& edit) {
  const fs::path guard_path = file.string() + ".flock";
  UniqueFd guard(::open(guard_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!guard) return FailErrno(ErrorCode::kIo, "open(" + guard_path.string() + ")", errno);
  while (::flock(guard.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return FailErrno(ErrorCode::kIo, "flock(" + guard_path.string() + ")", errno);
    }
  }
  auto grants = ReadGrantFile(file);
  if (!grants) return std::unexpected(grants.error());
  if (auto edited = edit(*grants); !edited) return edited;
  return WriteFileAtomic(file, GrantFileToToml(*grants), 0600);
}

}  // namespace skillrt
