// HTTP probe: makes the requests its arguments list through the `skillrt_http` host interface
// and prints what came back, one JSON object per line:
//   "GET http://api.test:8080/x"  -> {"op": "GET", "url": ..., "rc": 0, "status": 200,
//                                     "headers": "...", "body": "..."}
//                                    or {"op": ..., "rc": -2, "error": "egress refused: ..."}
//   "POST <url> <body>"           -> the same, with <body> sent as the request body
//   "FAULT"                       -> send with a URL pointer past the end of memory
//   "BADHANDLE"                   -> read_body and close of a handle never returned
//   "HOLD <url> <n>"              -> n requests without closing any; the first failure's rc
// The body is read in 7-byte pieces, so reads that cross piece boundaries are exercised.
#include <stdint.h>
#include <stdlib.h>

#include "probe.h"
#include "skillrt_http.h"

static void PrintError(int32_t rc) {
  char message[512];
  const int32_t n = skillrt_http_last_error(message, sizeof message);
  printf(", \"rc\": %d, \"error\": ", (int)rc);
  PrintJsonString(message, n < 0 ? 0 : (n > (int32_t)sizeof message ? sizeof message : (size_t)n));
}

static void Request(const char* method, const char* url, const char* body) {
  printf("{\"op\": ");
  PrintJsonCString(method);
  printf(", \"url\": ");
  PrintJsonCString(url);
  const char* headers = "Accept: text/plain\nX-Probe: wasm\n";
  SkillrtHttpResponse response;
  const int32_t rc = skillrt_http_send(method, strlen(method), url, strlen(url), headers,
                                       strlen(headers), body, strlen(body), &response);
  if (rc != 0) {
    PrintError(rc);
    puts("}");
    return;
  }
  printf(", \"rc\": 0, \"status\": %u, \"headers\": ", (unsigned)response.status);
  char* head = malloc(response.headers_len + 1);
  const int32_t head_n = skillrt_http_read_headers(response.handle, head, response.headers_len);
  PrintJsonString(head, head_n < 0 ? 0 : (size_t)head_n);
  free(head);
  char* text = malloc(response.body_len + 1);
  size_t got = 0;
  for (;;) {
    const int32_t n = skillrt_http_read_body(response.handle, text + got, 7);
    if (n <= 0) break;
    got += (size_t)n;
  }
  printf(", \"body\": ");
  PrintJsonString(text, got);
  printf(", \"body_len\": %u", (unsigned)response.body_len);
  free(text);
  printf(", \"close\": %d", (int)skillrt_http_close(response.handle));
  printf(", \"close_again\": %d}\n", (int)skillrt_http_close(response.handle));
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* line = argv[i];
    char* url = strchr(line, ' ');
    if (url != NULL) *url++ = '\0';
    if (strcmp(line, "FAULT") == 0) {
      SkillrtHttpResponse response;
      const int32_t rc = skillrt_http_send("GET", 3, (const char*)0xfffffff0u, 64, "", 0, "", 0,
                                           &response);
      printf("{\"op\": \"FAULT\"");
      PrintError(rc);
      puts("}");
    } else if (strcmp(line, "BADHANDLE") == 0) {
      char buf[8];
      printf("{\"op\": \"BADHANDLE\", \"read\": %d, \"close\": %d}\n",
             (int)skillrt_http_read_body(4242, buf, sizeof buf), (int)skillrt_http_close(4242));
    } else if (strcmp(line, "HOLD") == 0 && url != NULL) {
      char* count = strchr(url, ' ');
      if (count != NULL) *count++ = '\0';
      const int n = count != NULL ? atoi(count) : 1;
      int held = 0;
      int32_t rc = 0;
      for (; held < n; ++held) {
        SkillrtHttpResponse response;
        rc = skillrt_http_send("GET", 3, url, strlen(url), "", 0, "", 0, &response);
        if (rc != 0) break;
      }
      printf("{\"op\": \"HOLD\", \"held\": %d", held);
      if (rc != 0) {
        PrintError(rc);
      }
      puts("}");
    } else if (url != NULL) {
      char* body = strchr(url, ' ');
      if (body != NULL) *body++ = '\0';
      Request(line, url, body != NULL ? body : "");
    }
    fflush(stdout);
  }
  return 0;
}
