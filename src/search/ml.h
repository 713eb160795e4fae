// The C ABI of skillrt's search models, implemented in Rust (src/search/ml/src/lib.rs) and
// built by scripts/build-search-ml.sh into a shared library. Only src/search/ includes this;
// the rest of skillrt sees the Embedder and TokenCounter interfaces of include/skillrt/search.h.
//
// Every function is safe to call from any thread; an embedder handle may be used by several
// threads at once (the model is immutable after loading). Strings returned through `err` are
// owned by the caller and freed with skillrt_ml_free_string.
#ifndef SKILLRT_SEARCH_ML_H_
#define SKILLRT_SEARCH_ML_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SkillrtMlEmbedder SkillrtMlEmbedder;

/// Makes a BERT sentence encoder from `dir` (config.json and tokenizer.json are read now;
/// model.onnx is run by the ONNX Runtime library at `runtime`, both opened at the first
/// skillrt_ml_embed). Returns null and sets `*err` when a file is missing or malformed.
SkillrtMlEmbedder* skillrt_ml_embedder_new(const char* dir, const char* runtime, char** err);

/// Frees an embedder; null is ignored.
void skillrt_ml_embedder_free(SkillrtMlEmbedder* embedder);

/// The embedding width (384 for all-MiniLM-L6-v2).
size_t skillrt_ml_embedder_dim(const SkillrtMlEmbedder* embedder);

/// Embeds `count` UTF-8 texts (`texts[i]`, `lens[i]` bytes, not NUL-terminated) into `out`,
/// which holds `count * dim` floats; each row has unit L2 norm (mean of the token vectors over
/// real tokens, then normalised). Texts past 256 WordPiece tokens are truncated. Returns 0, or
/// -1 with `*err` set (invalid UTF-8, the runtime or model cannot be loaded, a model failure).
int32_t skillrt_ml_embed(const SkillrtMlEmbedder* embedder, const char* const* texts,
                         const size_t* lens, size_t count, float* out, char** err);

/// The number of BPE tokens of `len` bytes of UTF-8 text under `encoding` (0: cl100k_base,
/// 1: o200k_base), special-token text counted as ordinary text. -1 for an unknown encoding or
/// invalid UTF-8.
int64_t skillrt_ml_count_tokens(int32_t encoding, const char* text, size_t len);

/// Frees a string returned through an `err` argument; null is ignored.
void skillrt_ml_free_string(char* s);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // SKILLRT_SEARCH_ML_H_
