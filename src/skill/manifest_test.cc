#include "skillrt/manifest.h"

#include <string>

#include <gtest/gtest.h>

#include "skill/manifest_internal.h"
#include "test_util.h"

namespace skillrt {
namespace {

using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

Result<Manifest> Parse(std::string_view text, const std::filesystem::path& dir = "/nonexistent") {
  return ParseManifest(text, "skill.toml", dir);
}

// The error message of a manifest that must fail.
std::string ErrorOf(std::string_view text, const std::filesystem::path& dir = "/nonexistent") {
  auto m = Parse(text, dir);
  EXPECT_FALSE(m.has_value()) << text;
  return m.has_value() ? "" : m.error().message;
}

TEST(ManifestTest, EmptyManifestGivesDefaults) {
  auto m = Parse("");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->runtime, RuntimeKind::kNative);
  EXPECT_FALSE(m->entry.has_value());
  EXPECT_FALSE(m->input_schema.has_value());
  EXPECT_FALSE(m->inferred);
  EXPECT_TRUE(m->capabilities.read_paths.empty());
  EXPECT_FALSE(m->capabilities.network);
  Limits defaults;
  EXPECT_EQ(m->limits.memory_max_bytes, defaults.memory_max_bytes);
  EXPECT_EQ(m->limits.wall_time, defaults.wall_time);
}

TEST(ManifestTest, FullExample) {
  auto m = Parse(R"(
runtime = "native"

[entry]
argv = ["python3", "scripts/calc.py"]
input = "none"
output = "text"
input_schema = { type = "object", required = ["x"], properties = { x = { type = "integer" } } }

[capabilities]
read = ["/srv/data", "/home/u/docs/"]
write = ["/srv/out"]
network = false
commands = ["python3", "sort", "/opt/tool/bin/run"]

[capabilities.env]
pass = ["LANG", "TZ"]
set = { MODE = "fast", _X1 = "" }

[limits]
wall_time_ms = 5000
cpu_time_ms = 4000
memory_mb = 128
processes = 16
output_kb = 64
file_size_mb = 2
scratch_mb = 32
open_files = 100
)");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_TRUE(m->entry.has_value());
  EXPECT_EQ(m->entry->argv, (std::vector<std::string>{"python3", "scripts/calc.py"}));
  EXPECT_EQ(m->entry->input, InputMode::kNone);
  EXPECT_EQ(m->entry->output, OutputMode::kText);
  ASSERT_TRUE(m->input_schema.has_value());
  EXPECT_EQ((*m->input_schema)["properties"]["x"]["type"], "integer");
  EXPECT_EQ((*m->input_schema)["required"][0], "x");
  EXPECT_EQ(m->capabilities.read_paths,
            (std::vector<std::filesystem::path>{"/srv/data", "/home/u/docs"}));
  EXPECT_EQ(m->capabilities.write_paths, (std::vector<std::filesystem::path>{"/srv/out"}));
  EXPECT_EQ(m->capabilities.commands,
            (std::vector<std::string>{"python3", "sort", "/opt/tool/bin/run"}));
  EXPECT_EQ(m->capabilities.env.pass, (std::vector<std::string>{"LANG", "TZ"}));
  EXPECT_EQ(m->capabilities.env.set.at("MODE"), "fast");
  EXPECT_EQ(m->capabilities.env.set.at("_X1"), "");
  EXPECT_EQ(m->limits.wall_time, std::chrono::milliseconds(5000));
  EXPECT_EQ(m->limits.cpu_time, std::chrono::milliseconds(4000));
  EXPECT_EQ(m->limits.memory_max_bytes, 128ull << 20);
  EXPECT_EQ(m->limits.pids_max, 16u);
  EXPECT_EQ(m->limits.output_max_bytes, 64ull << 10);
  EXPECT_EQ(m->limits.file_size_max_bytes, 2ull << 20);
  EXPECT_EQ(m->limits.scratch_max_bytes, 32ull << 20);
  EXPECT_EQ(m->limits.open_files_max, 100u);
}

TEST(ManifestTest, EntryDefaults) {
  auto m = Parse("[entry]\nargv = [\"bash\", \"scripts/x.sh\"]\n");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->entry->input, InputMode::kStdin);
  EXPECT_EQ(m->entry->output, OutputMode::kJson);
}

TEST(ManifestTest, RuntimeValues) {
  EXPECT_EQ(Parse("runtime = \"wasm\"")->runtime, RuntimeKind::kWasm);
  EXPECT_EQ(Parse("runtime = \"container\"\n[container]\nimage = \"localhost/x:1\"\n")->runtime,
            RuntimeKind::kContainer);
  EXPECT_EQ(ErrorOf("runtime = \"jvm\""),
            "skill.toml: runtime: unknown runtime 'jvm' (expected \"native\", \"wasm\" or "
            "\"container\")");
  EXPECT_EQ(ErrorOf("runtime = 1"), "skill.toml: runtime: expected a string, got integer");
}

TEST(ManifestTest, ContainerTable) {
  auto m = Parse(
      "runtime = \"container\"\n[container]\nimage = \"localhost/skillrt-busybox:1\"\n"
      "entrypoint = [\"/bin/sh\"]\ncommand = [\"/skill/run.sh\", \"x\"]\nworkdir = \"/tmp\"\n"
      "user = \"1000:1000\"\ncpus = 0.5\n[entry]\noutput = \"text\"\n");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_TRUE(m->container.has_value());
  EXPECT_EQ(m->container->image, "localhost/skillrt-busybox:1");
  EXPECT_EQ(m->container->entrypoint, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(m->container->workdir, "/tmp");
  EXPECT_EQ(m->container->user, "1000:1000");
  EXPECT_DOUBLE_EQ(m->container->cpus, 0.5);
  EXPECT_TRUE(m->container->read_only_root);
  // container.command becomes the entry point's argv; [entry] keeps its modes.
  ASSERT_TRUE(m->entry.has_value());
  EXPECT_EQ(m->entry->argv, (std::vector<std::string>{"/skill/run.sh", "x"}));
  EXPECT_EQ(m->entry->output, OutputMode::kText);

  // Defaults: non-root user, read-only root, /skill as working directory.
  auto d = Parse(
      "runtime = \"container\"\n[container]\nimage = \"i:1\"\n[entry]\nargv = [\"sh\"]\n");
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->container->user, "65534:65534");
  EXPECT_EQ(d->container->workdir, "/skill");
  EXPECT_EQ(d->entry->argv, std::vector<std::string>{"sh"});
}

TEST(ManifestTest, ContainerErrorsNameTheirKey) {
  const std::string head = "runtime = \"container\"\n[container]\n";
  EXPECT_EQ(ErrorOf("runtime = \"container\"\n"),
            "skill.toml: container: required with runtime = \"container\": a [container] "
            "table with at least image = \"...\"");
  EXPECT_EQ(ErrorOf("[container]\nimage = \"i\"\n"),
            "skill.toml: container: only valid with runtime = \"container\"");
  EXPECT_EQ(ErrorOf(head + "command = [\"sh\"]\n"),
            "skill.toml: container.image: required: the image to run, e.g. "
            "\"localhost/skillrt-busybox:1\"");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\nimage_tag = 1\n"),
            "skill.toml: container.image_tag: unknown key");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\ncommand = [\"a\"]\n[entry]\nargv = [\"b\"]\n"),
            "skill.toml: container.command: entry.argv is also set; give the command once");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\nprivileged = \"yes\"\n"),
            "skill.toml: container.privileged: expected a boolean, got string");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\ncpus = \"2\"\n"),
            "skill.toml: container.cpus: expected a number, got string");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\nuser = \"root\"\n"),
            "skill.toml: container.user: refused by the container launch policy: 'root' runs "
            "as root; containers run as a non-root numeric user (default \"65534:65534\")");
  EXPECT_EQ(ErrorOf(head + "image = \"i\"\n[entry]\nargv = [\"sh\"]\n[capabilities]\n"
                           "commands = [\"sh\"]\n")
                .rfind("skill.toml: capabilities.commands: not used by the container runtime", 0),
            0u);
}

TEST(ManifestTest, UnknownKeysNameTheirPath) {
  EXPECT_EQ(ErrorOf("[limits]\nmemroy_mb = 5\n"), "skill.toml: limits.memroy_mb: unknown key");
  EXPECT_EQ(ErrorOf("name = \"x\"\n"), "skill.toml: name: unknown key");
  EXPECT_EQ(ErrorOf("[entry]\nargv = [\"a\"]\nargs = 1\n"), "skill.toml: entry.args: unknown key");
  EXPECT_EQ(ErrorOf("[capabilities]\nnet = false\n"),
            "skill.toml: capabilities.net: unknown key");
  EXPECT_EQ(ErrorOf("[capabilities.env]\nkeep = []\n"),
            "skill.toml: capabilities.env.keep: unknown key");
}

TEST(ManifestTest, WrongTypesNameExpectedType) {
  EXPECT_EQ(ErrorOf("[limits]\nmemory_mb = \"256\"\n"),
            "skill.toml: limits.memory_mb: expected a positive integer, got string");
  EXPECT_EQ(ErrorOf("[limits]\nmemory_mb = 2.5\n"),
            "skill.toml: limits.memory_mb: expected a positive integer, got float");
  EXPECT_EQ(ErrorOf("limits = 3\n"), "skill.toml: limits: expected a table, got integer");
  EXPECT_EQ(ErrorOf("[entry]\nargv = \"python3 x.py\"\n"),
            "skill.toml: entry.argv: expected an array of strings, got string");
  EXPECT_EQ(ErrorOf("[entry]\nargv = [\"python3\", 3]\n"),
            "skill.toml: entry.argv[1]: expected a string, got integer");
  EXPECT_EQ(ErrorOf("[capabilities]\nnetwork = \"no\"\n"),
            "skill.toml: capabilities.network: expected false or a table with 'allow', got "
            "string");
  EXPECT_EQ(ErrorOf("[capabilities.env]\nset = { A = 1 }\n"),
            "skill.toml: capabilities.env.set.A: expected a string, got integer");
}

TEST(ManifestTest, LimitsMustBePositiveAndCapped) {
  EXPECT_EQ(ErrorOf("[limits]\nprocesses = 0\n"),
            "skill.toml: limits.processes: expected a positive integer, got 0");
  EXPECT_EQ(ErrorOf("[limits]\nwall_time_ms = -1\n"),
            "skill.toml: limits.wall_time_ms: expected a positive integer, got -1");
  EXPECT_EQ(ErrorOf("[limits]\nmemory_mb = 65537\n"),
            "skill.toml: limits.memory_mb: 65537 is above the maximum of 65536 MiB");
  EXPECT_NE(ErrorOf("[limits]\nwall_time_ms = 86400001\n").find("above the maximum"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[limits]\nprocesses = 4097\n").find("above the maximum of 4096"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[limits]\noutput_kb = 1048577\n").find("above the maximum"),
            std::string::npos);
  auto max = Parse("[limits]\nwall_time_ms = 86400000\nmemory_mb = 65536\n");
  ASSERT_TRUE(max.has_value()) << max.error().ToString();
  EXPECT_EQ(max->limits.memory_max_bytes, 65536ull << 20);
}

TEST(ManifestTest, SyntaxErrorCarriesLineAndColumn) {
  auto m = Parse("runtime = \"native\"\n[limits]\nmemory_mb = = 3\n");
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kParse);
  EXPECT_TRUE(m.error().message.starts_with("skill.toml:3:")) << m.error().message;
  // Duplicate keys are a TOML syntax error too.
  auto dup = Parse("[limits]\nmemory_mb = 1\nmemory_mb = 2\n");
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(dup.error().message.starts_with("skill.toml:3:")) << dup.error().message;
}

TEST(ManifestTest, NetworkTrueMustNameTheHosts) {
  EXPECT_NE(ErrorOf("[capabilities]\nnetwork = true\n")
                .find("skill.toml: capabilities.network: true does not say where to"),
            std::string::npos);
  auto off = Parse("[capabilities]\nnetwork = false\n");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->capabilities.network);
  EXPECT_TRUE(off->capabilities.egress.empty());
  auto empty = Parse("[capabilities.network]\nallow = []\n");
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->capabilities.network);
}

TEST(ManifestTest, NetworkAllowlistIsParsedAndNormalised) {
  auto m = Parse(
      "[capabilities.network]\n"
      "allow = [\"API.example.com\", \"*.cdn.example.com:*\", \"10.1.0.0/16:5432\",\n"
      "         { host = \"svc.test:8080\", addresses = [\"127.0.0.1\"] }, \"[fd00::1]:443\"]\n");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_TRUE(m->capabilities.network);
  ASSERT_EQ(m->capabilities.egress.size(), 5u);
  EXPECT_EQ(m->capabilities.egress[0], (EgressRule{.host = "api.example.com", .port = 443}));
  EXPECT_EQ(m->capabilities.egress[1], (EgressRule{.host = "*.cdn.example.com", .port = 0}));
  EXPECT_EQ(m->capabilities.egress[2], (EgressRule{.host = "10.1.0.0/16", .port = 5432}));
  EXPECT_EQ(m->capabilities.egress[3],
            (EgressRule{.host = "svc.test", .port = 8080, .addresses = {"127.0.0.1"}}));
  EXPECT_EQ(m->capabilities.egress[4], (EgressRule{.host = "fd00::1", .port = 443}));
  // The array-of-tables spelling is the same thing.
  auto tables = Parse(
      "[[capabilities.network.allow]]\nhost = \"svc.test:8080\"\naddresses = [\"10.0.0.0/8\"]\n");
  ASSERT_TRUE(tables.has_value()) << tables.error().ToString();
  EXPECT_EQ(tables->capabilities.egress.at(0).addresses, std::vector<std::string>{"10.0.0.0/8"});
}

TEST(ManifestTest, NetworkAllowlistErrorsNameTheEntry) {
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = \"x.com\"\n"),
            "skill.toml: capabilities.network.allow: expected an array, got string");
  EXPECT_EQ(ErrorOf("[capabilities.network]\nhosts = []\n"),
            "skill.toml: capabilities.network.hosts: unknown key");
  EXPECT_NE(ErrorOf("[capabilities.network]\nallow = [\"ok.com\", \"*\"]\n")
                .find("skill.toml: capabilities.network.allow[1]: '*' is not a host name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities.network]\nallow = [\"ok.com:99999\"]\n")
                .find("capabilities.network.allow[0]: 'ok.com:99999': port '99999'"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [\"ok.com\", \"OK.com:443\"]\n"),
            "skill.toml: capabilities.network.allow[1]: duplicate entry 'ok.com:443'");
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [{ addresses = [] }]\n"),
            "skill.toml: capabilities.network.allow[0].host: required: \"host[:port]\"");
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [{ host = \"a.com\", via = 1 }]\n"),
            "skill.toml: capabilities.network.allow[0].via: unknown key");
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [{ host = \"a.com\", addresses = [1] }]\n"),
            "skill.toml: capabilities.network.allow[0].addresses[0]: expected a string, got "
            "integer");
  EXPECT_NE(ErrorOf("[capabilities.network]\nallow = [{ host = \"a.com\", addresses = "
                    "[\"10.0.0.1/8\"] }]\n")
                .find("capabilities.network.allow[0]: '10.0.0.1/8' is not an IP address"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities.network]\nallow = [\"0.0.0.0/0\"]\n").find("too broad"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [3]\n"),
            "skill.toml: capabilities.network.allow[0]: expected a string \"host[:port]\" or a "
            "table { host, addresses, tls }, got integer");
  EXPECT_EQ(ErrorOf("[capabilities.network]\nallow = [{ host = \"a.com\", tls = \"yes\" }]\n"),
            "skill.toml: capabilities.network.allow[0].tls: expected a boolean, got string");
}

TEST(ManifestTest, EgressEntriesMayBeMarkedTlsOnly) {
  auto m = Parse("[capabilities.network]\nallow = [\"a.com:80\", { host = \"b.com:8443\", "
                 "tls = true }]\n");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->capabilities.egress.size(), 2u);
  EXPECT_FALSE(m->capabilities.egress[0].tls);
  EXPECT_TRUE(m->capabilities.egress[1].tls);
  EXPECT_EQ(m->capabilities.egress[1].port, 8443);
}

TEST(ManifestTest, EntryRules) {
  EXPECT_NE(ErrorOf("[entry]\ninput = \"stdin\"\n").find("entry.argv: required"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[entry]\nargv = []\n"), "skill.toml: entry.argv: must not be empty");
  EXPECT_EQ(ErrorOf("[entry]\nargv = [\"\"]\n"), "skill.toml: entry.argv[0]: must not be empty");
  EXPECT_NE(ErrorOf("[entry]\nargv = [\"a\"]\ninput = \"file\"\n").find("entry.input: unknown"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[entry]\nargv = [\"a\"]\noutput = \"xml\"\n").find("entry.output: unknown"),
            std::string::npos);
}

TEST(ManifestTest, PathsMustBeAbsoluteNormalizedAndNotReserved) {
  EXPECT_NE(ErrorOf("[capabilities]\nread = [\"data\"]\n").find("capabilities.read[0]: 'data' "
                                                               "is not an absolute path"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities]\nread = [\"/srv/../etc\"]\n").find("'..'"),
            std::string::npos);
  for (const char* bad : {"/", "/etc", "/etc/passwd", "/proc/self", "/sys", "/dev/sda", "/tmp",
                          "/tmp/x", "/skill", "/usr/lib", "/bin", "/sbin", "/lib", "/lib64/x",
                          "/lib32", "/libx32", "/boot", "/run/user", "/var/run/docker.sock",
                          "//etc", "/./proc"}) {
    std::string toml = "[capabilities]\nwrite = [\"" + std::string(bad) + "\"]\n";
    EXPECT_NE(ErrorOf(toml).find("reserved or system path"), std::string::npos) << bad;
  }
  auto ok = Parse("[capabilities]\nread = [\"/library\", \"/var/lib/x\", \"/srv//a/./b/\"]\n");
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->capabilities.read_paths,
            (std::vector<std::filesystem::path>{"/library", "/var/lib/x", "/srv/a/b"}));
}

TEST(ManifestTest, DuplicatesAreErrors) {
  EXPECT_EQ(ErrorOf("[capabilities]\nread = [\"/srv/a\", \"/srv/a/\"]\n"),
            "skill.toml: capabilities.read[1]: duplicate entry '/srv/a'");
  EXPECT_NE(ErrorOf("[capabilities]\nread = [\"/srv/a\"]\nwrite = [\"/srv/a\"]\n")
                .find("capabilities.write[0]: '/srv/a' is also listed in capabilities.read"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[capabilities]\ncommands = [\"sort\", \"sort\"]\n"),
            "skill.toml: capabilities.commands[1]: duplicate entry 'sort'");
  EXPECT_EQ(ErrorOf("[capabilities.env]\npass = [\"A\", \"A\"]\n"),
            "skill.toml: capabilities.env.pass[1]: duplicate entry 'A'");
}

TEST(ManifestTest, CommandsAreNamesOrAbsolutePaths) {
  EXPECT_NE(ErrorOf("[capabilities]\ncommands = [\"bin/tool\"]\n").find("without '/'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities]\ncommands = [\"rm -rf\"]\n").find("whitespace"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities]\ncommands = [\"\"]\n").find("empty command"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities]\ncommands = [\"/usr/../bin/sh\"]\n").find("normalized"),
            std::string::npos);
}

TEST(ManifestTest, EnvNames) {
  EXPECT_NE(ErrorOf("[capabilities.env]\npass = [\"1A\"]\n").find("not a variable name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities.env]\npass = [\"A-B\"]\n").find("not a variable name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[capabilities.env]\nset = { \"A B\" = \"x\" }\n")
                .find("capabilities.env.set.A B: 'A B' is not a variable name"),
            std::string::npos);
}

TEST(ManifestTest, ReportsTheFirstErrorAndCountsTheRest) {
  auto m = Parse("[limits]\nmemroy_mb = 1\nprocesses = 0\n");
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kValidation);
  EXPECT_EQ(m.error().message, "skill.toml: limits.memroy_mb: unknown key (and 1 more)");
}

TEST(ManifestTest, ParseAllCollectsEveryIssueWithLines) {
  auto out = manifest_internal::ParseAll(
      "runtime = \"x\"\n[limits]\nmemroy_mb = 1\nprocesses = \"a\"\n[capabilities]\n"
      "read = [\"/etc\"]\n",
      "/nonexistent");
  ASSERT_EQ(out.issues.size(), 4u);
  EXPECT_EQ(out.issues[0].key_path, "runtime");
  EXPECT_EQ(out.issues[0].line, 1);
  EXPECT_EQ(out.issues[1].key_path, "capabilities.read[0]");
  EXPECT_EQ(out.issues[1].line, 6);
  EXPECT_EQ(out.issues[2].key_path, "limits.memroy_mb");
  EXPECT_EQ(out.issues[2].line, 3);
  EXPECT_EQ(out.issues[3].key_path, "limits.processes");
  EXPECT_EQ(out.issues[3].line, 4);
}

TEST(ManifestTest, InputSchemaFromFile) {
  TempDir tmp;
  WriteFile(tmp.path() / "schema/input.json",
            R"({"type": "object", "properties": {"n": {"type": "number"}}})");
  auto m = Parse("[entry]\nargv = [\"a\"]\ninput_schema = \"schema/input.json\"\n", tmp.path());
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_TRUE(m->input_schema.has_value());
  EXPECT_EQ((*m->input_schema)["properties"]["n"]["type"], "number");
}

TEST(ManifestTest, InputSchemaPathMustStayInside) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path() / "skill");
  WriteFile(tmp.path() / "outside.json", "{}");
  const auto dir = tmp.path() / "skill";
  auto entry = [](std::string path) {
    return "[entry]\nargv = [\"a\"]\ninput_schema = \"" + path + "\"\n";
  };
  EXPECT_NE(ErrorOf(entry("../outside.json"), dir).find("must stay inside"), std::string::npos);
  EXPECT_NE(ErrorOf(entry((tmp.path() / "outside.json").string()), dir).find("relative"),
            std::string::npos);
  std::filesystem::create_symlink(tmp.path() / "outside.json", dir / "link.json");
  EXPECT_NE(ErrorOf(entry("link.json"), dir).find("resolves outside"), std::string::npos);
  EXPECT_NE(ErrorOf(entry("missing.json"), dir).find("entry.input_schema:"), std::string::npos);
  WriteFile(dir / "bad.json", "{\"type\": ");
  EXPECT_NE(ErrorOf(entry("bad.json"), dir).find("is not valid JSON"), std::string::npos);
  WriteFile(dir / "typo.json", R"({"type": "strnig"})");
  EXPECT_NE(ErrorOf(entry("typo.json"), dir).find("invalid schema: /type"), std::string::npos);
}

TEST(ManifestTest, InputSchemaWrongType) {
  EXPECT_EQ(ErrorOf("[entry]\nargv = [\"a\"]\ninput_schema = 3\n"),
            "skill.toml: entry.input_schema: expected a path (string) or an inline table, got "
            "integer");
}

TEST(ManifestTest, ParseManifestFileNamesTheFile) {
  TempDir tmp;
  auto missing = ParseManifestFile(tmp.path() / "skill.toml", tmp.path());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  WriteFile(tmp.path() / "skill.toml", "[limits]\nx = 1\n");
  auto bad = ParseManifestFile(tmp.path() / "skill.toml", tmp.path());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, (tmp.path() / "skill.toml").string() + ": limits.x: unknown key");
}

TEST(ManifestTest, NarrowLimitsTakesTheSmallerOfEach) {
  Limits a{.wall_time = std::chrono::milliseconds(100), .memory_max_bytes = 1 << 20,
           .pids_max = 10};
  Limits b{.wall_time = std::chrono::milliseconds(50), .memory_max_bytes = 2 << 20,
           .pids_max = 5, .open_files_max = 1000};
  Limits n = NarrowLimits(a, b);
  EXPECT_EQ(n.wall_time, std::chrono::milliseconds(50));
  EXPECT_EQ(n.memory_max_bytes, 1u << 20);
  EXPECT_EQ(n.pids_max, 5u);
  EXPECT_EQ(n.open_files_max, 256u);
  EXPECT_EQ(n.cpu_time, Limits{}.cpu_time);
}

TEST(ManifestTest, RuntimeKindNames) {
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kNative), "native");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kWasm), "wasm");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kContainer), "container");
}

}  // namespace
}  // namespace skillrt

namespace skillrt {
namespace {

TEST(ManifestSecretsTest, DeclaresNamesWithDefaults) {
  auto m = ParseManifest(R"(
[secrets]
API_TOKEN = { description = "token for the API", required = true, redact = true }
OPTIONAL_KEY = { required = false, redact = false }
BARE = {}
)",
                         "skill.toml", "/nonexistent");
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  ASSERT_EQ(m->secrets.size(), 3u);
  EXPECT_EQ(m->secrets.at("API_TOKEN").description, "token for the API");
  EXPECT_TRUE(m->secrets.at("API_TOKEN").required);
  EXPECT_FALSE(m->secrets.at("OPTIONAL_KEY").required);
  EXPECT_FALSE(m->secrets.at("OPTIONAL_KEY").redact);
  EXPECT_TRUE(m->secrets.at("BARE").required);  // Defaults fail closed.
  EXPECT_TRUE(m->secrets.at("BARE").redact);
}

TEST(ManifestSecretsTest, StrictParsingNamesTheKeyPath) {
  auto error = [](std::string_view text) {
    auto m = ParseManifest(text, "skill.toml", "/nonexistent");
    EXPECT_FALSE(m.has_value()) << text;
    return m.has_value() ? std::string() : m.error().message;
  };
  EXPECT_EQ(error("[secrets]\nT = { redact = \"no\" }\n"),
            "skill.toml: secrets.T.redact: expected a boolean, got string");
  EXPECT_EQ(error("[secrets]\nT = { value = \"x\" }\n"),
            "skill.toml: secrets.T.value: unknown key");
  EXPECT_EQ(error("[secrets]\nT = \"env:HOME\"\n"),
            "skill.toml: secrets.T: expected a table, got string");
  EXPECT_EQ(error("[secrets]\n\"A-B\" = {}\n"),
            "skill.toml: secrets.A-B: 'A-B' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
  EXPECT_EQ(error("[secrets]\nSKILLRT_X = {}\n"),
            "skill.toml: secrets.SKILLRT_X: SKILLRT_X is reserved by skillrt");
  EXPECT_EQ(error("[secrets]\nPATH = {}\n"),
            "skill.toml: secrets.PATH: PATH is reserved by skillrt");
  EXPECT_NE(error("[capabilities.env]\npass = [\"T\"]\n[secrets]\nT = {}\n")
                .find("secrets.T: T is also named in capabilities.env"),
            std::string::npos);
  EXPECT_EQ(error("secrets = 3\n"), "skill.toml: secrets: expected a table, got integer");
}

}  // namespace
}  // namespace skillrt
