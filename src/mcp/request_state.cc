// Sealing and opening the requestState of approvals (request_state.h).
#include "mcp/request_state.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "skillrt/atomic_file.h"
#include "skillrt/sha256.h"

namespace skillrt::mcp {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (char c : hex.substr(i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else return std::nullopt;
    }
    out += static_cast<char>(value);
  }
  return out;
}

// The server's sealing key: made once, readable only by its owner, so that only this home's
// servers can seal or open a state.
Result<std::string> StateKey(const std::filesystem::path& home) {
  const std::filesystem::path path = home / "mcp-state.key";
  std::ifstream in(path, std::ios::binary);
  if (in) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) != 0) {
      return Fail(ErrorCode::kDenied, path.string() + " is readable by group or others");
    }
    std::string key((std::istreambuf_iterator<char>(in)), {});
    if (key.size() == 32) return key;
  }
  std::string key(32, '\0');
  if (::getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) {
    return FailErrno(ErrorCode::kIo, "getrandom", errno);
  }
  auto written = WriteFileAtomic(path, key, 0600);
  if (!written) return std::unexpected(written.error());
  return key;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::string> SealApprovalState(const std::filesystem::path& home,
                                      std::string_view approval_key,
                                      std::chrono::seconds lifetime) {
  auto key = StateKey(home);
  if (!key) return std::unexpected(key.error());
  const std::string payload =
      nlohmann::json{{"approval_key", approval_key}, {"expires", Now() + lifetime.count()}}
          .dump();
  return Hex(payload) + "." + Hex(HmacSha256(*key, payload));
}

Result<std::string> OpenApprovalState(const std::filesystem::path& home, std::string_view state) {
  auto key = StateKey(home);
  if (!key) return std::unexpected(key.error());
  const size_t dot = state.find('.');
  auto payload = Unhex(state.substr(0, dot));
  auto mac = dot == std::string_view::npos ? std::nullopt : Unhex(state.substr(dot + 1));
  if (!payload || !mac) return Fail(ErrorCode::kDenied, "requestState is malformed");
  const std::string expected = HmacSha256(*key, *payload);
  if (!ConstantTimeEqual(*mac, expected)) {
    return Fail(ErrorCode::kDenied, "requestState does not carry this server's seal");
  }
  const nlohmann::json fields = nlohmann::json::parse(*payload, nullptr, false);
  if (!fields.is_object() || !fields.value("approval_key", nlohmann::json()).is_string() ||
      !fields.value("expires", nlohmann::json()).is_number_integer()) {
    return Fail(ErrorCode::kDenied, "requestState is malformed");
  }
  if (fields["expires"].get<int64_t>() < Now()) {
    return Fail(ErrorCode::kDenied, "requestState has expired");
  }
  return fields["approval_key"].get<std::string>();
}

}  // namespace skillrt::mcp
