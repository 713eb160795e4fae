// A deterministic stand-in for the sentence model, for tests: each lower-cased word of
// [a-z0-9]+ adds a fixed pseudo-random unit vector (seeded by the word's FNV-1a hash), and
// the sum is normalised. So texts sharing words are close, and results never change.
#ifndef SKILLRT_SEARCH_FAKE_EMBEDDER_H_
#define SKILLRT_SEARCH_FAKE_EMBEDDER_H_

#include <atomic>
#include <cstddef>
#include <string>

#include "skillrt/search.h"

namespace skillrt {

/// Thread-safe; counts calls so tests can prove what was (not) re-embedded.
class FakeEmbedder final : public Embedder {
 public:
  explicit FakeEmbedder(size_t dim = 64, std::string id = "fake/64") : dim_(dim), id_(id) {}
  size_t dim() const override { return dim_; }
  std::string model_id() const override { return id_; }
  Result<std::vector<float>> Embed(std::span<const std::string_view> texts) override;
  /// Texts embedded so far.
  size_t texts_embedded() const { return texts_embedded_.load(); }

 private:
  size_t dim_;
  std::string id_;
  std::atomic<size_t> texts_embedded_{0};
};

}  // namespace skillrt

#endif  // SKILLRT_SEARCH_FAKE_EMBEDDER_H_
