#include "sandbox/linux/mount.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "test_util.h"

namespace skillrt::mount {
namespace {

using skillrt::testing::TempDir;

bool HasOp(const RootPlan& root, Op::Kind kind, std::string_view inside) {
  const std::string staged = std::string(kStagingDir) + std::string(inside);
  return std::any_of(root.ops.begin(), root.ops.end(),
                     [&](const Op& op) { return op.kind == kind && staged == op.path; });
}

TEST(MountPlanTest, MinimalRootHasOnlyWhatInterpretersNeed) {
  TempDir skill;
  Plan plan;
  plan.skill_dir = skill.path();
  RootPlan root;
  ASSERT_TRUE(PlanRoot(plan, &root));
  EXPECT_TRUE(HasOp(root, Op::Kind::kBind, "/usr"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kBind, "/skill"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kTmpfs, "/tmp"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kProc, "/proc"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kBind, "/dev/null"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kWriteFile, "/etc/passwd"));
  for (const char* absent : {"/home", "/root", "/var", "/run", "/etc/shadow", "/sys"}) {
    EXPECT_FALSE(HasOp(root, Op::Kind::kBind, absent)) << absent;
    EXPECT_FALSE(HasOp(root, Op::Kind::kMkdir, absent)) << absent;
  }
  for (const char* source : root.sources) {
    EXPECT_STRNE(source, "/etc/passwd");
    EXPECT_STRNE(source, "/etc/shadow");
    EXPECT_STRNE(source, "/home");
  }
  // The skill directory is mounted read-only.
  for (const Op& op : root.ops) {
    if (std::string_view(op.path) == std::string(kStagingDir) + "/skill") {
      EXPECT_TRUE(op.attr_set & MOUNT_ATTR_RDONLY);
    }
  }
}

// A directory outside /tmp: the sandbox's /tmp is its private scratch, so host paths under
// /tmp cannot be declared.
class VarTmpDir {
 public:
  VarTmpDir() {
    std::string tmpl = "/var/tmp/skillrt-mount-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~VarTmpDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(MountPlanTest, DeclaredPathsKeepTheirModeAndGetParents) {
  TempDir skill;
  VarTmpDir data;
  std::filesystem::create_directories(data.path() / "in");
  std::filesystem::create_directories(data.path() / "out");
  Plan plan;
  plan.skill_dir = skill.path();
  plan.mounts = {{.path = data.path() / "in", .writable = false},
                 {.path = data.path() / "out", .writable = true}};
  RootPlan root;
  ASSERT_TRUE(PlanRoot(plan, &root));
  int binds = 0;
  for (const Op& op : root.ops) {
    const std::string in = std::string(kStagingDir) + (data.path() / "in").string();
    const std::string out = std::string(kStagingDir) + (data.path() / "out").string();
    if (op.kind == Op::Kind::kBind && op.path == in) {
      EXPECT_TRUE(op.attr_set & MOUNT_ATTR_RDONLY);
      ++binds;
    }
    if (op.kind == Op::Kind::kBind && op.path == out) {
      EXPECT_FALSE(op.attr_set & MOUNT_ATTR_RDONLY);
      EXPECT_TRUE(op.attr_set & MOUNT_ATTR_NOSUID);
      ++binds;
    }
  }
  EXPECT_EQ(binds, 2);
  EXPECT_TRUE(HasOp(root, Op::Kind::kMkdir, data.path().string()));
}

TEST(MountPlanTest, RefusesReservedAndMissingPaths) {
  TempDir skill;
  for (const char* bad : {"/tmp", "/proc/1", "/usr/lib", "/etc", "/skill/x", "/"}) {
    Plan plan;
    plan.skill_dir = skill.path();
    plan.mounts = {{.path = bad}};
    RootPlan root;
    auto r = PlanRoot(plan, &root);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  Plan plan;
  plan.skill_dir = skill.path();
  plan.mounts = {{.path = "/nonexistent/skillrt/path"}};
  RootPlan root;
  auto r = PlanRoot(plan, &root);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/skillrt/path"), std::string::npos);
}

}  // namespace
}  // namespace skillrt::mount
