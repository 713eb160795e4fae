// Python and JavaScript skills built into components of the skillrt world. See include/skillrt/wasm_build.h.
#include "skillrt/wasm_build.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "skillrt/fd.h"
#include "skillrt/sha256.h"

extern char** environ;

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxSourceFiles = 10'000;
constexpr uint64_t kMaxSourceBytes = 64ull << 20;
// A build (dependencies from the registries, the toolchain's snapshot) that takes longer is
// stopped; the toolchains take 10-40 s on this project's build machine.
constexpr std::chrono::minutes kBuildTimeout{15};
// Compiling the component ahead of time: its own bounds, not a call's (a Python component
// takes Cranelift about 20 s and several hundred MiB).
constexpr std::chrono::minutes kCompileTimeout{10};
constexpr uint64_t kCompileMemoryBytes = 4ull << 30;

bool LanguageFile(const fs::path& path, WasmLanguage language) {
  const std::string ext = path.extension().string();
  if (language == WasmLanguage::kPython) return ext == ".py";
  if (language == WasmLanguage::kTypeScript && (ext == ".ts" || ext == ".mts")) return true;
  return ext == ".js" || ext == ".mjs" || ext == ".json";
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FailErrno(ErrorCode::kIo, "open(" + path.string() + ")", errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs argv with stdin from /dev/null and stdout joined to stderr (the build's progress),
// waiting at most `timeout`. Returns the exit status, or -1 when it was killed at the timeout.
Result<int> RunTool(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return FailErrno(ErrorCode::kIo, "posix_spawn(" + argv[0] + ")", rc);
  const Clock::time_point give_up = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0 && errno != EINTR) {
      return FailErrno(ErrorCode::kIo, "waitpid(" + argv[0] + ")", errno);
    }
    if (Clock::now() >= give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

const char* Env(const char* name) {
  const char* value = ::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

Result<std::string> WasmSourceKey(const fs::path& skill_dir, const WasmSource& wasm) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(skill_dir, fs::directory_options::none, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "opendir(" + skill_dir.string() + ")", ec.value());
  for (fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return FailErrno(ErrorCode::kIo, "readdir(" + skill_dir.string() + ")", ec.value());
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (name.starts_with(".") || name == "node_modules" || name == "__pycache__") {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (!LanguageFile(it->path(), wasm.language)) continue;
    files.push_back(it->path().lexically_relative(skill_dir));
    if (files.size() > kMaxSourceFiles) {
      return Fail(ErrorCode::kValidation, skill_dir.string() + ": more than " +
                                              std::to_string(kMaxSourceFiles) + " source files");
    }
  }
  std::sort(files.begin(), files.end());
  Sha256 hash;
  auto field = [&hash](std::string_view text) {
    hash.Update(std::to_string(text.size()) + ":");
    hash.Update(text);
  };
  field(kWasmToolchainId);
  field(WasmLanguageName(wasm.language));
  field(wasm.source);
  for (const std::string& dep : wasm.dependencies) field(dep);
  field("files");
  uint64_t total = 0;
  for (const fs::path& file : files) {
    auto text = ReadFile(skill_dir / file);
    if (!text) return std::unexpected(text.error());
    total += text->size();
    if (total > kMaxSourceBytes) {
      return Fail(ErrorCode::kValidation, skill_dir.string() + ": the source files exceed " +
                                              std::to_string(kMaxSourceBytes >> 20) + " MiB");
    }
    field(file.string());
    field(*text);
  }
  return hash.HexDigest();
}

fs::path WasmComponentPath(const fs::path& home, const std::string& key) {
  return home / "cache" / "wasmlang" / (key + ".wasm");
}

Result<fs::path> BuiltWasmComponent(const fs::path& home, const std::string& skill_name,
                                const fs::path& skill_dir, const WasmSource& wasm) {
  auto key = WasmSourceKey(skill_dir, wasm);
  if (!key) return std::unexpected(key.error());
  fs::path path = WasmComponentPath(home, *key);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return path;
  return Fail(ErrorCode::kNotFound,
              "skill '" + skill_name + "' is a " + std::string(WasmLanguageName(wasm.language)) +
                  " skill that has not been built for its current source; run `skillrt build " +
                  skill_name + "` (a run never builds)");
}

Result<WasmToolchain> FindWasmToolchain() {
  WasmToolchain chain;
#ifdef SKILLRT_WASMLANG_TOOLS
  chain.tools = SKILLRT_WASMLANG_TOOLS;
#endif
#ifdef SKILLRT_WASMLANG_SOURCES
  chain.sources = fs::path(SKILLRT_WASMLANG_SOURCES) / "src" / "wasmlang";
  chain.wit = fs::path(SKILLRT_WASMLANG_SOURCES) / "wit";
#endif
  if (const char* tools = Env("SKILLRT_WASMLANG_TOOLS")) chain.tools = tools;
  if (const char* sources = Env("SKILLRT_WASMLANG_SOURCES")) {
    chain.sources = fs::path(sources) / "src" / "wasmlang";
    chain.wit = fs::path(sources) / "wit";
  }
  const fs::path needed[] = {chain.tools / "py" / "bin" / "componentize-py",
                             chain.tools / "js" / "node_modules" / "esbuild" / "bin" / "esbuild",
                             chain.tools / "node"};
  for (const fs::path& path : needed) {
    if (chain.tools.empty() || ::access(path.c_str(), X_OK) != 0) {
      return Fail(ErrorCode::kNotFound,
                  "the toolchain for Python and JavaScript skills is not installed (" +
                      (chain.tools.empty() ? std::string("no directory known")
                                           : path.string() + " is missing") +
                      "): run scripts/wasmlang-env.sh BUILD_DIR, or set SKILLRT_WASMLANG_TOOLS "
                      "to the directory it made");
    }
  }
  for (const fs::path& path : {chain.sources / "build_component.py", chain.wit / "skillrt.wit"}) {
    if (::access(path.c_str(), R_OK) != 0) {
      return Fail(ErrorCode::kNotFound,
                  path.string() + " is missing: set SKILLRT_WASMLANG_SOURCES to skillrt's "
                                  "source tree");
    }
  }
  return chain;
}

Result<WasmBuildResult> BuildWasmSkill(const fs::path& home, const fs::path& skill_dir,
                               const WasmSource& wasm, const WasmRuntimeOptions& wasm_options) {
  auto key = WasmSourceKey(skill_dir, wasm);
  if (!key) return std::unexpected(key.error());
  WasmBuildResult result;
  result.key = *key;
  result.component = WasmComponentPath(home, *key);
  const fs::path dir = result.component.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", ec.value());
  ::chmod(dir.c_str(), 0700);
  // One build per key at a time; a second waits and then finds the component.
  const fs::path lock_path = dir / (*key + ".lock");
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return FailErrno(ErrorCode::kIo, "open(" + lock_path.string() + ")", errno);
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "flock(" + lock_path.string() + ")", errno);
  }
  struct stat st;
  result.cached = ::stat(result.component.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!result.cached) {
    auto chain = FindWasmToolchain();
    if (!chain) return std::unexpected(chain.error());
    const fs::path tmp = dir / (*key + ".tmp." + std::to_string(::getpid()));
    const fs::path error_file = dir / (*key + ".error." + std::to_string(::getpid()));
    fs::remove(error_file, ec);
    std::vector<std::string> argv = {(chain->tools / "py" / "bin" / "python").string(),
                                     (chain->sources / "build_component.py").string(),
                                     "--language", std::string(WasmLanguageName(wasm.language)),
                                     "--skill-dir", fs::absolute(skill_dir).string(),
                                     "--source", wasm.source,
                                     "--out", tmp.string(),
                                     "--tools", chain->tools.string(),
                                     "--guest", (chain->sources / "guest").string(),
                                     "--wit", chain->wit.string(),
                                     "--error-file", error_file.string()};
    for (const std::string& dep : wasm.dependencies) {
      argv.push_back("--dep");
      argv.push_back(dep);
    }
    const Clock::time_point start = Clock::now();
    auto status = RunTool(argv, kBuildTimeout);
    result.build_time =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (!status) return std::unexpected(status.error());
    if (*status != 0) {
      fs::remove(tmp, ec);
      std::string message;
      if (auto text = ReadFile(error_file)) message = *text;
      fs::remove(error_file, ec);
      if (*status == -1) {
        message = "the build took longer than " + std::to_string(kBuildTimeout.count()) +
                  " minutes; stopped";
      } else if (message.empty()) {
        message = "the build failed (exit status " + std::to_string(*status) +
                  "); its output is above";
      }
      return Fail(ErrorCode::kValidation,
                  (skill_dir / "skill.toml").string() + ": build failed: " + message);
    }
    fs::rename(tmp, result.component, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "rename(" + tmp.string() + ")", ec.value());
  }
  if (::stat(result.component.c_str(), &st) == 0) result.component_bytes = st.st_size;
  // Ahead of time into the runtime's disk cache, so that no run compiles it.
  const Clock::time_point start = Clock::now();
  auto compiled = PrecompileWasm(wasm_options, result.component, kCompileMemoryBytes,
                                 kCompileTimeout);
  result.compile_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (!compiled) return std::unexpected(compiled.error());
  result.compiled = *compiled;
  return result;
}

}  // namespace skillrt
