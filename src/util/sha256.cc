#include "skillrt/sha256.h"

// GNU Nettle's SHA-256 and HMAC (FIPS 180-4, RFC 2104) rather than OpenSSL's libcrypto: these
// are the only primitives skillrt itself needs, and libcrypto costs every short command such as
// `skillrt exec` 1.5 MiB of resident memory and 17,000 relocations at start-up, while
// libnettle (part of every Debian system: apt and GnuTLS depend on it) is small. Nettle picks
// the SHA extensions of the CPU at load time where it has them.
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

namespace skillrt {

struct Sha256::Impl {
  sha256_ctx ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { sha256_init(&impl_->ctx); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::string_view data) {
  sha256_update(&impl_->ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
}

std::string Sha256::RawDigest() {
  std::string digest(SHA256_DIGEST_SIZE, '\0');
  sha256_digest(&impl_->ctx, digest.size(), reinterpret_cast<uint8_t*>(digest.data()));
  return digest;
}

std::string Sha256::HexDigest() {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string digest = RawDigest();
  std::string out;
  out.reserve(digest.size() * 2);
  for (const char c : digest) {
    const auto byte = static_cast<unsigned char>(c);
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

std::string Sha256Raw(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.RawDigest();
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  hmac_sha256_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  std::string mac(SHA256_DIGEST_SIZE, '\0');
  hmac_sha256_digest(&ctx, mac.size(), reinterpret_cast<uint8_t*>(mac.data()));
  return mac;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && memeql_sec(a.data(), b.data(), a.size()) != 0;
}

}  // namespace skillrt
