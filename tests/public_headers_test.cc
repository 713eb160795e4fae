// Every public header, included twice and in an order that puts each first somewhere, must
// compile on its own: include guards hold and no header depends on another being included
// before it.
#include "skillrt/agent.h"
#include "skillrt/atomic_file.h"
#include "skillrt/curl_api.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"
#include "skillrt/shared_library.h"
#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/dependencies.h"
#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/install.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"
#include "skillrt/search.h"
#include "skillrt/skill.h"
#include "skillrt/skillrt.h"
#include "skillrt/tools.h"
#include "skillrt/wasm_build.h"
// Second time through.
#include "skillrt/agent.h"
#include "skillrt/atomic_file.h"
#include "skillrt/curl_api.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"
#include "skillrt/shared_library.h"
#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/dependencies.h"
#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/install.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"
#include "skillrt/search.h"
#include "skillrt/skill.h"
#include "skillrt/skillrt.h"
#include "skillrt/tools.h"
#include "skillrt/wasm_build.h"

#include <gtest/gtest.h>

namespace skillrt {
namespace {

TEST(PublicHeadersTest, NamesAreStable) {
  EXPECT_EQ(StatusName(Status::kOk), "ok");
  EXPECT_EQ(StatusName(Status::kDenied), "denied");
  EXPECT_EQ(RuntimeKindName(RuntimeKind::kNative), "native");
  EXPECT_EQ(SandboxLevelName(SandboxLevel::kBestEffort), "best-effort");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kSandbox), "sandbox");
}

TEST(PublicHeadersTest, ErrnoErrorsQuoteTheCall) {
  const Error e = Error::FromErrno(ErrorCode::kSandbox, "mount(/proc)", EPERM);
  EXPECT_EQ(e.sys_errno, EPERM);
  EXPECT_EQ(e.message.rfind("mount(/proc): EPERM", 0), 0u) << e.message;
  EXPECT_EQ(e.ToString().rfind("sandbox: mount(/proc): EPERM", 0), 0u) << e.ToString();
}

}  // namespace
}  // namespace skillrt
