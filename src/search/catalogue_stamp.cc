// The catalogue's stamp (CatalogueStamp in search.h): what a long-lived searcher compares to
// decide whether SkillSearch::Sync() is worth its cost (Sync hashes every file of every skill;
// the stamp costs two stat(2) calls per skill).
#include <sys/stat.h>

#include "skillrt/search.h"
#include "skillrt/sha256.h"

namespace skillrt {

Result<std::string> CatalogueStamp(const Registry& registry) {
  auto refs = registry.List();
  if (!refs) return std::unexpected(refs.error());
  // Each skill's name and directory, and the inode, size and modification time of the files
  // its index entry is made of, so that an edit in place is seen as well as an added, moved or
  // removed skill.
  Sha256 digest;
  for (const SkillRef& ref : *refs) {
    std::string entry = ref.name + "\n" + ref.dir.string() + "\n";
    for (const char* file : {"SKILL.md", "skill.toml"}) {
      struct stat st {};
      if (::stat((ref.dir / file).c_str(), &st) == 0) {
        entry += std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                 std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                 "\n";
      }
    }
    digest.Update(entry);
  }
  return digest.HexDigest();
}

}  // namespace skillrt
