// A small JSON reader and writer (RFC 8259) for the C example skills compiled to WebAssembly.
// The reader builds a tree of JsonValue nodes owned by the caller (free it with JsonFree);
// the writer appends to a growable buffer. Not thread-safe; no global state.
#ifndef SKILLRT_EXAMPLES_JSON_H_
#define SKILLRT_EXAMPLES_JSON_H_

#include <stddef.h>

typedef enum {
  kJsonNull,
  kJsonBool,
  kJsonNumber,
  kJsonString,
  kJsonArray,
  kJsonObject,
} JsonType;

typedef struct JsonValue JsonValue;

/// One JSON value. Strings are UTF-8, NUL-terminated, with `length` bytes (they may hold NUL
/// bytes from \u0000). Arrays and objects keep their elements in order; object members have
/// `key` set (duplicates are kept; JsonGet returns the last).
struct JsonValue {
  JsonType type;
  int boolean;
  double number;
  char* string;
  size_t length;
  JsonValue** items;  ///< Array elements or object members.
  size_t count;
  char* key;  ///< The member name when this value is an object member, else NULL.
};

/// Parses `text` (`size` bytes) as one JSON document, surrounding whitespace allowed. Returns
/// the root, owned by the caller, or NULL with a message such as "byte 12: expected ':'" in
/// `error` (`error_size` bytes). Nesting deeper than 256 levels is refused.
JsonValue* JsonParse(const char* text, size_t size, char* error, size_t error_size);

/// Frees a tree returned by JsonParse; NULL is allowed.
void JsonFree(JsonValue* value);

/// The member `key` of `object`, or NULL when absent or when `object` is not an object.
const JsonValue* JsonGet(const JsonValue* object, const char* key);

/// A growable output buffer; zero-initialize it, append, then free(buffer.data).
typedef struct {
  char* data;  ///< NUL-terminated; NULL until the first append.
  size_t size;
  size_t capacity;
} JsonBuffer;

/// Appends raw text. Aborts when memory runs out (a skill has nothing better to do).
void JsonAppend(JsonBuffer* out, const char* text, size_t size);
/// Appends a NUL-terminated string as raw text.
void JsonAppendRaw(JsonBuffer* out, const char* text);
/// Appends `text` (`size` bytes of UTF-8) as a JSON string literal with quotes.
void JsonAppendString(JsonBuffer* out, const char* text, size_t size);
/// Appends a finite number in the shortest form that reads back to the same double
/// (integers without a fraction); non-finite values become null.
void JsonAppendNumber(JsonBuffer* out, double number);

#endif  // SKILLRT_EXAMPLES_JSON_H_
