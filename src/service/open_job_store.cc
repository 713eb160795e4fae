// OpenJobStore (serve.h): a queue URL to its job store. Apart from the HTTP service in
// serve.cc, so that `skillrt worker`, which serves no HTTP, links none of it (src/cli/serving.h).
#include "service/serve.h"

namespace skillrt::service {

Result<std::unique_ptr<JobStore>> OpenJobStore(const std::string& url,
                                               const std::filesystem::path& home) {
  if (url.empty()) return OpenSqliteJobStore(home / "jobs.db");
  for (std::string_view prefix : {"sqlite://", "sqlite:"}) {
    if (url.starts_with(prefix)) {
      const std::string path = url.substr(prefix.size());
      if (path.empty()) return Fail(ErrorCode::kInvalidArgument, "queue " + url + ": no file named");
      return OpenSqliteJobStore(path);
    }
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresJobStore(url);
  }
  return Fail(ErrorCode::kInvalidArgument,
              "queue '" + url + "': use postgresql://..., sqlite:PATH, or nothing (for "
              "<home>/jobs.db)");
}

}  // namespace skillrt::service
