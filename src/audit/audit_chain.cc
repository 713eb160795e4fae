// The audit log's hash chain: record hashes, the last line, the head file (audit_chain.h).
#include "audit/audit_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "audit/canonical_json.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"

namespace skillrt::audit {
namespace {

// How much of the file's end the first pread(2) looks at: more than a typical record.
constexpr off_t kFirstTailWindowBytes = 4096;

Result<std::string> PreadAll(int fd, off_t offset, size_t length, const std::string& path) {
  std::string buf(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf.data() + done, length - done,
                        offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "pread(" + path + ")", errno);
    if (n == 0) break;  // Shrunk under us: only by a writer that ignores the lock.
    done += static_cast<size_t>(n);
  }
  buf.resize(done);
  return buf;
}

bool IsHexDigest(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

FileLock::~FileLock() {
  if (locked_) ::flock(fd_, LOCK_UN);
}

Result<void> FileLock::Lock(int operation, const std::string& path) {
  while (::flock(fd_, operation) != 0) {
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "flock(" + path + ")", errno);
  }
  locked_ = true;
  return {};
}

std::optional<ChainFields> ReadChainFields(const nlohmann::json& record) {
  if (!record.is_object()) return std::nullopt;
  auto seq = record.find("seq");
  auto prev = record.find("prev");
  auto hash = record.find("hash");
  if (seq == record.end() || prev == record.end() || hash == record.end()) return std::nullopt;
  if (!seq->is_number_unsigned() || seq->get<uint64_t>() == 0) return std::nullopt;
  if (!prev->is_string() || !hash->is_string()) return std::nullopt;
  return ChainFields{.seq = seq->get<uint64_t>(),
                     .prev = prev->get<std::string>(),
                     .hash = hash->get<std::string>()};
}

namespace {

// nlohmann::json's SAX interface: keeps `seq`, `prev` and `hash` of the top-level object.
class ChainFieldsSax {
 public:
  using number_integer_t = nlohmann::json::number_integer_t;
  using number_unsigned_t = nlohmann::json::number_unsigned_t;
  using number_float_t = nlohmann::json::number_float_t;
  using string_t = nlohmann::json::string_t;
  using binary_t = nlohmann::json::binary_t;

  // Each member's value, as ReadChainFields would judge it: right type or not.
  std::optional<uint64_t> seq;
  std::optional<std::string> prev, hash;
  bool is_object = false;

  bool null() { return Value(); }
  bool boolean(bool) { return Value(); }
  bool number_integer(number_integer_t) { return Value(); }
  bool number_unsigned(number_unsigned_t n) {
    if (AtTop() && key_ == "seq") {
      seq = n;
      key_.clear();
      return true;
    }
    return Value();
  }
  bool number_float(number_float_t, const string_t&) { return Value(); }
  bool string(string_t& text) {
    if (AtTop() && (key_ == "prev" || key_ == "hash")) {
      (key_ == "prev" ? prev : hash) = std::move(text);
      key_.clear();
      return true;
    }
    return Value();
  }
  bool binary(binary_t&) { return Value(); }
  bool start_object(std::size_t) {
    if (depth_ == 0) is_object = true;
    Value();
    ++depth_;
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    Value();
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(string_t& name) {
    if (depth_ == 1) key_ = std::move(name);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  bool AtTop() const { return depth_ == 1; }
  // A value of another type under one of the three names replaces what was kept (the last
  // member of a name is the one parse() keeps).
  bool Value() {
    if (AtTop()) {
      if (key_ == "seq") seq.reset();
      if (key_ == "prev") prev.reset();
      if (key_ == "hash") hash.reset();
      key_.clear();
    }
    return true;
  }

  int depth_ = 0;
  std::string key_;  // The top-level member whose value comes next.
};

}  // namespace

std::optional<ChainFields> ReadChainFieldsOfLine(std::string_view line) {
  ChainFieldsSax sax;
  if (!nlohmann::json::sax_parse(line, &sax, nlohmann::json::input_format_t::json,
                                 /*strict=*/true) ||
      !sax.is_object || !sax.seq || *sax.seq == 0 || !sax.prev || !sax.hash) {
    return std::nullopt;
  }
  return ChainFields{.seq = *sax.seq, .prev = std::move(*sax.prev), .hash = std::move(*sax.hash)};
}

std::string RecordHash(const nlohmann::json& record) {
  if (!record.contains("hash")) return Sha256Hex(CanonicalJson(record));
  nlohmann::json without = record;
  without.erase("hash");
  return Sha256Hex(CanonicalJson(without));
}

Result<std::string> ReadLastLine(int fd, off_t size, const std::string& path, bool* terminated) {
  *terminated = true;
  if (size <= 0) return std::string();
  off_t window = kFirstTailWindowBytes;
  for (;;) {
    off_t start = std::max<off_t>(0, size - window);
    auto buf = PreadAll(fd, start, static_cast<size_t>(size - start), path);
    if (!buf) return buf;
    if (buf->empty()) return std::string();
    *terminated = buf->back() == '\n';
    size_t end = buf->size() - (*terminated ? 1 : 0);
    size_t newline = end == 0 ? std::string::npos : buf->rfind('\n', end - 1);
    if (newline != std::string::npos) return buf->substr(newline + 1, end - newline - 1);
    if (start == 0) return buf->substr(0, end);
    window *= 4;  // The last line is longer than the window: look further back.
  }
}

Result<std::optional<ChainState>> ReadHead(const std::filesystem::path& head) {
  UniqueFd fd(::open(head.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<ChainState>();
    return FailErrno(ErrorCode::kIo, "open(" + head.string() + ")", errno);
  }
  // A head file is one short line; anything longer is not one.
  auto text = PreadAll(fd.get(), 0, 1024, head.string());
  if (!text) return std::unexpected(text.error());
  nlohmann::json value = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (value.is_object()) {
    auto seq = value.find("seq");
    auto hash = value.find("hash");
    if (seq != value.end() && seq->is_number_unsigned() && hash != value.end() &&
        hash->is_string() && IsHexDigest(hash->get<std::string>())) {
      return std::optional<ChainState>(
          ChainState{.seq = seq->get<uint64_t>(), .hash = hash->get<std::string>()});
    }
  }
  return Fail(ErrorCode::kParse,
              head.string() + ": not an audit head (expected {\"hash\":\"<64 hex>\",\"seq\":N})");
}

bool IsInterruptedAppend(const ChainState& head, const ChainState& log,
                         std::string_view last_line) {
  if (head.seq + 1 != log.seq) return false;
  auto fields = ReadChainFieldsOfLine(last_line);
  return fields && fields->seq == log.seq && fields->prev == head.hash;
}

Result<void> WriteHead(const std::filesystem::path& head, const ChainState& state) {
  // One fixed-size block of text, rewritten where it is: the file keeps its length and its
  // disk block after the first record, so an append neither frees nor allocates a block
  // (replacing the file by rename freed one each time: on a filesystem mounted with
  // `discard`, a synchronous discard request to the device per record). Readers hold the
  // log's lock (the caller holds it exclusively), so none sees half of it; the text fits
  // one 512-byte sector, which a device writes whole, so a crash leaves the old head or
  // the new one.
  std::string text = CanonicalJson({{"seq", state.seq}, {"hash", state.hash}});
  if (text.size() >= kHeadBytes) {
    return Fail(ErrorCode::kInternal, "audit head longer than " + std::to_string(kHeadBytes));
  }
  text.resize(kHeadBytes - 1, ' ');  // JSON allows trailing whitespace.
  text.push_back('\n');
  UniqueFd fd(::open(head.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + head.string() + ")", errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pwrite(fd.get(), text.data() + done, text.size() - done,
                               static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return FailErrno(ErrorCode::kIo, "write(" + head.string() + ")", n < 0 ? errno : EIO);
    }
    done += static_cast<size_t>(n);
  }
  // A head written by an earlier version may be longer than the block: cut what follows.
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && st.st_size > static_cast<off_t>(kHeadBytes) &&
      ::ftruncate(fd.get(), static_cast<off_t>(kHeadBytes)) != 0) {
    return FailErrno(ErrorCode::kIo, "ftruncate(" + head.string() + ")", errno);
  }
  return {};
}

}  // namespace skillrt::audit
