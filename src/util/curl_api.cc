#include "skillrt/curl_api.h"

#include <mutex>

#include "skillrt/shared_library.h"

namespace skillrt {
namespace {

Result<CurlApi> Load() {
  auto library = SharedLibrary::Open("libcurl.so.4");
  if (!library) return std::unexpected(library.error());
  CurlApi api;
  for (Result<void> found :
       {library->Find("curl_global_init", &api.global_init),
        library->Find("curl_easy_init", &api.easy_init),
        library->Find("curl_easy_setopt", &api.easy_setopt),
        library->Find("curl_easy_perform", &api.easy_perform),
        library->Find("curl_easy_getinfo", &api.easy_getinfo),
        library->Find("curl_easy_cleanup", &api.easy_cleanup),
        library->Find("curl_easy_strerror", &api.easy_strerror),
        library->Find("curl_slist_append", &api.slist_append),
        library->Find("curl_slist_free_all", &api.slist_free_all),
        library->Find("curl_url", &api.url), library->Find("curl_url_set", &api.url_set),
        library->Find("curl_url_get", &api.url_get),
        library->Find("curl_url_cleanup", &api.url_cleanup),
        library->Find("curl_url_strerror", &api.url_strerror),
        library->Find("curl_free", &api.free), library->Find("curl_getdate", &api.getdate)}) {
    if (!found) return std::unexpected(found.error());
  }
  if (const CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return Fail(ErrorCode::kUnsupported,
                std::string("curl_global_init: ") + api.easy_strerror(rc));
  }
  return api;
}

}  // namespace

Result<const CurlApi*> LoadCurl() {
  static const Result<CurlApi>* loaded = new Result<CurlApi>(Load());  // Never destroyed.
  if (!*loaded) return std::unexpected(loaded->error());
  return &**loaded;
}

}  // namespace skillrt
