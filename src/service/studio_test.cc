// The studio's files in memory (studio.h): only files of the served types, no symbolic links
// or hidden entries, and lookups that cannot leave the map.
#include "service/studio.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt::service {
namespace {

void Write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

TEST(StudioFilesTest, LoadsServedTypesOnlyAndFindsByRelativePath) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "studio";
  Write(dir / "index.html", "<!doctype html>");
  Write(dir / "assets" / "index-1.js", "console.log(1)");
  Write(dir / "assets" / "index-1.css", "body{}");
  Write(dir / "notes.md", "not served");
  Write(dir / ".sources", "hash");
  Write(dir / ".hidden" / "x.js", "hidden");
  Write(tmp.path() / "secret.js", "outside");
  std::filesystem::create_symlink(tmp.path() / "secret.js", dir / "assets" / "link.js");

  auto studio = StudioFiles::Load(dir);
  ASSERT_TRUE(studio.has_value()) << studio.error().ToString();
  EXPECT_EQ(studio->size(), 3u);
  ASSERT_NE(studio->Find("index.html"), nullptr);
  EXPECT_EQ(studio->Find("index.html")->content_type, "text/html; charset=utf-8");
  ASSERT_NE(studio->Find("assets/index-1.js"), nullptr);
  EXPECT_EQ(studio->Find("assets/index-1.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(studio->Find("assets/index-1.js")->body, "console.log(1)");
  EXPECT_EQ(studio->Find("assets/index-1.css")->content_type, "text/css; charset=utf-8");
  // Not of a served type, hidden, a symbolic link, or outside: not there.
  EXPECT_EQ(studio->Find("notes.md"), nullptr);
  EXPECT_EQ(studio->Find(".sources"), nullptr);
  EXPECT_EQ(studio->Find(".hidden/x.js"), nullptr);
  EXPECT_EQ(studio->Find("assets/link.js"), nullptr);
  EXPECT_EQ(studio->Find("../secret.js"), nullptr);
  EXPECT_EQ(studio->Find("assets/../index.html"), nullptr);
  EXPECT_EQ(studio->Find("/index.html"), nullptr);
}

TEST(StudioFilesTest, DirectoryWithoutIndexIsNotFound) {
  testing::TempDir tmp;
  Write(tmp.path() / "assets" / "a.js", "x");
  auto studio = StudioFiles::Load(tmp.path());
  ASSERT_FALSE(studio.has_value());
  EXPECT_EQ(studio.error().code, ErrorCode::kNotFound);
  EXPECT_NE(studio.error().message.find("index.html"), std::string::npos);
  EXPECT_FALSE(StudioFiles::Load(tmp.path() / "missing").has_value());
}

TEST(StudioFilesTest, CspAllowsOnlyThisOrigin) {
  const std::string csp(kStudioCsp);
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(csp.find("*"), std::string::npos);
}

}  // namespace
}  // namespace skillrt::service
