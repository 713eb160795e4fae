// The layers the code shows (README.md, "Layout"): which directories of src/ may include
// which. Read from the sources themselves, so that a change that reaches across a layer fails
// here rather than in a review.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Include {
  std::string file;    // Relative to src/, e.g. "cli/main.cc".
  std::string header;  // As written, e.g. "skillrt/engine.h".
};

// Every `#include "..."` of the library and CLI sources under src/<dir> (tests excluded:
// a test may look inside whatever it tests).
std::vector<Include> IncludesOf(const std::string& dir) {
  const fs::path src = fs::path(SKILLRT_SOURCE_DIR) / "src";
  static const std::regex kInclude(R"re(^\s*#\s*include\s+"([^"]+)")re");
  std::vector<Include> out;
  for (const auto& entry : fs::recursive_directory_iterator(src / dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.ends_with("_test.cc")) continue;
    if (!name.ends_with(".cc") && !name.ends_with(".h")) continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, kInclude)) {
        out.push_back({fs::relative(entry.path(), src).string(), m[1]});
      }
    }
  }
  return out;
}

std::string TopDir(const std::string& header) {
  const size_t slash = header.find('/');
  return slash == std::string::npos ? "" : header.substr(0, slash);
}

// The includes of src/<dir> whose top directory is not in `allowed` (a header allowed one by
// one is given whole, e.g. "skillrt/error.h").
std::vector<std::string> Violations(const std::string& dir, const std::set<std::string>& allowed) {
  std::vector<std::string> bad;
  for (const Include& inc : IncludesOf(dir)) {
    if (allowed.contains(TopDir(inc.header)) || allowed.contains(inc.header)) continue;
    bad.push_back(inc.file + " includes " + inc.header);
  }
  return bad;
}

TEST(LayersTest, TheReaderFindsIncludes) {
  // Positive control: the CLI's sources do include the public headers.
  size_t public_headers = 0;
  for (const Include& inc : IncludesOf("cli")) public_headers += TopDir(inc.header) == "skillrt";
  EXPECT_GT(public_headers, 5u);
  // And a rule that cannot hold is seen to fail.
  EXPECT_FALSE(Violations("cli", {"cli"}).empty());
}

TEST(LayersTest, TheCliUsesOnlyThePublicHeaders) {
  // The one exception: `skillrt serve` and `skillrt worker` host the HTTP service, a front end
  // beside the CLI (src/service), whose entry points are not public yet.
  EXPECT_EQ(Violations("cli", {"skillrt", "cli", "service/serve.h", "service/auth.h"}),
            std::vector<std::string>{});
}

TEST(LayersTest, TheAgentLoopIsAFrontEndOfThePublicApi) {
  // src/agent reaches the engine only through include/skillrt.
  EXPECT_EQ(Violations("agent", {"skillrt", "agent"}), std::vector<std::string>{});
}

TEST(LayersTest, TheMcpServerAndTheServiceAreFrontEndsOfThePublicApi) {
  EXPECT_EQ(Violations("mcp", {"skillrt", "mcp"}), std::vector<std::string>{});
  EXPECT_EQ(Violations("service", {"skillrt", "service"}), std::vector<std::string>{});
  // The Python module names its own headers without a directory ("bindings.h").
  EXPECT_EQ(Violations("python", {"skillrt", "python", ""}), std::vector<std::string>{});
}

TEST(LayersTest, UtilDependsOnNothingButTheErrorType) {
  // The public utility headers are util's own declarations (include/skillrt).
  EXPECT_EQ(Violations("util", {"util", "skillrt/error.h", "skillrt/atomic_file.h",
                                "skillrt/curl_api.h", "skillrt/fd.h", "skillrt/sha256.h",
                                "skillrt/shared_library.h", "skillrt/sqlite_library.h"}),
            std::vector<std::string>{});
}

TEST(LayersTest, TheRuntimesFloorSitsBelowEveryRuntime) {
  EXPECT_EQ(Violations("runtime", {"runtime", "skillrt", "util", "net"}),
            std::vector<std::string>{});
}

TEST(LayersTest, NoRuntimeReachesIntoAnother) {
  // Each runtime uses the floor, the public types, util and net (the egress proxy); never
  // another runtime's internals, and never the engine above it.
  const std::set<std::string> common = {"runtime", "skillrt", "util", "net"};
  for (const std::string runtime : {"sandbox", "wasm", "container"}) {
    std::set<std::string> allowed = common;
    allowed.insert(runtime);
    EXPECT_EQ(Violations(runtime, allowed), std::vector<std::string>{}) << runtime;
  }
}

}  // namespace
