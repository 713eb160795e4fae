// The studio's files in memory and their routes (studio.h).
#include "service/studio.h"

#include <array>
#include <fstream>
#include <sstream>
#include <system_error>

#include "service/api.h"

namespace skillrt::service {
namespace {

// The file types the studio is built into, and the Content-Type each is served with. A file
// of any other type is not loaded, so it can never be served.
struct TypeRow {
  std::string_view extension;
  std::string_view content_type;
};
constexpr std::array<TypeRow, 9> kStudioTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
}};

constexpr uintmax_t kMaxStudioBytes = 16u << 20;

const TypeRow* TypeOf(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  for (const TypeRow& row : kStudioTypes) {
    if (row.extension == extension) return &row;
  }
  return nullptr;
}

void SetStudioHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", std::string(kStudioCsp));
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
}

}  // namespace

Result<StudioFiles> StudioFiles::Load(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "index.html", ec)) {
    return Fail(ErrorCode::kNotFound, "studio " + dir.string() + ": no index.html (built by "
                                      "scripts/build-studio.sh)");
  }
  StudioFiles studio;
  uintmax_t total = 0;
  auto it = std::filesystem::recursive_directory_iterator(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "studio " + dir.string() + ": " + ec.message());
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Fail(ErrorCode::kIo, "studio " + dir.string() + ": " + ec.message());
    const std::filesystem::path& path = it->path();
    if (path.filename().string().starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // Symbolic links are skipped: the studio is what the build wrote, nothing it points to.
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    const TypeRow* type = TypeOf(path);
    if (!type) continue;
    total += it->file_size(ec);
    if (total > kMaxStudioBytes) {
      return Fail(ErrorCode::kInvalidArgument, "studio " + dir.string() + ": more than 16 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    if (!in) return Fail(ErrorCode::kIo, "studio: cannot read " + path.string());
    studio.files_[path.lexically_relative(dir).generic_string()] =
        StudioFile{.content_type = std::string(type->content_type), .body = body.str()};
  }
  return studio;
}

const StudioFile* StudioFiles::Find(std::string_view path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

std::filesystem::path DefaultStudioDir() { return SKILLRT_STUDIO_DIR; }

void RegisterStudio(HttpServer& server, const StudioFiles& files) {
  auto redirect = [](const httplib::Request&, httplib::Response& res) {
    SetStudioHeaders(res);
    res.set_redirect("/studio/", 302);
  };
  server.Get("/", redirect);
  server.Get("/studio", redirect);
  server.Get(R"(/studio/(.*))", [&files](const httplib::Request& req, httplib::Response& res) {
    SetStudioHeaders(res);
    if (files.empty()) {
      return SetError(res, ApiError::kNotFound,
                      "the studio is not built: run scripts/setup.sh (or scripts/build-studio.sh "
                      "BUILD_DIR) and pass --studio BUILD_DIR/studio");
    }
    std::string path = req.matches[1].str();
    if (path.empty()) path = "index.html";
    const StudioFile* file = files.Find(path);
    if (!file) return SetError(res, ApiError::kNotFound, "no studio file " + path);
    // index.html names the hashed asset files, so it is checked again every time; the
    // assets' names change with their content, so they may be kept.
    res.set_header("Cache-Control", path.starts_with("assets/") ? "public, max-age=31536000, immutable"
                                                                 : "no-cache");
    res.set_content(file->body, file->content_type);
  });
}

}  // namespace skillrt::service
