// Tokens: shown once, stored hashed (0600), verified, revoked across processes; scopes that
// are not a ladder; the Host and Origin checks (auth.h).
#include "service/auth.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt::service {
namespace {

TEST(TokenStoreTest, CreatedTokenVerifiesAndOnlyItsHashIsStored) {
  testing::TempDir tmp;
  TokenStore store(tmp.path());
  auto made = store.Create(Scope::kRun, "agent");
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_EQ(made->token.rfind("skrt_", 0), 0u);
  EXPECT_EQ(made->token.size(), 5u + 64u);

  std::ifstream in(store.file());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(made->token.substr(5)), std::string::npos) << "the secret is on disk";
  EXPECT_NE(text.str().find(made->record.sha256), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(store.file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto verified = store.Verify(made->token);
  ASSERT_TRUE(verified.has_value());
  ASSERT_TRUE(verified->has_value());
  EXPECT_EQ((*verified)->scope, Scope::kRun);
  EXPECT_EQ((*verified)->name, "agent");

  auto wrong = store.Verify(made->token.substr(0, made->token.size() - 1) + "x");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(wrong->has_value());
}

TEST(TokenStoreTest, TwoTokensDifferAndRevokeByIdOrNameTakesEffectInAnotherStore) {
  testing::TempDir tmp;
  TokenStore writer(tmp.path());
  TokenStore server(tmp.path());  // As a running service holds it: its own cache.
  auto a = writer.Create(Scope::kRead, "reader");
  auto b = writer.Create(Scope::kApprove, "");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->token, b->token);
  ASSERT_TRUE(server.Verify(a->token)->has_value());
  ASSERT_TRUE(server.Verify(b->token)->has_value());

  ASSERT_TRUE(writer.Revoke("reader").has_value());
  EXPECT_FALSE(server.Verify(a->token)->has_value());
  EXPECT_TRUE(server.Verify(b->token)->has_value());
  ASSERT_TRUE(writer.Revoke(b->record.id).has_value());
  EXPECT_FALSE(server.Verify(b->token)->has_value());

  auto missing = writer.Revoke("nobody");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(TokenStoreTest, CorruptFileFailsClosed) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.path() / "tokens.json", "{not json");
  TokenStore store(tmp.path());
  auto verified = store.Verify("skrt_anything");
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, ErrorCode::kParse);
}

TEST(TokenStoreTest, BadNameIsRefused) {
  testing::TempDir tmp;
  TokenStore store(tmp.path());
  EXPECT_FALSE(store.Create(Scope::kRead, "a\nb").has_value());
  EXPECT_FALSE(store.Create(Scope::kRead, std::string(65, 'x')).has_value());
}

TEST(ScopeTest, RunCannotApproveAndApproveCannotRun) {
  EXPECT_TRUE(ScopeAllows(Scope::kRun, Scope::kRead));
  EXPECT_TRUE(ScopeAllows(Scope::kRun, Scope::kRun));
  EXPECT_FALSE(ScopeAllows(Scope::kRun, Scope::kApprove));
  EXPECT_FALSE(ScopeAllows(Scope::kApprove, Scope::kRun));
  EXPECT_FALSE(ScopeAllows(Scope::kRead, Scope::kRun));
  EXPECT_FALSE(ScopeAllows(Scope::kRun, Scope::kAdmin));
  EXPECT_TRUE(ScopeAllows(Scope::kAdmin, Scope::kApprove));
  for (Scope s : {Scope::kRead, Scope::kRun, Scope::kApprove, Scope::kAdmin}) {
    EXPECT_EQ(*ParseScope(ScopeName(s)), s);
  }
  EXPECT_FALSE(ParseScope("root").has_value());
}

TEST(AuthHeadersTest, BearerToken) {
  EXPECT_EQ(BearerToken("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(BearerToken("bearer  abc ").value_or(""), "abc");
  EXPECT_FALSE(BearerToken("Basic abc").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("").has_value());
}

TEST(AuthHeadersTest, HostAndOrigin) {
  EXPECT_FALSE(CheckHost("127.0.0.1:8470", {}).has_value());
  EXPECT_FALSE(CheckHost("localhost", {}).has_value());
  EXPECT_FALSE(CheckHost("[::1]:80", {}).has_value());
  EXPECT_TRUE(CheckHost("evil.example:8470", {}).has_value());  // DNS rebinding.
  EXPECT_TRUE(CheckHost("", {}).has_value());
  EXPECT_FALSE(CheckHost("skillrt.internal:443", {"skillrt.internal"}).has_value());
  EXPECT_TRUE(CheckHost("localhost", {"skillrt.internal"}).has_value());

  EXPECT_FALSE(CheckOrigin("", "", {}).has_value());
  EXPECT_TRUE(CheckOrigin("https://evil.example", "", {}).has_value());
  EXPECT_FALSE(CheckOrigin("https://ui.example", "", {"https://ui.example"}).has_value());
  // The service's own pages (the studio): Origin is the request's Host, port and all.
  EXPECT_FALSE(CheckOrigin("http://127.0.0.1:8470", "127.0.0.1:8470", {}).has_value());
  EXPECT_FALSE(CheckOrigin("https://skills.example", "skills.example", {}).has_value());
  EXPECT_TRUE(CheckOrigin("http://127.0.0.1:9999", "127.0.0.1:8470", {}).has_value());
  EXPECT_TRUE(CheckOrigin("http://evil.example", "127.0.0.1:8470", {}).has_value());
  EXPECT_TRUE(CheckOrigin("http://127.0.0.1:8470.evil.example", "127.0.0.1:8470", {}).has_value());
}

}  // namespace
}  // namespace skillrt::service
