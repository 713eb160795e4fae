#include "sandbox/linux/mount.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "test_util.h"

namespace skillrt::mount {
namespace {

using skillrt::testing::TempDir;
using skillrt::testing::VarTmpDir;

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
  ASSERT_TRUE(PlanRoot(plan, false, &root));
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
  for (const Source& source : root.sources) {
    EXPECT_STRNE(source.path, "/etc/passwd");
    EXPECT_STRNE(source.path, "/etc/shadow");
    EXPECT_STRNE(source.path, "/home");
  }
  // The skill directory is mounted read-only.
  for (const Op& op : root.ops) {
    if (std::string_view(op.path) == std::string(kStagingDir) + "/skill") {
      EXPECT_TRUE(op.attr_set & MOUNT_ATTR_RDONLY);
    }
  }
}

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
  ASSERT_TRUE(PlanRoot(plan, false, &root));
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
    auto r = PlanRoot(plan, false, &root);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  Plan plan;
  plan.skill_dir = skill.path();
  plan.mounts = {{.path = "/nonexistent/skillrt/path"}};
  RootPlan root;
  auto r = PlanRoot(plan, false, &root);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/skillrt/path"), std::string::npos);
}

// A declared path that is a symbolic link is judged and bound by its target: a link to the
// host's root is refused whatever it is called, and a link to a plain directory binds that
// directory's object, pinned by device and inode.
TEST(MountPlanTest, DeclaredSymlinksAreResolvedAndPinned) {
  TempDir skill;
  VarTmpDir data;
  std::filesystem::create_directories(data.path() / "real");
  std::filesystem::create_directory_symlink("/", data.path() / "to-root");
  std::filesystem::create_directory_symlink(data.path() / "real", data.path() / "to-real");

  Plan plan;
  plan.skill_dir = skill.path();
  plan.mounts = {{.path = data.path() / "to-root"}};
  RootPlan root;
  auto refused = PlanRoot(plan, false, &root);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kDenied);
  EXPECT_NE(refused.error().message.find("resolves to /"), std::string::npos)
      << refused.error().message;

  // Positive control: the link to a plain directory is bound, with the target as source.
  plan.mounts = {{.path = data.path() / "to-real"}};
  RootPlan ok;
  ASSERT_TRUE(PlanRoot(plan, false, &ok));
  struct stat st;
  ASSERT_EQ(::stat((data.path() / "real").c_str(), &st), 0);
  bool found = false;
  for (const Source& source : ok.sources) {
    if (source.pinned && source.path == (data.path() / "real").string()) {
      found = true;
      EXPECT_EQ(source.device, static_cast<uint64_t>(st.st_dev));
      EXPECT_EQ(source.inode, static_cast<uint64_t>(st.st_ino));
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(HasOp(ok, Op::Kind::kBind, (data.path() / "to-real").string()));
}

// The surface script-style skills need: /dev/shm sized by the limits, the python alias, and
// /skillrt reserved for it.
TEST(MountPlanTest, ShmAndCommandAliases) {
  TempDir skill;
  Plan plan;
  plan.skill_dir = skill.path();
  plan.limits.scratch_max_bytes = 64ull << 20;
  plan.limits.memory_max_bytes = 64ull << 20;
  EXPECT_EQ(ShmBytes(plan.limits), 32ull << 20);
  plan.limits.memory_max_bytes = 1ull << 30;
  EXPECT_EQ(ShmBytes(plan.limits), 64ull << 20);
  RootPlan root;
  ASSERT_TRUE(PlanRoot(plan, false, &root));
  for (const Op& op : root.ops) {
    if (op.kind == Op::Kind::kTmpfs && std::string_view(op.path) == "/tmp/dev/shm") {
      EXPECT_NE(std::string_view(op.arg).find("size=67108864"), std::string_view::npos) << op.arg;
      EXPECT_TRUE(op.attr_set & MOUNT_ATTR_NOEXEC);
    }
  }
  EXPECT_TRUE(HasOp(root, Op::Kind::kTmpfs, "/dev/shm"));
  EXPECT_TRUE(HasOp(root, Op::Kind::kMkdir, kAliasDir));
  if (AliasTarget("python")) {
    EXPECT_TRUE(HasOp(root, Op::Kind::kSymlink, std::string(kAliasDir) + "/python"));
    EXPECT_TRUE(AliasTarget("python")->ends_with("/python3"));
  }
  EXPECT_FALSE(AliasTarget("python3"));  // Not an alias: found on PATH as itself.
  plan.mounts = {{.path = "/skillrt/bin"}};
  RootPlan reserved;
  EXPECT_FALSE(PlanRoot(plan, false, &reserved));
}

// The workspace is bound not recursively and noexec (or attached from the handed tree), and a
// mount is never made before one that contains it, whatever the plan's order.
TEST(MountPlanTest, WorkspaceOpsAndParentsFirst) {
  TempDir skill;
  VarTmpDir data;
  std::filesystem::create_directories(data.path() / "ws" / "ref");
  Plan plan;
  plan.skill_dir = skill.path();
  plan.mounts = {{.path = data.path() / "ws" / "ref"},
                 {.path = data.path() / "ws", .writable = true, .workspace = true}};
  for (bool handed : {false, true}) {
    RootPlan root;
    ASSERT_TRUE(PlanRoot(plan, handed, &root));
    const std::string ws = std::string(kStagingDir) + (data.path() / "ws").string();
    const std::string ref = std::string(kStagingDir) + (data.path() / "ws" / "ref").string();
    size_t ws_at = root.ops.size(), ref_at = root.ops.size();
    for (size_t i = 0; i < root.ops.size(); ++i) {
      const Op& op = root.ops[i];
      if (op.path == ws && op.kind != Op::Kind::kMkdir) {
        ws_at = i;
        EXPECT_EQ(op.kind, handed ? Op::Kind::kAttach : Op::Kind::kBind);
        EXPECT_FALSE(op.recursive);
        EXPECT_EQ(root.sources[op.source].handed, handed);
        if (!handed) {
          EXPECT_TRUE(op.attr_set & MOUNT_ATTR_NOEXEC);
          EXPECT_FALSE(op.attr_set & MOUNT_ATTR_RDONLY);
        }
      }
      if (op.path == ref && op.kind == Op::Kind::kBind) ref_at = i;
    }
    ASSERT_LT(ws_at, root.ops.size());
    ASSERT_LT(ref_at, root.ops.size());
    EXPECT_LT(ws_at, ref_at) << "the workspace must be mounted before the path inside it";
    EXPECT_EQ(NeedsHandedTree(root.View()), handed);
  }
  // A read-only workspace is a malformed plan.
  plan.mounts = {{.path = data.path() / "ws", .writable = false, .workspace = true}};
  RootPlan root;
  EXPECT_FALSE(PlanRoot(plan, false, &root));
}

}  // namespace
}  // namespace skillrt::mount
