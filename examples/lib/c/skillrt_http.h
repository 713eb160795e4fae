// Outgoing HTTP for C skills compiled to WebAssembly: the host interface `skillrt_http`,
// version 1 (docs/network.md). A WebAssembly skill has no sockets; it asks skillrt to make a
// request, and skillrt makes it through its egress proxy, to the hosts the skill's
// `[capabilities.network] allow` list names and nowhere else.
//
// Every function returns a negative SKILLRT_HTTP_* code on failure; skillrt_http_last_error
// then describes it. Responses are read in full by the host before send returns; a skill holds
// at most 16 open at once, and their bytes count against its memory limit.
#ifndef SKILLRT_EXAMPLES_SKILLRT_HTTP_H_
#define SKILLRT_EXAMPLES_SKILLRT_HTTP_H_

#include <stddef.h>
#include <stdint.h>

#define SKILLRT_HTTP_INVALID (-1)    // Malformed request (method, URL, header) or argument.
#define SKILLRT_HTTP_DENIED (-2)     // The allowlist or the address rules refused it.
#define SKILLRT_HTTP_FAILED (-3)     // Connection, TLS or protocol failure.
#define SKILLRT_HTTP_TIMEOUT (-4)    // The request's time ran out.
#define SKILLRT_HTTP_TOO_LARGE (-5)  // The response is more than the skill may hold.
#define SKILLRT_HTTP_BAD_HANDLE (-6) // No open response has this handle.
#define SKILLRT_HTTP_FAULT (-7)      // A pointer and length leave the skill's memory.
#define SKILLRT_HTTP_LIMIT (-8)      // Too many responses open at once.

/// What send returns about a response.
typedef struct {
  uint32_t handle;       ///< For the read functions and close.
  uint32_t status;       ///< HTTP status code of the final response.
  uint32_t headers_len;  ///< Bytes of header lines ("Name: value\r\n" each).
  uint32_t body_len;     ///< Bytes of the body.
} SkillrtHttpResponse;

#define SKILLRT_HTTP_IMPORT(name) \
  __attribute__((import_module("skillrt_http"), import_name(name)))

/// Makes one request (method "GET", "POST", ...; an http:// or https:// URL; header lines
/// "Name: value" separated by "\n", or empty; a body, or empty) and waits for the complete
/// response. Returns 0 and fills `response`, or a negative code.
SKILLRT_HTTP_IMPORT("send")
int32_t skillrt_http_send(const char* method, size_t method_len, const char* url, size_t url_len,
                          const char* headers, size_t headers_len, const void* body,
                          size_t body_len, SkillrtHttpResponse* response);

/// Copies up to `cap` bytes of the response's header lines; returns the bytes copied.
SKILLRT_HTTP_IMPORT("read_headers")
int32_t skillrt_http_read_headers(uint32_t handle, char* buf, size_t cap);

/// Copies the next up to `cap` bytes of the body; returns the bytes copied, 0 at the end.
SKILLRT_HTTP_IMPORT("read_body")
int32_t skillrt_http_read_body(uint32_t handle, void* buf, size_t cap);

/// Frees the response; returns 0.
SKILLRT_HTTP_IMPORT("close")
int32_t skillrt_http_close(uint32_t handle);

/// Copies up to `cap` bytes of the latest failure's message; returns the message's length.
SKILLRT_HTTP_IMPORT("last_error")
int32_t skillrt_http_last_error(char* buf, size_t cap);

#undef SKILLRT_HTTP_IMPORT

#endif  // SKILLRT_EXAMPLES_SKILLRT_HTTP_H_
