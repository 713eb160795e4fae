// The MiniLM embedder (Rust and ONNX Runtime, through src/search/ml.h) and BPE token counts,
// both from the search model library loaded at their first use (search/ml_api.h).
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "search/ml_api.h"
#include "skillrt/search.h"

#ifndef SKILLRT_SEARCH_MODEL_DIR
#error "SKILLRT_SEARCH_MODEL_DIR must name the model directory the setup step installs"
#endif
#ifndef SKILLRT_ONNXRUNTIME_LIB
#error "SKILLRT_ONNXRUNTIME_LIB must name the libonnxruntime.so the setup step installs"
#endif

namespace skillrt {
namespace {

// Owns a message returned by the Rust side.
std::string TakeMessage(const SearchMlApi& ml, char* message) {
  std::string text = message != nullptr ? message : "unknown error";
  ml.free_string(message);
  return text;
}

struct EmbedderDeleter {
  const SearchMlApi* ml;  // The process-wide table (LoadSearchMl), never freed.
  void operator()(SkillrtMlEmbedder* e) const { ml->embedder_free(e); }
};

class MiniLmEmbedder final : public Embedder {
 public:
  MiniLmEmbedder(std::unique_ptr<SkillrtMlEmbedder, EmbedderDeleter> handle, std::string id)
      : handle_(std::move(handle)),
        id_(std::move(id)),
        dim_(handle_.get_deleter().ml->embedder_dim(handle_.get())) {}

  size_t dim() const override { return dim_; }
  std::string model_id() const override { return id_; }

  Result<std::vector<float>> Embed(std::span<const std::string_view> texts) override {
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    pointers.reserve(texts.size());
    lengths.reserve(texts.size());
    for (std::string_view text : texts) {
      pointers.push_back(text.data());
      lengths.push_back(text.size());
    }
    std::vector<float> out(texts.size() * dim_);
    char* err = nullptr;
    const SearchMlApi& ml = *handle_.get_deleter().ml;
    if (ml.embed(handle_.get(), pointers.data(), lengths.data(), texts.size(), out.data(), &err) !=
        0) {
      return Fail(ErrorCode::kInternal, "embedding: " + TakeMessage(ml, err));
    }
    return out;
  }

 private:
  std::unique_ptr<SkillrtMlEmbedder, EmbedderDeleter> handle_;
  std::string id_;
  size_t dim_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> OpenMiniLmEmbedder(const std::filesystem::path& model_dir) {
  for (const char* file : {"config.json", "tokenizer.json", "model.onnx"}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model_dir / file, ec)) {
      return Fail(ErrorCode::kNotFound,
                  "search model: no " + (model_dir / file).string() +
                      " (scripts/build-search-ml.sh installs the model; $SKILLRT_SEARCH_MODEL "
                      "names another directory)");
    }
  }
  const std::filesystem::path runtime = DefaultOnnxRuntimeLibrary();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(runtime, ec)) {
    return Fail(ErrorCode::kNotFound,
                "search model: no ONNX Runtime library " + runtime.string() +
                    " (scripts/build-search-ml.sh installs it; $SKILLRT_ONNXRUNTIME names "
                    "another)");
  }
  auto ml = LoadSearchMl();
  if (!ml) return std::unexpected(ml.error());
  // The runtime is opened with dlopen at the first Embed(), not here: a search that needs
  // no vector (bm25 without reranking) and a process that never searches do not load it.
  char* err = nullptr;
  std::unique_ptr<SkillrtMlEmbedder, EmbedderDeleter> handle(
      (*ml)->embedder_new(model_dir.c_str(), runtime.c_str(), &err), EmbedderDeleter{*ml});
  if (!handle) return Fail(ErrorCode::kParse, "search model: " + TakeMessage(**ml, err));
  // The id keys the index: a different model (or width) makes the stored vectors useless.
  // The weights are the int8 ones of the ONNX file (dequantised at load), which give slightly
  // different vectors from the fp32 ones an older index was built with.
  std::string id = "all-MiniLM-L6-v2/onnx-int8w/mean/" +
                   std::to_string((*ml)->embedder_dim(handle.get()));
  return std::make_unique<MiniLmEmbedder>(std::move(handle), std::move(id));
}

std::filesystem::path DefaultSearchModelDir() {
  const char* env = std::getenv("SKILLRT_SEARCH_MODEL");
  if (env != nullptr && *env != '\0') return env;
  return SKILLRT_SEARCH_MODEL_DIR;
}

std::filesystem::path DefaultOnnxRuntimeLibrary() {
  const char* env = std::getenv("SKILLRT_ONNXRUNTIME");
  if (env != nullptr && *env != '\0') return env;
  return SKILLRT_ONNXRUNTIME_LIB;
}

Result<size_t> CountTokens(std::string_view text, TokenEncoding encoding) {
  auto ml = LoadSearchMl();
  if (!ml) return std::unexpected(ml.error());
  int32_t id = encoding == TokenEncoding::kO200kBase ? 1 : 0;
  int64_t n = (*ml)->count_tokens(id, text.data(), text.size());
  if (n < 0) return Fail(ErrorCode::kInvalidArgument, "token count: text is not UTF-8");
  return static_cast<size_t>(n);
}

}  // namespace skillrt
