// Python dependencies through the built CLI (SKILLRT_CLI_PATH): a run whose packages are not
// prepared is refused; `skillrt prepare` installs them from the package index outside the
// sandbox into a read-only, content-addressed environment, audited; runs then import them
// from a read-only mount (docs/dependencies.md). The tests that install need the package
// index: they are skipped, saying so, when it cannot be reached.
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::CliResult;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::VarTmpDir;
using skillrt::testing::WriteFile;

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Why the package index cannot be reached (a TCP connection to its host, port 443, within
// 5 s), or nothing when it can. The host is $PIP_INDEX_URL's, else pypi.org.
std::optional<std::string> IndexUnreachable() {
  std::string host = "pypi.org";
  if (const char* url = ::getenv("PIP_INDEX_URL"); url != nullptr && *url != '\0') {
    std::string text = url;
    const size_t scheme = text.find("://");
    if (scheme != std::string::npos) text = text.substr(scheme + 3);
    host = text.substr(0, text.find_first_of(":/"));
  }
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), "443", &hints, &found) != 0 || found == nullptr) {
    return "cannot resolve " + host;
  }
  bool connected = false;
  for (struct addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
      int err = 0;
      socklen_t len = sizeof err;
      connected = ::poll(&p, 1, 5000) == 1 &&
                  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (!connected) return "cannot connect to " + host + ":443";
  return std::nullopt;
}

// The home is under /var/tmp: an environment under the host's /tmp is never mounted.
class DependenciesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    WriteFile(skills_ / "pdf/SKILL.md",
              "---\nname: pdf\ndescription: Reads PDFs.\n---\nRun `python3 scripts/info.py`.\n");
    WriteFile(skills_ / "pdf/skill.toml", "[capabilities]\ncommands = [\"python3\"]\n");
    WriteFile(skills_ / "pdf/scripts/info.py",
              "# /// script\n"
              "# dependencies = [\"pypdf\"]\n"
              "# ///\n"
              "import os, pypdf\n"
              "print('pypdf', pypdf.__version__, 'from', os.path.dirname(pypdf.__file__))\n");
    WriteFile(skills_ / "pdf/scripts/tamper.py",
              "import os, sys\n"
              "target = os.path.join(os.environ['PYTHONPATH'].split(':')[0], sys.argv[1])\n"
              "try:\n"
              "    open(target, 'w').write('import os\\n')\n"
              "    print('wrote', target)\n"
              "except OSError as e:\n"
              "    print('refused', target, e.strerror)\n"
              "    sys.exit(1)\n");
  }

  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--skills", skills_.string()});
    return RunCli(tmp_.path(), home_, args);
  }

  std::vector<nlohmann::json> Audit() {
    std::vector<nlohmann::json> records;
    std::istringstream lines(ReadFile(home_ / "audit.log"));
    for (std::string line; std::getline(lines, line);) {
      records.push_back(nlohmann::json::parse(line));
    }
    return records;
  }

  VarTmpDir tmp_;
  fs::path home_, skills_;
};

TEST_F(DependenciesCliTest, UnpreparedPackagesRefuseTheRun) {
  CliResult refused = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_TRUE(Has(refused.err, "pypdf, from script metadata (scripts/info.py)")) << refused.err;
  EXPECT_TRUE(Has(refused.err, "skillrt prepare pdf")) << refused.err;
  const auto records = Audit();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["event"], "refusal");
  CliResult info = Cli({"info", "pdf"});
  EXPECT_TRUE(Has(info.out, "not prepared: run `skillrt prepare pdf`")) << info.out;
  nlohmann::json shown = nlohmann::json::parse(Cli({"info", "pdf", "--json"}).out);
  EXPECT_EQ(shown["user"]["python"]["requirements"], nlohmann::json({"pypdf"}));
  EXPECT_TRUE(shown["user"]["python"]["environment"].is_null());
  // Positive control: the same skill without the metadata runs.
  WriteFile(skills_ / "pdf/scripts/info.py", "print('no packages')\n");
  CliResult ran = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
}

TEST_F(DependenciesCliTest, RefusedRequirementsAreNamed) {
  WriteFile(skills_ / "pdf/requirements.txt",
            "pypdf\n--extra-index-url https://packages.example/simple\n");
  CliResult prepare = Cli({"prepare", "pdf"});
  EXPECT_EQ(prepare.exit_code, 2) << prepare.err;
  EXPECT_TRUE(Has(prepare.err, "requirements.txt:2: '--extra-index-url")) << prepare.err;
  CliResult run = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(Has(run.err, "requirements.txt:2")) << run.err;
}

TEST_F(DependenciesCliTest, PrepareInstallsReadOnlyAndRunsImportThem) {
  if (auto why = IndexUnreachable()) {
    GTEST_SKIP() << "the package index is unreachable (" << *why
                 << "): preparing needs it; nothing about preparing was tested";
  }
  CliResult prepared = Cli({"prepare", "pdf", "--json"});
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err << prepared.out;
  nlohmann::json out = nlohmann::json::parse(prepared.out);
  const nlohmann::json& python = out["python"];
  EXPECT_EQ(python["created"], true);
  EXPECT_EQ(python["requirements"], nlohmann::json({"pypdf"}));
  EXPECT_EQ(python["source"], "script metadata (scripts/info.py)");
  const fs::path env = python["environment"].get<std::string>();
  EXPECT_EQ(env.parent_path(), home_ / "envs");
  EXPECT_EQ(env.filename().string(), python["id"].get<std::string>());
  bool has_pypdf = false;
  for (const auto& p : python["packages"]) has_pypdf |= p.get<std::string>().starts_with("pypdf==");
  EXPECT_TRUE(has_pypdf) << python["packages"];

  // Read-only on the host, and nothing half-written left beside it.
  struct stat st {};
  ASSERT_EQ(::stat(env.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  ASSERT_EQ(::stat((env / "site-packages/pypdf/__init__.py").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);
  for (const auto& entry : fs::directory_iterator(home_ / "envs")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".tmp-")) << entry.path();
  }
  // Audited as its own event.
  nlohmann::json event;
  for (const nlohmann::json& r : Audit()) {
    if (r.value("event", "") == "prepare") event = r;
  }
  ASSERT_FALSE(event.is_null());
  EXPECT_EQ(event["status"], "ok");
  EXPECT_EQ(event["environment"], python["id"]);
  EXPECT_EQ(event["python"]["requirements"], nlohmann::json({"pypdf"}));

  CliResult again = Cli({"prepare", "pdf", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["python"]["created"], false);

  // The run imports the package from the read-only mount.
  CliResult ran = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_TRUE(Has(ran.out, "from /opt/skillrt/python/site-packages/pypdf")) << ran.out;
  nlohmann::json run;
  for (const nlohmann::json& r : Audit()) {
    if (r.value("event", "") == "run") run = r;
  }
  EXPECT_EQ(run["invocation"]["dependencies"]["python"], python["id"]);

  // A skill cannot change its dependencies: the mount is read-only, for new files and old.
  for (const char* name : {"evil.py", "pypdf/__init__.py"}) {
    CliResult tamper = Cli({"exec", "pdf", "--", "python3", "scripts/tamper.py", name});
    EXPECT_EQ(tamper.exit_code, 1) << tamper.err << tamper.out;
    EXPECT_TRUE(Has(tamper.out, "Read-only file system")) << tamper.out;
  }
  EXPECT_FALSE(fs::exists(env / "site-packages/evil.py"));
  // Positive control: the same script writes where the sandbox may (its scratch /tmp).
  WriteFile(skills_ / "pdf/scripts/control.py",
            "import sys\nopen('/tmp/' + sys.argv[1], 'w').write('x')\nprint('wrote')\n");
  CliResult control = Cli({"exec", "pdf", "--", "python3", "scripts/control.py", "evil.py"});
  EXPECT_EQ(control.exit_code, 0) << control.err << control.out;
}

// As an unprivileged user (uid 65534): the environment belongs to that user, is read-only to
// it too, and `--force` can still replace it (the old tree is made writable to be removed).
TEST_F(DependenciesCliTest, PrepareAsAnUnprivilegedUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid 65534";
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/setpriv";
  if (auto why = IndexUnreachable()) {
    GTEST_SKIP() << "the package index is unreachable (" << *why << "): nothing was installed";
  }
  fs::create_directories(home_);
  for (const auto& entry : fs::recursive_directory_iterator(tmp_.path())) {
    ASSERT_EQ(::lchown(entry.path().c_str(), 65534, 65534), 0) << entry.path();
  }
  ASSERT_EQ(::chown(tmp_.path().c_str(), 65534, 65534), 0);
  auto as_nobody = [&](const std::string& args) {
    const fs::path out = tmp_.path() / "out", err = tmp_.path() / "err";
    const std::string command =
        "/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/env HOME=" +
        tmp_.path().string() + " SKILLRT_HOME=" + home_.string() + " " + SKILLRT_CLI_PATH +
        " --skills " + skills_.string() + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(command.c_str());
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                          ReadFile(out) + ReadFile(err));
  };
  auto [code, text] = as_nobody("prepare pdf --json");
  ASSERT_EQ(code, 0) << text;
  const fs::path env = nlohmann::json::parse(text.substr(0, text.rfind('}') + 1))["python"]
                                           ["environment"]
                                               .get<std::string>();
  struct stat st {};
  ASSERT_EQ(::stat(env.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  // The owner cannot write into it either (a control: the same user writes its home).
  const std::string probe = "/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups "
                            "/usr/bin/touch ";
  const fs::path evil = env / "site-packages/evil.py";
  EXPECT_NE(std::system((probe + evil.string() + " 2>/dev/null").c_str()), 0);
  EXPECT_EQ(std::system((probe + (home_ / "ok").string()).c_str()), 0);

  auto [again, again_text] = as_nobody("prepare pdf --force --json");
  ASSERT_EQ(again, 0) << again_text;
  EXPECT_TRUE(Has(again_text, "\"created\": true")) << again_text;
  ASSERT_EQ(::stat(env.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  for (const auto& entry : fs::directory_iterator(home_ / "envs")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".tmp-")) << entry.path();
  }
}

// A failed installation is audited and leaves nothing behind; the run stays refused.
TEST_F(DependenciesCliTest, AFailedPreparationIsAuditedAndLeavesNothing) {
  // Nothing listens on port 9 of the loopback: the installer fails at once (one try).
  ::setenv("PIP_RETRIES", "0", 1);
  CliResult failed = Cli({"prepare", "pdf", "--index-url", "http://127.0.0.1:9/simple"});
  ::unsetenv("PIP_RETRIES");
  EXPECT_EQ(failed.exit_code, 70) << failed.err << failed.out;
  EXPECT_TRUE(Has(failed.err, "failed")) << failed.err;
  nlohmann::json event;
  for (const nlohmann::json& r : Audit()) {
    if (r.value("event", "") == "prepare") event = r;
  }
  ASSERT_FALSE(event.is_null());
  EXPECT_EQ(event["status"], "error");
  EXPECT_EQ(event["index_url"], "http://127.0.0.1:9/simple");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(home_ / "envs", ec)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
  CliResult run = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
}

TEST_F(DependenciesCliTest, TheGrantsFileNamesPackagesForASkillThatDeclaresNone) {
  WriteFile(skills_ / "pdf/scripts/info.py",
            "import pypdf\nprint('pypdf', pypdf.__version__)\n");
  CliResult missing = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_TRUE(Has(missing.err, "No module named 'pypdf'")) << missing.err;
  ASSERT_EQ(Cli({"grant", "pdf", "--python", "pypdf"}).exit_code, 0);
  CliResult unprepared = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(unprepared.exit_code, 3) << unprepared.err;
  EXPECT_TRUE(Has(unprepared.err, "from grants file")) << unprepared.err;
  if (auto why = IndexUnreachable()) {
    GTEST_SKIP() << "the package index is unreachable (" << *why
                 << "): the grant's packages could not be prepared; nothing was installed";
  }
  CliResult prepared = Cli({"prepare", "pdf"});
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  EXPECT_TRUE(Has(prepared.out, "(from grants file)")) << prepared.out;
  CliResult ran = Cli({"exec", "pdf", "--", "python3", "scripts/info.py"});
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_TRUE(Has(ran.out, "pypdf ")) << ran.out;
}

}  // namespace
}  // namespace skillrt
