// web-fetch-wasm: fetches one URL through skillrt's `skillrt_http` host interface and
// describes the answer, as a WASI command. Reads one JSON object on stdin, prints one JSON
// object on stdout; see ../SKILL.md. The module has no sockets: the host makes the request,
// through the egress proxy, to the hosts skill.toml allows and nowhere else.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "skillrt_http.h"

enum { kMaxInputBytes = 64 << 10, kDefaultMaxBytes = 1 << 20, kTextChars = 2000 };

// Prints {"error": message} on stdout and the message on stderr; returns the exit status 2
// (bad input, as the native web-fetch).
static int BadInput(const char* message) {
  JsonBuffer out = {0};
  JsonAppendRaw(&out, "{\"error\": ");
  JsonAppendString(&out, message, strlen(message));
  JsonAppendRaw(&out, "}\n");
  fputs(out.data, stdout);
  fprintf(stderr, "web-fetch-wasm: %s\n", message);
  free(out.data);
  return 2;
}

// The value of header `name` (case-insensitive) among "Name: value\r\n" lines, copied into
// `out` (`cap` bytes, NUL-terminated); empty when absent.
static void HeaderValue(const char* lines, size_t size, const char* name, char* out, size_t cap) {
  out[0] = '\0';
  const size_t name_len = strlen(name);
  size_t at = 0;
  while (at < size) {
    const char* line = lines + at;
    const char* end = memchr(line, '\n', size - at);
    const size_t len = end ? (size_t)(end - line) : size - at;
    at += len + 1;
    if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
      size_t start = name_len + 1, stop = len;
      while (start < stop && (line[start] == ' ' || line[start] == '\t')) ++start;
      while (stop > start && (line[stop - 1] == '\r' || line[stop - 1] == ' ')) --stop;
      const size_t n = stop - start < cap - 1 ? stop - start : cap - 1;
      memcpy(out, line + start, n);
      out[n] = '\0';
      return;
    }
  }
}

static int IsText(const char* content_type) {
  char kind[128];
  size_t n = strcspn(content_type, ";");
  if (n >= sizeof kind) n = sizeof kind - 1;
  for (size_t i = 0; i < n; ++i) {
    const char c = content_type[i];
    kind[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  while (n > 0 && kind[n - 1] == ' ') --n;
  kind[n] = '\0';
  const size_t len = strlen(kind);
  return strncmp(kind, "text/", 5) == 0 || (len >= 4 && strcmp(kind + len - 4, "json") == 0) ||
         (len >= 3 && strcmp(kind + len - 3, "xml") == 0);
}

// Bytes of `text` (`size` bytes) that form at most `chars` whole UTF-8 characters, or -1 when
// those bytes are not valid UTF-8 (then the body is not shown as text).
static long Utf8Prefix(const char* text, size_t size, size_t chars) {
  size_t at = 0;
  for (size_t count = 0; at < size && count < chars; ++count) {
    const unsigned char c = (unsigned char)text[at];
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0) return -1;
    if (at + len > size) break;  // A character cut by the end of what was read.
    for (size_t i = 1; i < len; ++i) {
      if (((unsigned char)text[at + i] >> 6) != 2) return -1;
    }
    at += len;
  }
  return (long)at;
}

int main(void) {
  static char input[kMaxInputBytes + 1];
  const size_t size = fread(input, 1, kMaxInputBytes + 1, stdin);
  if (size > kMaxInputBytes) return BadInput("input larger than 64 KiB");
  char parse_error[128];
  JsonValue* request = JsonParse(input, size, parse_error, sizeof parse_error);
  if (!request) {
    char message[192];
    snprintf(message, sizeof message, "input is not JSON: %s", parse_error);
    return BadInput(message);
  }
  const JsonValue* url = JsonGet(request, "url");
  const JsonValue* max = JsonGet(request, "max_bytes");
  if (request->type != kJsonObject || !url || url->type != kJsonString) {
    return BadInput("input must be an object with a string 'url'");
  }
  if (strncmp(url->string, "http://", 7) != 0 && strncmp(url->string, "https://", 8) != 0) {
    return BadInput("url must start with http:// or https://");
  }
  double max_bytes = kDefaultMaxBytes;
  if (max) {
    if (max->type != kJsonNumber || max->number < 1 || max->number != (double)(long long)max->number) {
      return BadInput("max_bytes must be a positive integer");
    }
    max_bytes = max->number;
  }

  const char* headers = "Accept: */*\nUser-Agent: skillrt-web-fetch-wasm/1.0\n";
  SkillrtHttpResponse response;
  const int32_t rc = skillrt_http_send("GET", 3, url->string, url->length, headers,
                                       strlen(headers), "", 0, &response);
  JsonBuffer out = {0};
  JsonAppendRaw(&out, "{\"url\": ");
  JsonAppendString(&out, url->string, url->length);
  if (rc != 0) {
    // Refusals and failures are answers, not errors of the skill: the caller learns why.
    char message[1024];
    int32_t n = skillrt_http_last_error(message, sizeof message);
    if (n < 0) n = 0;
    if (n > (int32_t)sizeof message) n = sizeof message;
    JsonAppendRaw(&out, ", \"ok\": false, \"status\": null, \"error\": ");
    JsonAppendString(&out, message, (size_t)n);
    JsonAppendRaw(&out, "}\n");
    fputs(out.data, stdout);
    return 0;
  }

  char* head = malloc(response.headers_len + 1);
  const size_t want = response.body_len < max_bytes ? response.body_len : (size_t)max_bytes;
  char* body = malloc(want + 1);
  if (!head || !body) abort();
  const int32_t head_n = skillrt_http_read_headers(response.handle, head, response.headers_len);
  size_t got = 0;
  while (got < want) {
    const int32_t n = skillrt_http_read_body(response.handle, body + got, want - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  skillrt_http_close(response.handle);
  char content_type[256];
  HeaderValue(head, head_n > 0 ? (size_t)head_n : 0, "Content-Type", content_type,
              sizeof content_type);

  JsonAppendRaw(&out, ", \"ok\": ");
  JsonAppendRaw(&out, response.status >= 200 && response.status < 300 ? "true" : "false");
  JsonAppendRaw(&out, ", \"status\": ");
  JsonAppendNumber(&out, response.status);
  JsonAppendRaw(&out, ", \"content_type\": ");
  JsonAppendString(&out, content_type, strlen(content_type));
  JsonAppendRaw(&out, ", \"bytes\": ");
  JsonAppendNumber(&out, (double)got);
  JsonAppendRaw(&out, ", \"truncated\": ");
  JsonAppendRaw(&out, response.body_len > got ? "true" : "false");
  const long text_bytes = IsText(content_type) ? Utf8Prefix(body, got, kTextChars) : -1;
  if (text_bytes >= 0) {
    JsonAppendRaw(&out, ", \"text\": ");
    JsonAppendString(&out, body, (size_t)text_bytes);
  }
  JsonAppendRaw(&out, "}\n");
  fputs(out.data, stdout);
  free(out.data);
  free(head);
  free(body);
  JsonFree(request);
  return 0;
}
