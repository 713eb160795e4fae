// HTTP component probe: a component of the skillrt world (wit/skillrt.wit) that makes the
// requests its input lists through the imported interface `skillrt:skill/http@0.1.0` and
// returns what came back. Input: {"requests": [{"method": "GET", "url": "...", "body": "...",
// "headers": "Name: value\n..."}]}. Output: {"results": [{"ok": true, "status": 200,
// "body": "...", "content_type": "...", "headers": N} or {"ok": false, "kind": "denied",
// "message": "..."}]}.
//
// Canonical ABI (Component Model, CanonicalABI.md) by hand: `send` takes the request record
// flattened to eight i32s (method, url, headers, body: strings, as pointer and length each)
// plus a pointer to a 24-byte return area; the result's lists and strings are allocated in
// this module's memory by the host through cabi_realloc and belong to this module afterwards.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

typedef struct {
  const char* ptr;
  size_t len;
} Str;

typedef struct {
  Str name;
  Str value;
} Header;

// result<response, error>: discriminant at 0, payload at 4.
typedef struct {
  uint8_t is_err;
  uint8_t pad[3];
  union {
    struct {
      uint16_t status;
      uint16_t pad;
      Header* headers;
      size_t headers_len;
      char* body;
      size_t body_len;
    } ok;
    struct {
      uint8_t kind;  // error-kind: invalid, denied, failed, timeout, too-large, not-text.
      uint8_t pad[3];
      char* message;
      size_t message_len;
    } err;
  } u;
} SendResult;

_Static_assert(sizeof(SendResult) == 24, "the return area of send is 24 bytes");

__attribute__((import_module("skillrt:skill/http@0.1.0"), import_name("send"))) extern void
HttpSend(const char* method, size_t method_len, const char* url, size_t url_len,
         const char* headers, size_t headers_len, const char* body, size_t body_len,
         SendResult* ret);

// Appends `value` in decimal (JsonAppendNumber would pull in stdio, and with it WASI imports).
static void AppendUint(JsonBuffer* out, size_t value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0);
  JsonAppend(out, digits + sizeof digits - n, n);
}

static const char* const kKinds[] = {"invalid", "denied",    "failed",
                                     "timeout", "too-large", "not-text"};

static void One(const JsonValue* request, JsonBuffer* out) {
  const JsonValue* method = JsonGet(request, "method");
  const JsonValue* url = JsonGet(request, "url");
  const JsonValue* body = JsonGet(request, "body");
  const JsonValue* headers = JsonGet(request, "headers");
  SendResult result;
  memset(&result, 0xAB, sizeof result);
  HttpSend(method ? method->string : "GET", method ? method->length : 3, url ? url->string : "",
           url ? url->length : 0, headers ? headers->string : "", headers ? headers->length : 0,
           body ? body->string : "", body ? body->length : 0, &result);
  if (result.is_err) {
    JsonAppendRaw(out, "{\"ok\": false, \"kind\": ");
    const char* kind = result.u.err.kind < 6 ? kKinds[result.u.err.kind] : "?";
    JsonAppendString(out, kind, strlen(kind));
    JsonAppendRaw(out, ", \"message\": ");
    JsonAppendString(out, result.u.err.message, result.u.err.message_len);
    JsonAppendRaw(out, "}");
    free(result.u.err.message);
    return;
  }
  JsonAppendRaw(out, "{\"ok\": true, \"status\": ");
  AppendUint(out, result.u.ok.status);
  JsonAppendRaw(out, ", \"headers\": ");
  AppendUint(out, result.u.ok.headers_len);
  JsonAppendRaw(out, ", \"content_type\": ");
  int found = 0;
  for (size_t i = 0; i < result.u.ok.headers_len; ++i) {
    const Header* h = &result.u.ok.headers[i];
    if (!found && h->name.len == 12 && strncasecmp(h->name.ptr, "content-type", 12) == 0) {
      JsonAppendString(out, h->value.ptr, h->value.len);
      found = 1;
    }
    free((void*)h->name.ptr);
    free((void*)h->value.ptr);
  }
  if (!found) JsonAppendRaw(out, "null");
  free(result.u.ok.headers);
  JsonAppendRaw(out, ", \"body\": ");
  JsonAppendString(out, result.u.ok.body, result.u.ok.body_len);
  JsonAppendRaw(out, "}");
  free(result.u.ok.body);
}

// --- Canonical ABI exports -------------------------------------------------------------------

__attribute__((export_name("cabi_realloc"))) void* CabiRealloc(void* old, size_t old_size,
                                                                size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;  // Never dereferenced.
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
  JsonBuffer out = {0};
  char error[128];
  JsonValue* root = JsonParse(input, size, error, sizeof error);
  const JsonValue* requests = root ? JsonGet(root, "requests") : NULL;
  if (!requests || requests->type != kJsonArray) {
    JsonAppendRaw(&out, "input must be {\"requests\": [...]}");
    return_area.discriminant = 1;
  } else {
    JsonAppendRaw(&out, "{\"results\": [");
    for (size_t i = 0; i < requests->count; ++i) {
      if (i > 0) JsonAppendRaw(&out, ", ");
      One(requests->items[i], &out);
    }
    JsonAppendRaw(&out, "]}");
    return_area.discriminant = 0;
  }
  JsonFree(root);
  if (size > 0) free(input);
  return_area.ptr = out.data;
  return_area.len = out.size;
  return &return_area;
}

__attribute__((export_name("cabi_post_run"))) void CabiPostRun(void* ret) {
  (void)ret;
  free(return_area.ptr);
  return_area.ptr = NULL;
}
