// The functions of skillrt's search model library (src/search/ml.h), taken from
// libskillrt_search_ml.so when the first command that embeds text or counts tokens needs them
// (skillrt/shared_library.h). The library (the tokenizers, tiktoken's rank tables, the ONNX
// Runtime bindings: about half of the relative relocations a process would otherwise apply at
// start-up, and a megabyte of its pages) is then mapped only by the processes that search,
// index or fit search results to a token budget, not by `run` or `exec`.
// Only src/search/ includes this.
#ifndef SKILLRT_SEARCH_ML_API_H_
#define SKILLRT_SEARCH_ML_API_H_

#include <filesystem>

#include "search/ml.h"
#include "skillrt/error.h"

namespace skillrt {

/// One pointer per function of src/search/ml.h, named after it without the `skillrt_ml_`
/// prefix.
struct SearchMlApi {
  decltype(&::skillrt_ml_embedder_new) embedder_new = nullptr;
  decltype(&::skillrt_ml_embedder_free) embedder_free = nullptr;
  decltype(&::skillrt_ml_embedder_dim) embedder_dim = nullptr;
  decltype(&::skillrt_ml_embed) embed = nullptr;
  decltype(&::skillrt_ml_count_tokens) count_tokens = nullptr;
  decltype(&::skillrt_ml_free_string) free_string = nullptr;
};

/// $SKILLRT_SEARCH_ML if set and not empty, else the library the build placed in its tree
/// (<build>/search-ml/libskillrt_search_ml.so, fixed at build time; docs/search.md).
std::filesystem::path DefaultSearchMlLibrary();

/// Loads DefaultSearchMlLibrary() the first time it is called; later calls return the same
/// table. kUnsupported naming the library (and dlerror(3)'s reason) when it or one of its
/// functions cannot be found; every later call returns the same error. Thread-safe; the table
/// lives as long as the process.
Result<const SearchMlApi*> LoadSearchMl();

}  // namespace skillrt

#endif  // SKILLRT_SEARCH_ML_API_H_
