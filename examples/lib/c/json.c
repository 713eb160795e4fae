// Implementation of json.h: a recursive-descent parser over the grammar of RFC 8259 section 2-7
// and a writer for its string and number forms.
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kMaxDepth = 256 };

typedef struct {
  const char* text;
  size_t size;
  size_t pos;
  char* error;
  size_t error_size;
  int failed;
} Parser;

// Records "byte <pos>: <what>" as the error. Formats by hand rather than with snprintf so that
// a module that never prints links no stdio (and imports nothing from WASI).
static void Fail(Parser* p, const char* what) {
  if (p->failed || p->error_size == 0) return;
  p->failed = 1;
  char digits[24];
  size_t n = 0;
  size_t pos = p->pos;
  do {
    digits[n++] = (char)('0' + pos % 10);
    pos /= 10;
  } while (pos);
  JsonBuffer message = {0};
  JsonAppendRaw(&message, "byte ");
  while (n) JsonAppend(&message, &digits[--n], 1);
  JsonAppendRaw(&message, ": ");
  JsonAppendRaw(&message, what);
  const size_t keep = message.size < p->error_size ? message.size : p->error_size - 1;
  memcpy(p->error, message.data, keep);
  p->error[keep] = '\0';
  free(message.data);
}

static void* Alloc(size_t size) {
  void* ptr = calloc(1, size ? size : 1);
  if (!ptr) abort();
  return ptr;
}

static void SkipSpace(Parser* p) {
  while (p->pos < p->size) {
    const char c = p->text[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++p->pos;
  }
}

static int Peek(Parser* p) { return p->pos < p->size ? (unsigned char)p->text[p->pos] : -1; }

static int Literal(Parser* p, const char* word) {
  const size_t n = strlen(word);
  if (p->size - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) return 0;
  p->pos += n;
  return 1;
}

// Appends code point `cp` as UTF-8.
static void PutUtf8(JsonBuffer* out, uint32_t cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  JsonAppend(out, b, n);
}

static int Hex4(Parser* p, uint32_t* out) {
  if (p->size - p->pos < 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p->text[p->pos + i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  p->pos += 4;
  *out = v;
  return 1;
}

// Parses a string literal at p->pos (the opening quote); returns it NUL-terminated.
static char* ParseString(Parser* p, size_t* length) {
  JsonBuffer out = {0};
  JsonAppend(&out, "", 0);
  ++p->pos;
  for (;;) {
    if (p->pos >= p->size) {
      Fail(p, "unterminated string");
      break;
    }
    const unsigned char c = (unsigned char)p->text[p->pos++];
    if (c == '"') break;
    if (c < 0x20) {
      --p->pos;
      Fail(p, "control character in string");
      break;
    }
    if (c != '\\') {
      JsonAppend(&out, (const char*)&c, 1);
      continue;
    }
    const int e = Peek(p);
    ++p->pos;
    const char* simple = NULL;
    switch (e) {
      case '"': simple = "\""; break;
      case '\\': simple = "\\"; break;
      case '/': simple = "/"; break;
      case 'b': simple = "\b"; break;
      case 'f': simple = "\f"; break;
      case 'n': simple = "\n"; break;
      case 'r': simple = "\r"; break;
      case 't': simple = "\t"; break;
      default: break;
    }
    if (simple) {
      JsonAppend(&out, simple, 1);
      continue;
    }
    uint32_t cp = 0, low = 0;
    if (e != 'u' || !Hex4(p, &cp)) {
      Fail(p, "invalid escape in string");
      break;
    }
    if (cp >= 0xD800 && cp < 0xDC00) {
      if (!Literal(p, "\\u") || !Hex4(p, &low) || low < 0xDC00 || low >= 0xE000) {
        Fail(p, "unpaired surrogate in string");
        break;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
      Fail(p, "unpaired surrogate in string");
      break;
    }
    PutUtf8(&out, cp);
  }
  *length = out.size;
  return out.data;
}

static JsonValue* ParseValue(Parser* p, int depth);

static void Push(JsonValue* parent, JsonValue* child) {
  if ((parent->count & (parent->count - 1)) == 0) {  // 0, 1, 2, 4, ...: grow to the next power.
    const size_t capacity = parent->count ? parent->count * 2 : 1;
    JsonValue** items = realloc(parent->items, capacity * sizeof *items);
    if (!items) abort();
    parent->items = items;
  }
  parent->items[parent->count++] = child;
}

static JsonValue* ParseContainer(Parser* p, int depth, int is_object) {
  JsonValue* v = Alloc(sizeof *v);
  v->type = is_object ? kJsonObject : kJsonArray;
  const char close = is_object ? '}' : ']';
  ++p->pos;
  SkipSpace(p);
  if (Peek(p) == close) {
    ++p->pos;
    return v;
  }
  for (;;) {
    SkipSpace(p);
    char* key = NULL;
    if (is_object) {
      size_t key_length = 0;
      if (Peek(p) != '"') {
        Fail(p, "expected a string key");
        break;
      }
      key = ParseString(p, &key_length);
      SkipSpace(p);
      if (p->failed || Peek(p) != ':') {
        free(key);
        Fail(p, "expected ':'");
        break;
      }
      ++p->pos;
    }
    JsonValue* item = ParseValue(p, depth + 1);
    if (!item) {
      free(key);
      break;
    }
    item->key = key;
    Push(v, item);
    SkipSpace(p);
    if (Peek(p) == ',') {
      ++p->pos;
      continue;
    }
    if (Peek(p) == close) {
      ++p->pos;
      return v;
    }
    Fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    break;
  }
  JsonFree(v);
  return NULL;
}

static JsonValue* ParseNumber(Parser* p) {
  const size_t start = p->pos;
  if (Peek(p) == '-') ++p->pos;
  if (Peek(p) == '0') {
    ++p->pos;
  } else if (Peek(p) >= '1' && Peek(p) <= '9') {
    while (Peek(p) >= '0' && Peek(p) <= '9') ++p->pos;
  } else {
    Fail(p, "invalid number");
    return NULL;
  }
  if (Peek(p) == '.') {
    ++p->pos;
    if (!(Peek(p) >= '0' && Peek(p) <= '9')) {
      Fail(p, "expected a digit after '.'");
      return NULL;
    }
    while (Peek(p) >= '0' && Peek(p) <= '9') ++p->pos;
  }
  if (Peek(p) == 'e' || Peek(p) == 'E') {
    ++p->pos;
    if (Peek(p) == '+' || Peek(p) == '-') ++p->pos;
    if (!(Peek(p) >= '0' && Peek(p) <= '9')) {
      Fail(p, "expected a digit in the exponent");
      return NULL;
    }
    while (Peek(p) >= '0' && Peek(p) <= '9') ++p->pos;
  }
  char digits[64];
  const size_t n = p->pos - start;
  if (n >= sizeof digits) {
    p->pos = start;
    Fail(p, "number too long");
    return NULL;
  }
  memcpy(digits, p->text + start, n);
  digits[n] = '\0';
  JsonValue* v = Alloc(sizeof *v);
  v->type = kJsonNumber;
  v->number = strtod(digits, NULL);
  return v;
}

static JsonValue* ParseValue(Parser* p, int depth) {
  SkipSpace(p);
  if (depth > kMaxDepth) {
    Fail(p, "nesting too deep");
    return NULL;
  }
  const int c = Peek(p);
  if (c == '{' || c == '[') return ParseContainer(p, depth, c == '{');
  if (c == '"') {
    JsonValue* v = Alloc(sizeof *v);
    v->type = kJsonString;
    v->string = ParseString(p, &v->length);
    if (p->failed) {
      JsonFree(v);
      return NULL;
    }
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(p);
  JsonValue* v = Alloc(sizeof *v);
  if (Literal(p, "true") || Literal(p, "false")) {
    v->type = kJsonBool;
    v->boolean = p->text[p->pos - 1] == 'e' && p->text[p->pos - 2] == 'u';
  } else if (Literal(p, "null")) {
    v->type = kJsonNull;
  } else {
    free(v);
    Fail(p, c < 0 ? "unexpected end of input" : "unexpected character");
    return NULL;
  }
  return v;
}

JsonValue* JsonParse(const char* text, size_t size, char* error, size_t error_size) {
  Parser p = {.text = text, .size = size, .error = error, .error_size = error_size};
  JsonValue* root = ParseValue(&p, 0);
  if (root) {
    SkipSpace(&p);
    if (p.pos != p.size) {
      Fail(&p, "trailing characters after the document");
      JsonFree(root);
      root = NULL;
    }
  }
  return root;
}

void JsonFree(JsonValue* value) {
  if (!value) return;
  for (size_t i = 0; i < value->count; ++i) JsonFree(value->items[i]);
  free(value->items);
  free(value->string);
  free(value->key);
  free(value);
}

const JsonValue* JsonGet(const JsonValue* object, const char* key) {
  if (!object || object->type != kJsonObject) return NULL;
  for (size_t i = object->count; i-- > 0;) {
    if (strcmp(object->items[i]->key, key) == 0) return object->items[i];
  }
  return NULL;
}

void JsonAppend(JsonBuffer* out, const char* text, size_t size) {
  if (out->size + size + 1 > out->capacity) {
    size_t capacity = out->capacity ? out->capacity : 64;
    while (capacity < out->size + size + 1) capacity *= 2;
    char* data = realloc(out->data, capacity);
    if (!data) abort();
    out->data = data;
    out->capacity = capacity;
  }
  memcpy(out->data + out->size, text, size);
  out->size += size;
  out->data[out->size] = '\0';
}

void JsonAppendRaw(JsonBuffer* out, const char* text) { JsonAppend(out, text, strlen(text)); }

void JsonAppendString(JsonBuffer* out, const char* text, size_t size) {
  JsonAppend(out, "\"", 1);
  size_t run = 0;  // Bytes that need no escape, appended in one piece.
  for (size_t i = 0; i < size; ++i) {
    const unsigned char c = (unsigned char)text[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    JsonAppend(out, text + run, i - run);
    run = i + 1;
    static const char kHex[] = "0123456789abcdef";
    const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
    switch (c) {
      case '"': JsonAppendRaw(out, "\\\""); break;
      case '\\': JsonAppendRaw(out, "\\\\"); break;
      case '\n': JsonAppendRaw(out, "\\n"); break;
      case '\r': JsonAppendRaw(out, "\\r"); break;
      case '\t': JsonAppendRaw(out, "\\t"); break;
      default: JsonAppend(out, escape, sizeof escape);
    }
  }
  JsonAppend(out, text + run, size - run);
  JsonAppend(out, "\"", 1);
}

void JsonAppendNumber(JsonBuffer* out, double number) {
  if (!isfinite(number)) {
    JsonAppendRaw(out, "null");
    return;
  }
  char text[32];
  if (number == floor(number) && fabs(number) < 1e15) {
    snprintf(text, sizeof text, "%.0f", number);
  } else {
    for (int precision = 1; precision <= 17; ++precision) {
      snprintf(text, sizeof text, "%.*g", precision, number);
      if (strtod(text, NULL) == number) break;
    }
  }
  JsonAppendRaw(out, text);
}
