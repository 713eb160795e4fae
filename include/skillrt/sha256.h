// SHA-256 through OpenSSL's own SHA-256 functions (sha256.cc says why not EVP).
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// sha256 of `data`, lower-case hex.
std::string Sha256Hex(std::string_view data);

}  // namespace skillrt

#endif  // SKILLRT_SHA256_H_
