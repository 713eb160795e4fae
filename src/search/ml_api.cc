#include "search/ml_api.h"

#include <cstdlib>
#include <string>

#include "skillrt/shared_library.h"

#ifndef SKILLRT_SEARCH_ML_LIB
#error "SKILLRT_SEARCH_ML_LIB must name the libskillrt_search_ml.so the build places in its tree"
#endif

namespace skillrt {
namespace {

Result<SearchMlApi> Load() {
  const std::string path = DefaultSearchMlLibrary().string();
  auto library = SharedLibrary::Open(path.c_str());
  if (!library) {
    return Fail(ErrorCode::kUnsupported,
                "search model library: " + library.error().message +
                    " (the build copies it from scripts/build-search-ml.sh's cache; "
                    "$SKILLRT_SEARCH_ML names another)");
  }
  SearchMlApi api;
  for (Result<void> found : {library->Find("skillrt_ml_embedder_new", &api.embedder_new),
                             library->Find("skillrt_ml_embedder_free", &api.embedder_free),
                             library->Find("skillrt_ml_embedder_dim", &api.embedder_dim),
                             library->Find("skillrt_ml_embed", &api.embed),
                             library->Find("skillrt_ml_count_tokens", &api.count_tokens),
                             library->Find("skillrt_ml_free_string", &api.free_string)}) {
    if (!found) return std::unexpected(found.error());
  }
  return api;
}

}  // namespace

std::filesystem::path DefaultSearchMlLibrary() {
  const char* env = std::getenv("SKILLRT_SEARCH_ML");
  if (env != nullptr && *env != '\0') return env;
  return SKILLRT_SEARCH_ML_LIB;
}

Result<const SearchMlApi*> LoadSearchMl() {
  static const Result<SearchMlApi>* loaded = new Result<SearchMlApi>(Load());  // Never freed.
  if (!*loaded) return std::unexpected(loaded->error());
  return &**loaded;
}

}  // namespace skillrt
