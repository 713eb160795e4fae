#include "search/fake_embedder.h"

#include <cctype>
#include <cmath>
#include <cstdint>

namespace skillrt {

Result<std::vector<float>> FakeEmbedder::Embed(std::span<const std::string_view> texts) {
  std::vector<float> out(texts.size() * dim_, 0.0f);
  for (size_t row = 0; row < texts.size(); ++row) {
    float* v = &out[row * dim_];
    std::string_view text = texts[row];
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && !std::isalnum(static_cast<unsigned char>(text[i]))) ++i;
      uint64_t hash = 1469598103934665603ull;  // FNV-1a offset basis.
      size_t start = i;
      while (i < text.size() && std::isalnum(static_cast<unsigned char>(text[i]))) {
        hash = (hash ^ static_cast<unsigned char>(std::tolower(text[i]))) * 1099511628211ull;
        ++i;
      }
      if (i == start) break;
      uint64_t state = hash;
      for (size_t d = 0; d < dim_; ++d) {  // xorshift64: a fixed sequence per word.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v[d] += static_cast<float>(static_cast<int64_t>(state % 2001) - 1000) / 1000.0f;
      }
    }
    double norm = 0;
    for (size_t d = 0; d < dim_; ++d) norm += double(v[d]) * v[d];
    if (norm == 0) {
      v[0] = 1.0f;  // Text without words: a fixed unit vector.
      continue;
    }
    float scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (size_t d = 0; d < dim_; ++d) v[d] *= scale;
  }
  texts_embedded_ += texts.size();
  return out;
}

}  // namespace skillrt
