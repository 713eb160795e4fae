// Reading SKILL.md: size and encoding checks, splitting the YAML frontmatter from the Markdown
// body, and parsing the frontmatter into a small value tree with line numbers.
//
// SKILL.md is untrusted input. Everything that could make a YAML parser crash, hang or blow
// up memory is rejected before or while parsing: files over 1 MiB, frontmatter over 64 KiB,
// NUL bytes, invalid UTF-8, nesting deeper than 64, anchors and aliases (the billion-laughs
// expansion), duplicate keys. yaml-cpp is driven through its event interface, so no alias is
// ever expanded and no yaml-cpp exception leaves this module.
// Format: https://agentskills.io/specification (frontmatter between two `---` lines).
#ifndef SKILLRT_SKILL_FRONTMATTER_H_
#define SKILLRT_SKILL_FRONTMATTER_H_

#include <sys/types.h>

#include <cstddef>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/skill.h"

namespace skillrt::frontmatter {

/// Largest SKILL.md accepted, in bytes. Checked with fstat before anything is read.
inline constexpr std::size_t kMaxSkillFileBytes = 1 << 20;
/// Largest frontmatter (the text between the `---` lines) accepted, in bytes.
inline constexpr std::size_t kMaxFrontmatterBytes = 64 << 10;
/// Deepest bracket ([ {) or block (indentation, "- ") nesting accepted in frontmatter.
inline constexpr int kMaxNestingDepth = 64;

struct MapEntry;

/// A YAML value from the frontmatter. Plain data.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 0;         ///< 1-based line in SKILL.md where the value starts.
  bool plain = false;   ///< A scalar written without quotes (so `true`, `12` are untyped text).
  std::string scalar{};            ///< The text of a scalar.
  std::vector<YamlNode> items{};    ///< Elements of a sequence.
  std::vector<MapEntry> entries{};  ///< Entries of a map, in document order; keys are unique.
};

/// One key of a map. Only scalar keys are accepted.
struct MapEntry {
  std::string key{};
  int line = 0;  ///< 1-based line of the key in SKILL.md.
  YamlNode value{};
};

/// Returns a short name of a node's type for messages: "null", "string", "list" or "map".
std::string_view KindName(const YamlNode& node);

/// SKILL.md split into its parts.
struct Document {
  YamlNode root;          ///< The frontmatter; always a map.
  std::string body;       ///< The Markdown after the closing `---` line.
  int body_line = 0;      ///< 1-based line in SKILL.md where the body starts.
  int closing_line = 0;   ///< 1-based line of the closing `---`.
};

/// Reads the file at `path` (at most kMaxSkillFileBytes; the size is checked with fstat before
/// reading). Errors: kNotFound if it does not exist, kValidation if it is not a regular file
/// or too large, kIo for other failures. Messages start with the path. Thread-safe.
Result<std::string> ReadBoundedFile(const std::filesystem::path& path, std::size_t max_bytes);

/// A file's bytes with what fstat(2) said of the open file they were read from, so that a
/// later step (the tree hash) can use the same bytes instead of reading the file again, after
/// checking by device and inode that the entry it meets is the file that was read.
struct ReadFile {
  std::string data;
  dev_t device = 0;
  ino_t inode = 0;
  mode_t mode = 0;  ///< st_mode: type and permission bits.
};

/// ReadBoundedFile(), keeping the file's identity and mode. The same errors.
Result<ReadFile> ReadBoundedFileWithStat(const std::filesystem::path& path,
                                         std::size_t max_bytes);

/// Parses the full text of a SKILL.md. `file` names it in the returned Diagnostic, which
/// carries the 1-based line at fault (the opening `---` is line 1) and, for duplicate keys, the
/// key as field. Rejects: NUL bytes, invalid UTF-8, a missing opening or closing `---`,
/// oversized or too deeply nested frontmatter, anchors and aliases, duplicate keys, non-scalar
/// keys, YAML syntax errors and frontmatter that is not a map. Never throws; thread-safe.
std::expected<Document, Diagnostic> Parse(std::string_view text,
                                          const std::filesystem::path& file);

/// Returns the 1-based line of the first byte that is not valid UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF are invalid), or 0 if `text` is valid.
int FirstInvalidUtf8Line(std::string_view text);

/// Returns the deepest nesting in YAML `text`: brackets outside quoted scalars and comments,
/// plus block nesting from indentation and leading "- " markers. Stops counting early once
/// the depth exceeds `limit` and returns the depth reached and its 0-based line.
std::pair<int, int> NestingDepth(std::string_view text, int limit);

}  // namespace skillrt::frontmatter

#endif  // SKILLRT_SKILL_FRONTMATTER_H_
