// HandOffServing: `skillrt serve` and `skillrt mcp --http` continue in `skillrt-serve`.
#include "cli/serving.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "skillrt/error.h"

namespace skillrt::cli {
namespace {

// This process's arguments as given: /proc/self/cmdline holds each followed by a NUL.
Result<std::string> CommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.is_open() || text.empty()) {
    return Fail(ErrorCode::kIo, "cannot read /proc/self/cmdline (is /proc mounted?)");
  }
  return text;
}

// The path of the serving executable: beside this one.
Result<std::string> ServingPath() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return FailErrno(ErrorCode::kIo, "readlink(/proc/self/exe)", errno);
  std::string path(self, static_cast<size_t>(n));
  path.erase(path.rfind('/') + 1);
  return path + kServingExecutable;
}

}  // namespace

int HandOffServing() {
  auto path = ServingPath();
  if (!path) {
    PrintError(path.error().message);
    return kExitInternal;
  }
  auto cmdline = CommandLine();
  if (!cmdline) {
    PrintError(cmdline.error().message);
    return kExitInternal;
  }
  // /proc/self/cmdline: each argument followed by a NUL.
  std::vector<char*> argv;
  for (size_t at = 0; at < cmdline->size();) {
    argv.push_back(cmdline->data() + at);
    const size_t end = cmdline->find('\0', at);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  argv.push_back(nullptr);
  ::execv(path->c_str(), argv.data());
  PrintError(Error::FromErrno(ErrorCode::kIo, "execv(" + *path + ")", errno).message +
             " (`skillrt serve` and `skillrt mcp --http` run in " + kServingExecutable +
             ", built beside skillrt)");
  return kExitInternal;
}

}  // namespace skillrt::cli
