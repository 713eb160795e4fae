// What one CLI run loads: the libraries only some commands need (libcurl for HTTP requests
// of WebAssembly skills, libpq for the service's PostgreSQL store, cpp-httplib with OpenSSL's
// TLS library for the commands that serve HTTP, the search model library for the commands
// that search) are not mapped by a run that does not use them. Seen through the dynamic
// linker's own trace (LD_DEBUG=libs, ld.so(8)), which names every library as it is looked for.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "probe_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::CliResult;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

// Runs the CLI with LD_DEBUG=libs in its environment (and only there).
CliResult TracedCli(const TempDir& tmp, const std::vector<std::string>& args) {
  ::setenv("LD_DEBUG", "libs", 1);
  CliResult r = RunCli(tmp.path(), tmp.path() / "home", args);
  ::unsetenv("LD_DEBUG");
  return r;
}

bool Loaded(const CliResult& r, const std::string& soname) {
  return r.err.find("find library=" + soname) != std::string::npos;
}

// `skillrt exec quiet -- true` of a one-command skill written under `tmp`, traced as TracedCli.
CliResult TracedQuietExec(const TempDir& tmp) {
  ::chmod(tmp.path().c_str(), 0755);
  const std::filesystem::path skill = tmp.path() / "skills" / "quiet";
  WriteFile(skill / "SKILL.md", "---\nname: quiet\ndescription: Runs true.\n---\n# quiet\n");
  WriteFile(skill / "skill.toml", "[capabilities]\ncommands = [\"true\"]\n");
  ::chmod((tmp.path() / "skills").c_str(), 0755);
  ::chmod(skill.c_str(), 0755);
  return TracedCli(tmp, {"--skills", (tmp.path() / "skills").string(), "exec", "quiet", "--",
                         "true"});
}

TEST(StartupCliTest, ANativeRunLoadsNeitherLibcurlNorLibpq) {
  TempDir tmp;
  CliResult r = TracedQuietExec(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  // Positive control: the trace is there, and names what the binary is linked with.
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace: " << r.err.substr(0, 500);
  EXPECT_TRUE(Loaded(r, "libseccomp.so.2"));
  EXPECT_FALSE(Loaded(r, "libcurl.so.4"));
  EXPECT_FALSE(Loaded(r, "libpq.so.5"));
}

// The search model library (tokenizers, BPE ranks, the ONNX Runtime bindings) is opened by
// the first command that embeds text or counts tokens, not by a run. The trace names it as it
// is opened (by path, so as "file=", not "find library=").
TEST(StartupCliTest, ANativeRunLoadsNoSearchModelLibrary) {
  TempDir tmp;
  CliResult r = TracedQuietExec(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace: " << r.err.substr(0, 500);
  EXPECT_EQ(r.err.find("libskillrt_search_ml.so"), std::string::npos);
  // Positive control: a search that fits its results to a token budget opens it.
  CliResult search = TracedCli(tmp, {"--skills", (tmp.path() / "skills").string(), "search",
                                     "--method", "bm25", "--no-rerank", "--budget-tokens", "200",
                                     "run true"});
  EXPECT_EQ(search.exit_code, 0) << search.err.substr(
      search.err.size() > 2000 ? search.err.size() - 2000 : 0);
  EXPECT_NE(search.out.find("quiet"), std::string::npos) << search.out;
  EXPECT_NE(search.err.find("libskillrt_search_ml.so"), std::string::npos)
      << "the search did not open the model library";
  EXPECT_TRUE(Loaded(search, "libsqlite3.so.0")) << "the search did not load SQLite";
}

// Wasmtime's shared library is loaded by the first Wasmtime call (src/wasm/wasmtime_lazy.h),
// which a native run never makes; the WebAssembly run below is the positive control. Opened
// by its path, the trace names it as "file=".
TEST(StartupCliTest, ANativeRunDoesNotLoadWasmtime) {
  TempDir tmp;
  CliResult r = TracedQuietExec(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace: " << r.err.substr(0, 500);
  EXPECT_EQ(r.err.find("libwasmtime.so"), std::string::npos);
  // Nor SQLite, which only the search index and the job queue call.
  EXPECT_FALSE(Loaded(r, "libsqlite3.so.0"));
}

// Where the build links the C++ runtime and the C++ libraries into `skillrt`
// (SKILLRT_STATIC_CXX, CMakeLists.txt), a run loads no C++ shared library at all; otherwise
// it loads them (the positive control of a build without).
TEST(StartupCliTest, ANativeRunLoadsTheCxxLibrariesOnlyWhereTheyAreNotLinkedIn) {
  TempDir tmp;
  CliResult r = TracedQuietExec(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace: " << r.err.substr(0, 500);
  for (const char* soname : {"libstdc++.so.6", "libyaml-cpp.so.0.7", "libre2.so.9"}) {
    EXPECT_EQ(Loaded(r, soname), !SKILLRT_CLI_STATIC_CXX) << soname;
  }
  EXPECT_FALSE(Loaded(r, "libtomlplusplus.so.3"));  // Compiled in (src/util/toml_impl.cc).
}

// `skillrt` links no HTTP server: cpp-httplib, whose constructor initialises all of OpenSSL,
// and the libraries only it brings (libssl, zlib, brotli) stay out of a native run.
TEST(StartupCliTest, ANativeRunLoadsNoHttpServer) {
  TempDir tmp;
  CliResult r = TracedQuietExec(tmp);
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace: " << r.err.substr(0, 500);
  EXPECT_TRUE(Loaded(r, "libnettle.so.8"));  // SHA-256 of the audit chain and the skill.
  EXPECT_FALSE(Loaded(r, "libcpp-httplib.so.0.11"));
  EXPECT_FALSE(Loaded(r, "libssl.so.3"));
  EXPECT_FALSE(Loaded(r, "libcrypto.so.3"));
}

// `skillrt serve` continues in skillrt-serve (src/cli/serving.h), which has the HTTP server:
// the same trace shows the server's library loaded after the hand-off, and the flags are
// checked there as before (a bad --listen is a usage error naming the flag).
TEST(StartupCliTest, ServeContinuesInTheServingExecutable) {
  TempDir tmp;
  CliResult r = TracedCli(tmp, {"serve", "--listen", "no-port-here"});
  EXPECT_EQ(r.exit_code, 2) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_NE(r.err.find("--listen 'no-port-here'"), std::string::npos);
  EXPECT_TRUE(Loaded(r, "libcpp-httplib.so.0.11")) << "not handed to skillrt-serve";
}

// The seccomp program is compiled by the first run and kept in <home>/cache/seccomp; the
// runs after it use the kept program, which refuses what the compiled one refuses (a netlink
// socket, bpf(2)) and allows what it allows (a Unix socket pair, the positive control). A
// kept file that was changed is not used: the run compiles the program again and still
// refuses.
TEST(StartupCliTest, TheKeptSeccompProgramRefusesAsTheCompiledOne) {
  TempDir tmp;
  ::chmod(tmp.path().c_str(), 0755);
  const std::filesystem::path skill = tmp.path() / "skills" / "probe";
  WriteFile(skill / "SKILL.md", "---\nname: probe\ndescription: Tries system calls.\n---\n# p\n");
  WriteFile(skill / "skill.toml", "[capabilities]\ncommands = [\"/skill/syscall_try\"]\n");
  std::filesystem::copy_file(skillrt::testing::ProbePath("syscall_try"), skill / "syscall_try");
  ::chmod((tmp.path() / "skills").c_str(), 0755);
  ::chmod(skill.c_str(), 0755);
  auto attempt = [&](const std::string& call) {
    return RunCli(tmp.path(), tmp.path() / "home",
                  {"--quiet", "--skills", (tmp.path() / "skills").string(), "exec", "probe", "--",
                   "/skill/syscall_try", call});
  };
  auto kept = [&]() -> std::filesystem::path {
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(tmp.path() / "home" / "cache" / "seccomp", ec)) {
      if (entry.path().extension() == ".bpf") return entry.path();
    }
    return {};
  };

  CliResult first = attempt("socket_netlink");
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  EXPECT_NE(first.out.find("EPERM"), std::string::npos) << first.out;
  const std::filesystem::path file = kept();
  ASSERT_FALSE(file.empty()) << "no program kept under <home>/cache/seccomp";

  for (const char* refused : {"socket_netlink", "bpf"}) {
    CliResult r = attempt(refused);
    EXPECT_EQ(r.exit_code, 1) << refused << ": " << r.out << r.err;
    EXPECT_NE(r.out.find("EPERM"), std::string::npos) << refused << ": " << r.out;
  }
  CliResult allowed = attempt("socketpair_unix");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;

  // A changed byte: the file is not used; the program is compiled and still refuses.
  std::string data;
  {
    std::ifstream in(file, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(data.size(), 64u);
  data[data.size() - 64] ^= 1;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << data;
  CliResult after = attempt("socket_netlink");
  EXPECT_EQ(after.exit_code, 1) << after.out << after.err;
  EXPECT_NE(after.out.find("EPERM"), std::string::npos) << after.out;
}

// A WebAssembly run that makes no HTTP request does not load libcurl either: it is loaded by
// the first request, not when the runtime is made.
TEST(StartupCliTest, AWasmRunWithoutRequestsDoesNotLoadLibcurl) {
  const std::filesystem::path skills = std::filesystem::path(SKILLRT_SOURCE_DIR) / "examples" /
                                       "skills";
  if (!std::filesystem::exists(skills / "number-stats" / "scripts" / "stats.wasm")) {
    SKILLRT_SKIP_UNLESS_BUILT("WebAssembly examples not built (scripts/build-wasm.sh)");
  }
  TempDir tmp;
  CliResult r = TracedCli(tmp, {"--skills", skills.string(), "run", "number-stats", "--input",
                                R"({"numbers":[1,2,3]})"});
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  EXPECT_NE(r.out.find("\"count\": 3"), std::string::npos) << r.out;
  EXPECT_TRUE(Loaded(r, "libc.so.6")) << "no LD_DEBUG trace";
  EXPECT_FALSE(Loaded(r, "libcurl.so.4"));
  EXPECT_FALSE(Loaded(r, "libpq.so.5"));
  // Wasmtime itself is loaded, at the runtime's first call.
  EXPECT_NE(r.err.find("libwasmtime.so"), std::string::npos) << "Wasmtime was not loaded";
}

}  // namespace
}  // namespace skillrt
