#include "util/utf8.h"

namespace skillrt {

int Utf8SequenceLength(std::string_view s) {
  auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  int need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // The range of the second byte.
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // No overlong forms.
    if (lead == 0xED) hi = 0x9F;  // No surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // No overlong forms.
    if (lead == 0xF4) hi = 0x8F;  // Nothing beyond U+10FFFF.
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<size_t>(i) >= s.size()) return -i;
    const unsigned char b = byte(static_cast<size_t>(i));
    const bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return -i;
  }
  return need + 1;
}

bool IsWellFormedUtf8(std::string_view s) {
  while (!s.empty()) {
    // ASCII runs are the common case: skip them without the table.
    if (static_cast<unsigned char>(s.front()) < 0x80) {
      s.remove_prefix(1);
      continue;
    }
    const int n = Utf8SequenceLength(s);
    if (n < 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace skillrt
