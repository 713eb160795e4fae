#include "engine/run_id.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include <array>
#include <cstdint>

namespace skillrt {

Result<std::string> NewRunId() {
  std::array<uint8_t, 8> random{};
  size_t filled = 0;
  while (filled < random.size()) {
    // Blocks only until the kernel's pool is initialised once after boot (getrandom(2)).
    ssize_t n = ::getrandom(random.data() + filled, random.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(ErrorCode::kIo, "getrandom(8 bytes)", errno);
    }
    filled += static_cast<size_t>(n);
  }
  time_t now = ::time(nullptr);
  struct tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, 32> stamp{};
  size_t len = ::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%S", &utc);

  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(stamp.data(), len);
  id += '-';
  for (uint8_t byte : random) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0xf];
  }
  return id;
}

bool IsValidRunId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace skillrt
