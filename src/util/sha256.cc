#include "skillrt/sha256.h"

// OpenSSL's SHA-256 functions themselves, not its EVP interface: the first EVP digest of a
// process fetches the default provider, which initialises the library (configuration file,
// error strings, every algorithm's table), about 1 ms and 2 MiB of a short command such as
// `skillrt exec`. SHA256_Init/Update/Final run the same implementation (FIPS 180-4, with
// OpenSSL's assembly for this CPU) without that machinery. OpenSSL 3 marks them deprecated
// for new code that should pick algorithms at run time; a fixed SHA-256 needs no such choice.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace skillrt {

struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { SHA256_Init(&impl_->ctx); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::string_view data) {
  SHA256_Update(&impl_->ctx, data.data(), data.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &impl_->ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(sizeof(digest) * 2);
  for (unsigned char byte : digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.HexDigest();
}

}  // namespace skillrt
