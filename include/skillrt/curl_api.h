// The libcurl functions skillrt calls (the egress HTTP client, the agent's model client),
// taken from libcurl.so.4 when the first request needs them (skillrt/shared_library.h). libcurl and the libraries only it brings
// (nghttp2, rtmp, ssh2, psl, zstd) are then loaded only by processes that make HTTP requests
// for a skill, not by every command. The functions are libcurl's own (curl/curl.h, libcurl
// 7.85 or later for CURLOPT_PROTOCOLS_STR); calls through these pointers skip the argument
// checks curl/typecheck-gcc.h adds to direct calls of curl_easy_setopt.
#ifndef SKILLRT_CURL_API_H_
#define SKILLRT_CURL_API_H_

#include <curl/curl.h>

#include "skillrt/error.h"

namespace skillrt {

/// One pointer per libcurl function used, named after it without the `curl_` prefix.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_url) url = nullptr;
  decltype(&::curl_url_set) url_set = nullptr;
  decltype(&::curl_url_get) url_get = nullptr;
  decltype(&::curl_url_cleanup) url_cleanup = nullptr;
  decltype(&::curl_url_strerror) url_strerror = nullptr;
  decltype(&::curl_free) free = nullptr;
  decltype(&::curl_getdate) getdate = nullptr;
};

/// Loads libcurl.so.4 and runs curl_global_init(CURL_GLOBAL_DEFAULT) the first time it is
/// called; later calls return the same table. kUnsupported when the library or one of the
/// functions cannot be found, or the global initialisation fails (every later call returns
/// the same error). Thread-safe; the table lives as long as the process.
Result<const CurlApi*> LoadCurl();

}  // namespace skillrt

#endif  // SKILLRT_CURL_API_H_
