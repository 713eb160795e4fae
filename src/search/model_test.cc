// The real model and the BPE token counts (both from src/search/ml), and token budgets.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "search/budget.h"
#include "skillrt/search.h"

namespace skillrt {
namespace {

double Dot(const std::vector<float>& v, size_t dim, size_t a, size_t b) {
  double s = 0;
  for (size_t d = 0; d < dim; ++d) s += double(v[a * dim + d]) * v[b * dim + d];
  return s;
}

TEST(MiniLmEmbedderTest, UnitVectorsThatKnowMeaning) {
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  ASSERT_TRUE(model.has_value()) << model.error().ToString();
  Embedder& e = **model;
  ASSERT_EQ(e.dim(), 384u);
  std::vector<std::string_view> texts = {"convert a spreadsheet to JSON",
                                         "turn CSV tables into JSON records",
                                         "what will the weather be tomorrow"};
  auto v = e.Embed(texts);
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  ASSERT_EQ(v->size(), 3 * 384u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(Dot(*v, 384, i, i), 1.0, 1e-4);
  // Related meaning with few shared words beats unrelated meaning.
  EXPECT_GT(Dot(*v, 384, 0, 1), Dot(*v, 384, 0, 2) + 0.2);
}

TEST(MiniLmEmbedderTest, BatchingDoesNotChangeAVector) {
  // Padding a short text to a long neighbour's length must not move its vector: pooling
  // averages over real tokens only.
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  ASSERT_TRUE(model.has_value()) << model.error().ToString();
  std::array<std::string_view, 1> alone = {"find a pdf tool"};
  std::array<std::string_view, 2> batch = {
      "find a pdf tool",
      "a much longer text that forces the short one to be padded with many pad tokens so "
      "that a pooling step which averaged over padding would give a different vector"};
  auto a = (*model)->Embed(alone);
  auto b = (*model)->Embed(batch);
  ASSERT_TRUE(a.has_value() && b.has_value());
  double cos = 0;
  for (size_t d = 0; d < 384; ++d) cos += double((*a)[d]) * (*b)[d];
  EXPECT_GT(cos, 0.9999);
}

TEST(MiniLmEmbedderTest, MissingModelNamesTheFileAndTheFix) {
  auto model = OpenMiniLmEmbedder("/nonexistent/model");
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
  EXPECT_NE(model.error().message.find("config.json"), std::string::npos);
  EXPECT_NE(model.error().message.find("build-search-ml.sh"), std::string::npos);
}

// Whether ONNX Runtime's library is mapped into this process (proc(5), /proc/self/maps).
bool RuntimeMapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libonnxruntime") != std::string::npos) return true;
  }
  return false;
}

// 0 when opening the embedder leaves ONNX Runtime unloaded and the first embedding loads it.
int LoadsAtFirstEmbedding() {
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  if (!model) return 2;
  if (RuntimeMapped()) return 3;
  std::array<std::string_view, 1> text = {"count the words of a file"};
  if (!(*model)->Embed(text)) return 4;
  return RuntimeMapped() ? 0 : 5;
}

// 0 when, with $SKILLRT_ONNXRUNTIME naming a file that is no library, opening succeeds (the
// runtime is not loaded yet) and the first embedding fails with kInternal naming the file.
int BrokenRuntimeFailsAtFirstEmbedding(const std::filesystem::path& fake) {
  setenv("SKILLRT_ONNXRUNTIME", fake.c_str(), 1);
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  if (!model) return 2;
  std::array<std::string_view, 1> text = {"count the words of a file"};
  auto v = (*model)->Embed(text);
  if (v) return 3;
  if (v.error().code != ErrorCode::kInternal) return 4;
  return v.error().message.find(fake.string()) != std::string::npos ? 0 : 5;
}

// Both run in a child process (a death test): ONNX Runtime, once loaded or failed, is the
// process's for good.
TEST(MiniLmEmbedderTest, RuntimeIsLoadedAtTheFirstEmbeddingNotAtOpen) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(LoadsAtFirstEmbedding()), ::testing::ExitedWithCode(0), "");
}

TEST(MiniLmEmbedderTest, ABrokenRuntimeFailsTheEmbeddingWithItsPath) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::filesystem::path fake =
      std::filesystem::path(::testing::TempDir()) / "libonnxruntime-not.so";
  std::ofstream(fake) << "not a shared library";
  EXPECT_EXIT(std::exit(BrokenRuntimeFailsAtFirstEmbedding(fake)), ::testing::ExitedWithCode(0),
              "");
  std::filesystem::remove(fake);
}

TEST(MiniLmEmbedderTest, MissingRuntimeNamesItAndTheFix) {
  const char* old = std::getenv("SKILLRT_ONNXRUNTIME");
  std::string saved = old != nullptr ? old : "";
  setenv("SKILLRT_ONNXRUNTIME", "/nonexistent/libonnxruntime.so", 1);
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  if (old != nullptr) {
    setenv("SKILLRT_ONNXRUNTIME", saved.c_str(), 1);
  } else {
    unsetenv("SKILLRT_ONNXRUNTIME");
  }
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
  EXPECT_NE(model.error().message.find("/nonexistent/libonnxruntime.so"), std::string::npos);
  EXPECT_NE(model.error().message.find("build-search-ml.sh"), std::string::npos);
}

// 0 when, with $SKILLRT_SEARCH_ML naming a library that does not exist, opening the embedder
// and counting tokens both fail with kUnsupported naming the library and the way to name
// another.
int MissingModelLibraryIsNamed() {
  setenv("SKILLRT_SEARCH_ML", "/nonexistent/libskillrt_search_ml.so", 1);
  auto model = OpenMiniLmEmbedder(DefaultSearchModelDir());
  if (model) return 2;
  if (model.error().code != ErrorCode::kUnsupported) return 3;
  const std::string& message = model.error().message;
  if (message.find("/nonexistent/libskillrt_search_ml.so") == std::string::npos) return 4;
  if (message.find("$SKILLRT_SEARCH_ML") == std::string::npos) return 5;
  auto count = CountTokens("hello world", TokenEncoding::kCl100kBase);
  if (count || count.error().code != ErrorCode::kUnsupported) return 6;
  return count.error().message.find("/nonexistent/libskillrt_search_ml.so") != std::string::npos
             ? 0
             : 7;
}

// In a child process: the library, once loaded or failed, is the process's for good.
TEST(MiniLmEmbedderTest, AMissingModelLibraryIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(MissingModelLibraryIsNamed()), ::testing::ExitedWithCode(0), "");
}

TEST(TokenCountTest, RealBpeRanks) {
  // cl100k_base: "hello world" is two tokens; o200k_base splits some words differently.
  EXPECT_EQ(CountTokens("hello world", TokenEncoding::kCl100kBase).value(), 2u);
  EXPECT_EQ(CountTokens("", TokenEncoding::kCl100kBase).value(), 0u);
  EXPECT_EQ(CountTokens("hello world", TokenEncoding::kO200kBase).value(), 2u);
  EXPECT_FALSE(CountTokens("\xff\xfe", TokenEncoding::kCl100kBase).has_value());
  auto long_text = CountTokens(std::string(400, 'a') + " antidisestablishmentarianism",
                               TokenEncoding::kCl100kBase);
  ASSERT_TRUE(long_text.has_value());
  EXPECT_GT(*long_text, 10u);
}

SearchHit Hit(std::string name, std::string description) {
  return SearchHit{.name = std::move(name), .description = std::move(description)};
}

TEST(BudgetTest, PerSkillLimitShortensAtAWordAndMarksIt) {
  std::string long_description;
  for (int i = 0; i < 60; ++i) long_description += "word" + std::to_string(i) + " ";
  auto r = FitToBudget({Hit("long-one", long_description), Hit("short", "Tiny.")},
                       {.per_skill_tokens = 20});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->hits.size(), 2u);
  const SearchHit& cut = r->hits[0];
  EXPECT_TRUE(cut.description_shortened);
  EXPECT_LE(cut.tokens, 20u);
  EXPECT_EQ(cut.tokens, CountTokens(RenderHit(cut), TokenEncoding::kCl100kBase).value());
  ASSERT_GE(cut.description.size(), 4u);
  EXPECT_EQ(cut.description.substr(cut.description.size() - 3), "\u2026");
  std::string kept = cut.description.substr(0, cut.description.size() - 3);
  EXPECT_EQ(long_description.compare(0, kept.size(), kept), 0);  // A prefix...
  EXPECT_EQ(long_description[kept.size()], ' ');                 // ...ending at a word.
  // The cut is the longest that fits: one more word would not.
  size_t next = long_description.find(' ', kept.size() + 1);
  SearchHit longer = Hit("long-one", long_description.substr(0, next) + "\u2026");
  EXPECT_GT(CountTokens(RenderHit(longer), TokenEncoding::kCl100kBase).value(), 20u);
  EXPECT_FALSE(r->hits[1].description_shortened);
  EXPECT_EQ(r->total_tokens, r->hits[0].tokens + r->hits[1].tokens);
}

TEST(BudgetTest, TotalLimitKeepsTheBestFirstAndCountsTheRest) {
  std::vector<SearchHit> hits;
  for (int i = 0; i < 10; ++i) {
    hits.push_back(Hit("skill-" + std::to_string(i),
                       "Does task number " + std::to_string(i) + " quickly and well."));
  }
  auto all = FitToBudget(hits, {});
  ASSERT_TRUE(all.has_value());
  size_t each = all->hits[0].tokens;
  auto r = FitToBudget(hits, {.total_tokens = each * 3 + 2});
  ASSERT_TRUE(r.has_value());
  ASSERT_GE(r->hits.size(), 3u);
  EXPECT_LE(r->total_tokens, each * 3 + 2);
  EXPECT_EQ(r->hits[0].name, "skill-0");
  EXPECT_EQ(r->hits[2].name, "skill-2");
  EXPECT_EQ(r->hits.size() + r->dropped_for_budget, 10u);
  auto none = FitToBudget(hits, {.total_tokens = 1});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->hits.empty());
  EXPECT_EQ(none->dropped_for_budget, 10u);
}

}  // namespace
}  // namespace skillrt
