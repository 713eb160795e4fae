// RFC 8785 JSON canonicalization (src/audit/canonical_json.h).
#include "audit/canonical_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "util/json_pointer.h"
#include "util/utf8.h"

namespace skillrt {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8.

// 2^53: the largest magnitude up to which every integer is exactly a double.
constexpr uint64_t kMaxExactInteger = uint64_t{1} << 53;

// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD; sets `*valid` to false if any.
std::string WellFormedUtf8(std::string_view s, bool* valid) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    int n = Utf8SequenceLength(s);
    if (n > 0) {
      out.append(s.substr(0, static_cast<size_t>(n)));
      s.remove_prefix(static_cast<size_t>(n));
    } else {
      *valid = false;
      out.append(kReplacement);
      s.remove_prefix(static_cast<size_t>(-n));
    }
  }
  return out;
}

// The UTF-16 code units of well-formed UTF-8 `s`: the order RFC 8785 section 3.2.3 sorts by.
std::u16string Utf16(std::string_view s) {
  std::u16string out;
  size_t i = 0;
  while (i < s.size()) {
    auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
    uint32_t cp = 0;
    int n = Utf8SequenceLength(s.substr(i));
    switch (n) {
      case 1: cp = b(i); break;
      case 2: cp = ((b(i) & 0x1F) << 6) | (b(i + 1) & 0x3F); break;
      case 3: cp = ((b(i) & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F); break;
      case 4:
        cp = ((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
             (b(i + 3) & 0x3F);
        break;
      default: cp = 0xFFFD; n = 1; break;  // Not reached: callers pass well-formed text.
    }
    i += static_cast<size_t>(n);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

// Appends `s` (well-formed UTF-8) as a JSON string by RFC 8785 section 3.2.2.2.
void AppendString(std::string_view s, std::string* out) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out->push_back('"');
  size_t run = 0;  // Start of the bytes not yet appended, which need no escape.
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool plain = c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
    if (plain) continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[static_cast<unsigned char>(c) >> 4]);
        out->push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
}

// True when the members of an object whose names are all well-formed UTF-8 are already in
// RFC 8785 order in nlohmann::json's (byte order, which for UTF-8 is code point order): the
// two orders differ only where a name holds a code point from U+E000 (lead byte 0xEE and up),
// which UTF-16 sorts after the surrogates of code points from U+10000.
bool ByteOrderIsUtf16Order(std::string_view name) {
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0xEE) return false;
  }
  return true;
}

// Where a value is, as a chain up to the root (null), spelled as an RFC 6901 pointer
// ("/a/0/b~1c") only when an error names it.
struct Place {
  const Place* parent;
  std::string_view name = {};  // The member's name; empty with `index` for an array element.
  size_t index = 0;
  bool is_index = false;

  static std::string Pointer(const Place* place) {
    std::string out;
    for (; place != nullptr; place = place->parent) {
      out.insert(0, "/" + (place->is_index ? std::to_string(place->index)
                                            : JsonPointerToken(place->name)));
    }
    return out;
  }
};

class Writer {
 public:
  explicit Writer(bool strict) : strict_(strict) {}

  void Write(const nlohmann::json& value, const Place* pointer) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
      case Type::null:
      case Type::discarded:
        out_.append("null");
        break;
      case Type::boolean:
        out_.append(value.get<bool>() ? "true" : "false");
        break;
      case Type::number_integer: {
        int64_t n = value.get<int64_t>();
        uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
        if (magnitude > kMaxExactInteger) Reject(pointer, "integer beyond 2^53");
        out_.append(std::to_string(n));
        break;
      }
      case Type::number_unsigned: {
        uint64_t n = value.get<uint64_t>();
        if (n > kMaxExactInteger) Reject(pointer, "integer beyond 2^53");
        out_.append(std::to_string(n));
        break;
      }
      case Type::number_float: {
        double d = value.get<double>();
        if (!std::isfinite(d)) {
          Reject(pointer, "non-finite number");
          out_.append("null");
        } else {
          out_.append(EcmaScriptNumber(d));
        }
        break;
      }
      case Type::string: {
        std::string replaced;
        AppendString(Checked(value.get_ref<const std::string&>(), pointer, &replaced), &out_);
        break;
      }
      case Type::binary:
        // Not produced by parsing JSON text; written as nlohmann::json would (an object).
        Write(nlohmann::json{{"bytes", value.get_binary()}, {"subtype", nullptr}}, pointer);
        break;
      case Type::array: {
        out_.push_back('[');
        size_t index = 0;
        for (const auto& item : value) {
          if (index > 0) out_.push_back(',');
          const Place element{.parent = pointer, .index = index++, .is_index = true};
          Write(item, &element);
        }
        out_.push_back(']');
        break;
      }
      case Type::object: {
        out_.push_back('{');
        bool first = true;
        auto write_member = [&](std::string_view name, const nlohmann::json& item) {
          if (!first) out_.push_back(',');
          first = false;
          AppendString(name, &out_);
          out_.push_back(':');
          const Place member{.parent = pointer, .name = name};
          Write(item, &member);
        };
        // Names are well-formed and in order as they are, or the object is sorted here.
        bool in_order = true;
        for (const auto& [name, item] : value.items()) {
          if (!IsWellFormedUtf8(name) || !ByteOrderIsUtf16Order(name)) {
            in_order = false;
            break;
          }
        }
        if (in_order) {
          for (const auto& [name, item] : value.items()) write_member(name, item);
        } else {
          struct Member {
            std::u16string sort_key;
            std::string name;
            const nlohmann::json* value;
          };
          std::vector<Member> members;
          members.reserve(value.size());
          for (const auto& [name, item] : value.items()) {
            std::string replaced;
            const Place member{.parent = pointer, .name = name};
            std::string clean(Checked(name, &member, &replaced));
            members.push_back({Utf16(clean), std::move(clean), &item});
          }
          std::stable_sort(
              members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.sort_key < b.sort_key; });
          for (const Member& m : members) write_member(m.name, *m.value);
        }
        out_.push_back('}');
        break;
      }
    }
  }

  std::string& out() { return out_; }
  const std::optional<std::string>& error() const { return error_; }

 private:
  // `s` if it is well-formed UTF-8; else its replacement, made in `*replaced`, with the
  // string rejected.
  std::string_view Checked(std::string_view s, const Place* pointer,
                           std::string* replaced) {
    if (IsWellFormedUtf8(s)) return s;
    bool valid = true;
    *replaced = WellFormedUtf8(s, &valid);
    Reject(pointer, "string is not valid UTF-8");
    return *replaced;
  }

  void Reject(const Place* place, std::string_view what) {
    if (strict_ && !error_) {
      const std::string pointer = Place::Pointer(place);
      error_ = "canonical JSON: " + (pointer.empty() ? std::string("/") : pointer) + ": " +
               std::string(what);
    }
  }

  bool strict_;
  std::string out_;
  std::optional<std::string> error_;
};

}  // namespace

std::string EcmaScriptNumber(double value) {
  if (value == 0) return "0";  // Both +0 and -0.
  // Shortest digits that read back as `value`, closest to it when several are shortest
  // (C++17 to_chars, like ECMA-262's choice of k and s), in the form "d.ddde[+-]x".
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value,
                                 std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<size_t>(end - buf.data()));
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);

  // ECMA-262 Number::toString: value = 0.digits * 10^n, with k = the number of digits.
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out += '.';
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string CanonicalJson(const nlohmann::json& value) {
  Writer writer(/*strict=*/false);
  writer.Write(value, nullptr);
  return std::move(writer.out());
}

Result<std::string> CanonicalJsonStrict(const nlohmann::json& value) {
  Writer writer(/*strict=*/true);
  writer.Write(value, nullptr);
  if (writer.error()) return Fail(ErrorCode::kInvalidArgument, *writer.error());
  return std::move(writer.out());
}

}  // namespace skillrt
