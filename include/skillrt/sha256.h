// SHA-256 and HMAC-SHA-256, through GNU Nettle (sha256.cc says why not OpenSSL).
#ifndef SKILLRT_SHA256_H_
#define SKILLRT_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace skillrt {

/// Incremental SHA-256 (FIPS 180-4). Not thread-safe; one per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  /// Feeds `data` into the digest.
  void Update(std::string_view data);

  /// Finishes and returns the lower-case hex digest; the object may not be used after.
  std::string HexDigest();

  /// Finishes and returns the 32 bytes of the digest; the object may not be used after.
  std::string RawDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// sha256 of `data`, lower-case hex.
std::string Sha256Hex(std::string_view data);

/// sha256 of `data`, its 32 bytes.
std::string Sha256Raw(std::string_view data);

/// HMAC-SHA-256 (RFC 2104, FIPS 198-1) of `data` under `key` (any length): 32 bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

/// True when `a` and `b` are equal, in a time that depends on their sizes only, not on where
/// they differ (for comparing secrets: tokens, MACs). Unequal sizes are unequal at once.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace skillrt

#endif  // SKILLRT_SHA256_H_
