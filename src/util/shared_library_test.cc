#include "skillrt/shared_library.h"

#include <gtest/gtest.h>

namespace skillrt {
namespace {

TEST(SharedLibraryTest, FindsAFunctionOfALoadedLibrary) {
  auto libc = SharedLibrary::Open("libc.so.6");
  ASSERT_TRUE(libc) << libc.error().ToString();
  size_t (*strlen_fn)(const char*) = nullptr;
  ASSERT_TRUE(libc->Find("strlen", &strlen_fn));
  ASSERT_NE(strlen_fn, nullptr);
  EXPECT_EQ(strlen_fn("four"), 4u);
}

TEST(SharedLibraryTest, AMissingLibraryOrFunctionIsNamed) {
  auto missing = SharedLibrary::Open("libskillrt-no-such-library.so.1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(missing.error().message.find("libskillrt-no-such-library.so.1"), std::string::npos);

  auto libc = SharedLibrary::Open("libc.so.6");
  ASSERT_TRUE(libc);
  void (*fn)() = nullptr;
  auto found = libc->Find("skillrt_no_such_function", &fn);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(found.error().message.find("skillrt_no_such_function"), std::string::npos);
  EXPECT_EQ(fn, nullptr);
}

}  // namespace
}  // namespace skillrt
