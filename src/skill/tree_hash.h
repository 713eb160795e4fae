// The tree hash (HashSkillTree, include/skillrt/skill.h) of a skill directory whose SKILL.md
// and skill.toml were just read for loading: those files are hashed from the bytes that were
// read, not opened and read a second time. Only src/skill/ includes this.
#ifndef SKILLRT_SKILL_TREE_HASH_H_
#define SKILLRT_SKILL_TREE_HASH_H_

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "skill/frontmatter.h"
#include "skillrt/error.h"

namespace skillrt::tree_hash {

/// A regular file of the tree that the caller has already read in full. Borrows `file`, which
/// must outlive the Hash() call.
struct KnownFile {
  std::string_view rel;  ///< Relative path with '/' separators, e.g. "SKILL.md".
  const frontmatter::ReadFile* file;
};

/// HashSkillTree(`dir`), the same digest, where each entry named in `known` that is still the
/// file that was read (a regular file with the same device and inode, checked with lstat(2))
/// is hashed from its bytes in `known` instead of being read again. The digest then covers
/// exactly the bytes the caller parsed. An entry that is no longer that file (replaced,
/// renamed, turned into a link) is hashed as HashSkillTree hashes it. (A file deleted and
/// another made in its place can reuse the inode number; the digest then covers the bytes
/// read, which are still what the caller parsed.) Errors as HashSkillTree.
Result<std::string> Hash(const std::filesystem::path& dir, std::span<const KnownFile> known);

}  // namespace skillrt::tree_hash

#endif  // SKILLRT_SKILL_TREE_HASH_H_
