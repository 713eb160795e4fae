// slugify: turns a title into a URL slug, as a WebAssembly component of the skillrt world
// (wit/skillrt.wit: `export run: func(input: string) -> result<string, string>`).
//
// The component's core module is this file linked without a C runtime entry point: it imports
// nothing, and exports what the component model's canonical ABI asks of it for that world
// (Component Model, CanonicalABI.md): `memory`, `cabi_realloc`, `run` and `cabi_post_run`.
// `run` receives the input string as (pointer, length) in this module's memory, allocated by
// the host through cabi_realloc, and returns a pointer to the flattened result:
//   offset 0: u8 discriminant (0 ok, 1 err); offset 4: string pointer; offset 8: length.
// After copying the result out, the host calls cabi_post_run with that pointer.
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { kDefaultMaxLength = 80, kMaxMaxLength = 1000, kMaxSeparator = 3 };

// ASCII spellings of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A):
// the base letter of the canonical decomposition, or a conventional spelling for letters
// that have none (Æ -> AE, ß -> ss, Ł -> L, Þ -> TH); "" for × and ÷.
static const char* const kLatin[] = {
  "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I", "D", "N", "O",
  "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "ss", "a", "a", "a", "a", "a", "a",
  "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", "", "o",
  "u", "u", "u", "u", "y", "th", "y", "A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c",
  "C", "c", "D", "d", "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G",
  "g", "G", "g", "G", "g", "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i", "I", "i",
  "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L", "l", "L", "l", "N",
  "n", "N", "n", "N", "n", "n", "N", "n", "O", "o", "O", "o", "O", "o", "OE", "oe", "R", "r",
  "R", "r", "R", "r", "S", "s", "S", "s", "S", "s", "S", "s", "T", "t", "T", "t", "T", "t", "U",
  "u", "U", "u", "U", "u", "U", "u", "U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z",
  "z", "Z", "z", "s"};
enum { kLatinFirst = 0xC0, kLatinCount = sizeof kLatin / sizeof kLatin[0] };

// Decodes one UTF-8 sequence at `s` (`n` bytes left); returns its length and sets `*cp`, or
// returns 1 with *cp = 0xFFFD for a malformed byte.
static size_t DecodeUtf8(const unsigned char* s, size_t n, uint32_t* cp) {
  size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (len == 0 || len > n) {
    *cp = 0xFFFD;
    return 1;
  }
  uint32_t v = len == 1 ? s[0] : s[0] & (0x7F >> len);
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return 1;
    }
    v = v << 6 | (s[i] & 0x3F);
  }
  *cp = v;
  return len;
}

typedef struct {
  const char* separator;
  size_t max_length;
  int lowercase;
} Options;

// Writes the slug of `text` to `out`; returns 1 when it was cut at max_length.
static int Slugify(const char* text, size_t size, const Options* options, JsonBuffer* out) {
  const size_t sep_len = strlen(options->separator);
  int pending_separator = 0, truncated = 0;
  size_t last_word_end = 0;  // Length of the slug after its last complete word.
  JsonAppend(out, "", 0);
  for (size_t i = 0; i < size;) {
    uint32_t cp = 0;
    i += DecodeUtf8((const unsigned char*)text + i, size - i, &cp);
    char ascii[4] = {0};
    const char* piece = ascii;
    if (cp < 0x80 && isalnum((int)cp)) {
      ascii[0] = (char)cp;
    } else if (cp >= kLatinFirst && cp - kLatinFirst < kLatinCount) {
      piece = kLatin[cp - kLatinFirst];
    } else if (cp == '\'' || cp == 0x2019) {
      continue;  // Apostrophes join: "don't" -> "dont".
    }
    if (*piece == '\0') {
      pending_separator = out->size > 0;
      continue;
    }
    const size_t needed = strlen(piece) + (pending_separator ? sep_len : 0);
    if (out->size + needed > options->max_length) {
      truncated = 1;
      break;
    }
    if (pending_separator) {
      last_word_end = out->size;
      JsonAppend(out, options->separator, sep_len);
      pending_separator = 0;
    }
    for (const char* c = piece; *c; ++c) {
      const char letter = options->lowercase ? (char)tolower((unsigned char)*c) : *c;
      JsonAppend(out, &letter, 1);
    }
  }
  // A cut in the middle of a word drops that word, unless it is the only one.
  if (truncated && last_word_end > 0) {
    out->size = last_word_end;
    out->data[out->size] = '\0';
  }
  return truncated;
}

// Runs the skill on one input document; returns 1 with the output JSON in `result`, or 0 with
// an error message in it.
static int RunSkill(const char* input, size_t size, JsonBuffer* result) {
  char error[200];
  JsonValue* root = JsonParse(input, size, error, sizeof error);
  if (!root) {
    JsonAppendRaw(result, "input: invalid JSON at ");
    JsonAppendRaw(result, error);
    return 0;
  }
  const JsonValue* text = JsonGet(root, "text");
  const JsonValue* separator = JsonGet(root, "separator");
  const JsonValue* max_length = JsonGet(root, "max_length");
  const JsonValue* lowercase = JsonGet(root, "lowercase");
  Options options = {.separator = "-", .max_length = kDefaultMaxLength, .lowercase = 1};
  const char* problem = NULL;
  if (root->type != kJsonObject) {
    problem = "input: expected an object";
  } else if (!text || text->type != kJsonString) {
    problem = "text: required, a string";
  } else if (separator && (separator->type != kJsonString || separator->length > kMaxSeparator)) {
    problem = "separator: expected a string of at most 3 characters";
  } else if (max_length &&
             (max_length->type != kJsonNumber || max_length->number < 1 ||
              max_length->number > kMaxMaxLength ||
              max_length->number != (double)(size_t)max_length->number)) {
    problem = "max_length: expected an integer from 1 to 1000";
  } else if (lowercase && lowercase->type != kJsonBool) {
    problem = "lowercase: expected true or false";
  }
  if (!problem && separator) {
    for (size_t i = 0; i < separator->length; ++i) {
      const unsigned char c = (unsigned char)separator->string[i];
      if (c < 0x21 || c > 0x7E || isalnum(c)) {
        problem = "separator: only ASCII punctuation is allowed";
        break;
      }
    }
    options.separator = separator->string;
  }
  if (problem) {
    JsonAppendRaw(result, problem);
    JsonFree(root);
    return 0;
  }
  if (max_length) options.max_length = (size_t)max_length->number;
  if (lowercase) options.lowercase = lowercase->boolean;

  JsonBuffer slug = {0};
  const int truncated = Slugify(text->string, text->length, &options, &slug);
  JsonAppendRaw(result, "{\"slug\": ");
  JsonAppendString(result, slug.data, slug.size);
  JsonAppendRaw(result, truncated ? ", \"truncated\": true}" : ", \"truncated\": false}");
  free(slug.data);
  JsonFree(root);
  return 1;
}

// --- Canonical ABI exports -------------------------------------------------------------------

__attribute__((export_name("cabi_realloc"))) void* CabiRealloc(void* old, size_t old_size,
                                                                size_t align, size_t new_size) {
  (void)old_size;
  (void)align;  // malloc's 16-byte alignment covers every alignment the ABI asks for.
  if (new_size == 0) return (void*)align;  // Never dereferenced; no allocation needed.
  void* ptr = realloc(old, new_size);
  if (!ptr) __builtin_trap();
  return ptr;
}

static struct {
  uint8_t discriminant;
  uint8_t padding[3];
  char* ptr;
  size_t len;
} return_area;

__attribute__((export_name("run"))) void* Run(char* input, size_t size) {
  JsonBuffer result = {0};
  const int ok = RunSkill(input, size, &result);
  if (size > 0) free(input);  // Lifted arguments belong to the callee; see CabiRealloc for 0.
  return_area.discriminant = ok ? 0 : 1;
  return_area.ptr = result.data;
  return_area.len = result.size;
  return &return_area;
}

__attribute__((export_name("cabi_post_run"))) void CabiPostRun(void* ret) {
  (void)ret;
  free(return_area.ptr);
  return_area.ptr = NULL;
}
