// The studio's files (docs/studio.md): the built web front end, read once into memory when
// the service starts and served under /studio/ with a strict Content-Security-Policy. Only
// names found in that map are ever answered, so no request path can reach another file.
#ifndef SKILLRT_SERVICE_STUDIO_H_
#define SKILLRT_SERVICE_STUDIO_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "service/http_server.h"
#include "skillrt/error.h"

namespace skillrt::service {

/// One file of the studio, held in memory.
struct StudioFile {
  std::string content_type;  ///< From the file's extension (kStudioTypes in studio.cc).
  std::string body;
};

/// The headers every studio response carries: a Content-Security-Policy that allows only
/// this origin's own scripts, styles, images and connections (no inline script, no frames,
/// no plugins), nosniff, no Referer, and no framing (W3C CSP Level 3; RFC 7034).
inline constexpr std::string_view kStudioCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/// The studio's files by URL path below /studio/ ("index.html", "assets/index-1a2b.js").
/// Immutable once loaded; thread-safe to read.
class StudioFiles {
 public:
  /// An empty studio (not built): every page answers 404 with how to build it.
  StudioFiles() = default;

  /// Reads every regular file under `dir` whose extension is one the studio serves
  /// (html, js, css, svg, png, ico, json, woff2, txt); symbolic links, hidden entries and other
  /// files are skipped. Errors: kNotFound when `dir` has no index.html, kIo when a file cannot
  /// be read. At most 16 MiB in all (kInvalidArgument past it).
  static Result<StudioFiles> Load(const std::filesystem::path& dir);

  /// The file at `path` (relative, no leading '/'); nullptr when there is none.
  const StudioFile* Find(std::string_view path) const;

  bool empty() const { return files_.empty(); }
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, StudioFile, std::less<>> files_;
};

/// Where the build puts the studio (<build>/studio, compiled in); `serve --studio` overrides.
std::filesystem::path DefaultStudioDir();

/// Routes GET / (a redirect to /studio/), /studio (the same) and /studio/... on `server`,
/// serving `files`, which must outlive the server; /studio/ is index.html and any other path
/// with no file answers 404 (the front end's pages are fragments of one page, #/skills).
/// Thread-safe.
void RegisterStudio(HttpServer& server, const StudioFiles& files);

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_STUDIO_H_
