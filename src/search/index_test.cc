// The search index with the deterministic fake embedder: each method, incremental updates,
// damaged and stale files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "search/fake_embedder.h"
#include "search/index_state.h"
#include "search/sqlite.h"
#include "skillrt/search.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

std::vector<IndexedSkill> Catalogue() {
  return {
      {.name = "pdf-tools",
       .dir = "/s/pdf-tools",
       .tree_sha256 = "a1",
       .description = "Extract text and pages from PDF documents",
       .body = "Uses pdftotext.",
       .capabilities = "runtime native; commands pdftotext"},
      {.name = "csv-to-json",
       .dir = "/s/csv-to-json",
       .tree_sha256 = "b1",
       .description = "Convert CSV spreadsheets into JSON records",
       .body = "Reads stdin.",
       .capabilities = "runtime native"},
      {.name = "weather-report",
       .dir = "/s/weather-report",
       .tree_sha256 = "c1",
       .description = "Fetch today's weather forecast for a city",
       .body = "Calls an API.",
       .capabilities = "runtime native; network api.weather.example"},
      {.name = "log-triage",
       .dir = "/s/log-triage",
       .tree_sha256 = "d1",
       .description = "Group error lines of service logs by cause",
       .body = "Reads logs.",
       .capabilities = "runtime native"},
  };
}

class SearchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("skillrt-index-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = dir_ / "index" / "search.db";
    embedder_ = std::make_shared<FakeEmbedder>();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SearchIndex> OpenIndex() {
    auto index = SearchIndex::Open(path_, embedder_);
    EXPECT_TRUE(index.has_value()) << index.error().ToString();
    return index ? std::move(*index) : nullptr;
  }

  std::string Top(const SearchIndex& index, std::string_view query, SearchMethod method) {
    auto result = index.Search(query, SearchOptions{.top_k = 3, .method = method});
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    if (!result || result->hits.empty()) return "";
    return result->hits[0].name;
  }

  fs::path dir_, path_;
  std::shared_ptr<FakeEmbedder> embedder_;
};

TEST_F(SearchIndexTest, EachMethodFindsTheSkill) {
  auto index = OpenIndex();
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(stats->added, 4u);
  EXPECT_EQ(index->size(), 4u);
  for (SearchMethod m : {SearchMethod::kBm25, SearchMethod::kDense, SearchMethod::kHybrid}) {
    EXPECT_EQ(Top(*index, "extract the text of a pdf", m), "pdf-tools") << SearchMethodName(m);
    EXPECT_EQ(Top(*index, "weather forecast for Paris", m), "weather-report")
        << SearchMethodName(m);
  }
}

TEST_F(SearchIndexTest, ExplainsEachMethodsRankAndFusionOrdersByScore) {
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(Catalogue()).has_value());
  for (Fusion fusion : {Fusion::kRrf, Fusion::kWeighted}) {
    auto result = index->Search("convert csv to json", {.top_k = 4, .fusion = fusion});
    ASSERT_TRUE(result.has_value());
    ASSERT_FALSE(result->hits.empty());
    const SearchHit& top = result->hits[0];
    EXPECT_EQ(top.name, "csv-to-json");
    EXPECT_EQ(top.bm25.rank, 1u);  // The only skill with those words.
    EXPECT_EQ(top.dense.rank, 1u);
    EXPECT_GT(top.bm25.score, 0);
    for (size_t i = 1; i < result->hits.size(); ++i) {
      EXPECT_GE(result->hits[i - 1].score, result->hits[i].score);
    }
  }
  // BM25 alone returns only skills sharing a word with the query.
  auto bm25 = index->Search("csv", {.method = SearchMethod::kBm25});
  ASSERT_TRUE(bm25.has_value());
  ASSERT_EQ(bm25->hits.size(), 1u);
  EXPECT_EQ(bm25->hits[0].dense.rank, 0u);
}

TEST_F(SearchIndexTest, QueryTextIsNeverFts5Syntax) {
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(Catalogue()).has_value());
  for (std::string_view q : {"\"unbalanced", "NEAR(pdf text)", "pdf* OR -", "col:pdf ^x", "!!! ???",
                             "p\xc3\xa4"
                             "dfs \xe6\x96\x87\xe6\x9c\xac"}) {
    auto r = index->Search(q, {.method = SearchMethod::kBm25});
    EXPECT_TRUE(r.has_value()) << q << ": " << r.error().ToString();
  }
  EXPECT_FALSE(index->Search("   ", {}).has_value());
  EXPECT_FALSE(index->Search("pdf", {.top_k = 0}).has_value());
  EXPECT_FALSE(index->Search("pdf", {.dense_weight = 1.5}).has_value());
  EXPECT_FALSE(index->Search("pdf", {.rerank = true, .rerank_weight = -0.1}).has_value());
}

TEST(PassageTextsTest, SplitsTheBodyIntoBoundedPassagesAfterTheName) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "w" + std::to_string(i) + (i % 7 == 0 ? "\n\n" : " ");
  auto passages = PassageTexts("log-triage", body);
  ASSERT_EQ(passages.size(), 3u);  // 48 + 48 + 4 words.
  EXPECT_EQ(passages[0].rfind("log triage: w0 w1 ", 0), 0u) << passages[0];
  EXPECT_EQ(passages[2], "log triage: w96 w97 w98 w99");
  EXPECT_TRUE(PassageTexts("x", " \n\t ").empty());
  std::string long_body;
  for (int i = 0; i < 2000; ++i) long_body += "word ";
  EXPECT_EQ(PassageTexts("x", long_body).size(), kMaxPassages);
}

TEST_F(SearchIndexTest, RerankingLiftsTheSkillWhoseBodyAnswers) {
  // The description of `ops-toolkit` says nothing of certificates; its body does. The first
  // stage (description only) puts `cert-viewer` first; the passages put `ops-toolkit` first.
  std::vector<IndexedSkill> skills = Catalogue();
  skills.push_back({.name = "cert-viewer",
                    .dir = "/s/cert-viewer",
                    .tree_sha256 = "e1",
                    .description = "Show certificates",
                    .body = "",
                    .capabilities = "runtime native"});
  skills.push_back({.name = "ops-toolkit",
                    .dir = "/s/ops-toolkit",
                    .tree_sha256 = "f1",
                    .description = "Everyday server operations",
                    .body = "Disk usage reports. Rotate expiring TLS certificates before renewal "
                            "deadlines and reload nginx.",
                    .capabilities = "runtime native"});
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index->Update(skills).has_value());
  }
  auto index = OpenIndex();  // Passages come back from the file.
  ASSERT_FALSE(index->was_reset());
  const std::string query = "rotate expiring tls certificates before renewal deadlines";
  auto plain =
      index->Search(query, {.top_k = 3, .method = SearchMethod::kDense, .rerank = false});
  ASSERT_TRUE(plain.has_value());
  ASSERT_FALSE(plain->hits.empty());
  EXPECT_EQ(plain->hits[0].name, "cert-viewer");
  EXPECT_EQ(plain->hits[0].rerank.rank, 0u);
  auto reranked =
      index->Search(query, {.top_k = 3, .method = SearchMethod::kDense, .rerank = true,
                            .rerank_weight = 0.5});
  ASSERT_TRUE(reranked.has_value());
  ASSERT_FALSE(reranked->hits.empty());
  EXPECT_EQ(reranked->hits[0].name, "ops-toolkit");
  EXPECT_EQ(reranked->hits[0].rerank.rank, 1u);
  EXPECT_GT(reranked->hits[0].rerank.score, plain->hits[0].dense.score);
  // Reranking needs the query's vector even after BM25 alone.
  auto bm25 = index->Search(
      query, {.method = SearchMethod::kBm25, .rerank = true, .rerank_weight = 0.5});
  ASSERT_TRUE(bm25.has_value());
  ASSERT_FALSE(bm25->hits.empty());
  EXPECT_EQ(bm25->hits[0].name, "ops-toolkit");
  EXPECT_EQ(bm25->hits[0].rerank.rank, 1u);
}

TEST_F(SearchIndexTest, UpdatesOnlyWhatChanged) {
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(Catalogue()).has_value());
  size_t embedded = embedder_->texts_embedded();
  EXPECT_EQ(embedded, 8u);  // Each skill's name and description, and its one body passage.

  auto again = index->Update(Catalogue());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->unchanged, 4u);
  EXPECT_EQ(embedder_->texts_embedded(), embedded);  // Nothing re-embedded.

  auto skills = Catalogue();
  skills[1].tree_sha256 = "b2";
  skills[1].description = "Turn tab separated tables into YAML";
  skills.pop_back();  // log-triage removed.
  auto changed = index->Update(skills);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->updated, 1u);
  EXPECT_EQ(changed->removed, 1u);
  EXPECT_EQ(changed->unchanged, 2u);
  // The new description is embedded; the body's passage is the same text and keeps its vector.
  EXPECT_EQ(embedder_->texts_embedded(), embedded + 1);
  EXPECT_EQ(index->size(), 3u);
  EXPECT_EQ(Top(*index, "tab separated tables to yaml", SearchMethod::kBm25), "csv-to-json");
  // The in-memory vectors follow the update without a reload.
  EXPECT_EQ(Top(*index, "tab separated tables to yaml", SearchMethod::kDense), "csv-to-json");
  EXPECT_EQ(Top(*index, "weather forecast", SearchMethod::kDense), "weather-report");
  auto gone = index->Search("group error lines of service logs", {.method = SearchMethod::kBm25});
  ASSERT_TRUE(gone.has_value());
  for (const SearchHit& h : gone->hits) EXPECT_NE(h.name, "log-triage");

  // A reopened index keeps what was stored.
  index.reset();
  auto reopened = OpenIndex();
  EXPECT_FALSE(reopened->was_reset());
  EXPECT_EQ(reopened->size(), 3u);
  EXPECT_EQ(Top(*reopened, "tab separated tables to yaml", SearchMethod::kDense), "csv-to-json");
}

// Every hit's name, score and each method's rank and score, for comparing two indexes.
std::string Answers(const SearchIndex& index) {
  std::string out;
  for (std::string_view q : {"extract pdf pages", "convert csv records to json", "weather",
                             "rotate certificates", "group error lines", "recipes for cooking"}) {
    for (SearchMethod m : {SearchMethod::kBm25, SearchMethod::kDense, SearchMethod::kHybrid}) {
      auto r = index.Search(q, {.top_k = 10, .method = m});
      if (!r) return r.error().ToString();
      out += std::string(q) + " / " + std::string(SearchMethodName(m)) + ":";
      for (const SearchHit& h : r->hits) {
        char line[256];
        std::snprintf(line, sizeof line, " %s %.9f (%zu %.9f, %zu %.9f, %zu %.9f)",
                      h.name.c_str(), h.score, h.bm25.rank, h.bm25.score, h.dense.rank,
                      h.dense.score, h.rerank.rank, h.rerank.score);
        out += line;
      }
      out += "\n";
    }
  }
  return out;
}

std::string Words(int from, int count) {
  std::string out;
  for (int i = from; i < from + count; ++i) out += "step" + std::to_string(i) + " ";
  return out;
}

TEST_F(SearchIndexTest, KeepsTheVectorsOfTextsThatDidNotChange) {
  auto skills = Catalogue();
  skills[0].body = Words(0, 100);  // Passages of 48, 48 and 4 words.
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(skills).has_value());
  size_t embedded = embedder_->texts_embedded();
  EXPECT_EQ(embedded, 10u);

  skills[0].description += " and their tables";
  skills[0].tree_sha256 = "a2";
  ASSERT_EQ(index->Update(skills)->updated, 1u);
  EXPECT_EQ(embedder_->texts_embedded(), embedded += 1);  // The description alone.

  skills[0].body = Words(0, 99) + "finally";  // The last passage's last word.
  skills[0].tree_sha256 = "a3";
  ASSERT_EQ(index->Update(skills)->updated, 1u);
  EXPECT_EQ(embedder_->texts_embedded(), embedded += 1);  // That passage alone.

  skills[0].body = "first " + skills[0].body;  // Every passage's words shift by one.
  skills[0].tree_sha256 = "a4";
  ASSERT_EQ(index->Update(skills)->updated, 1u);
  EXPECT_EQ(embedder_->texts_embedded(), embedded += 3);

  skills[0].dir = "/elsewhere/pdf-tools";  // Moved, texts unchanged: nothing embedded.
  ASSERT_EQ(index->Update(skills)->updated, 1u);
  EXPECT_EQ(embedder_->texts_embedded(), embedded);
  auto hit = index->Search("extract pdf", {.top_k = 1});
  ASSERT_TRUE(hit.has_value() && !hit->hits.empty());
  EXPECT_EQ(hit->hits[0].dir, "/elsewhere/pdf-tools");
}

TEST_F(SearchIndexTest, AnUpdateInPlaceAnswersAsARebuildDoes) {
  auto skills = Catalogue();
  for (int i = 0; i < 20; ++i) {
    skills.push_back({.name = "filler-" + std::to_string(i),
                      .dir = "/s/f",
                      .tree_sha256 = std::to_string(i),
                      .description = "Filler skill " + std::to_string(i) + " about recipes",
                      .body = Words(i, 60 + i),
                      .capabilities = "runtime native"});
  }
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(skills).has_value());
  // A description, a body, a directory changed; one skill removed, one added.
  skills[0].description = "Extract pages and tables from PDF files";
  skills[0].tree_sha256 = "a2";
  skills[1].body = "Reads stdin and writes JSON records, one per CSV row.";
  skills[1].tree_sha256 = "b2";
  skills[2].dir = "/t/weather-report";
  skills.erase(skills.begin() + 3);
  skills.push_back({.name = "cert-rotator",
                    .dir = "/s/cert-rotator",
                    .tree_sha256 = "g1",
                    .description = "Rotate expiring TLS certificates",
                    .body = "Renews and reloads nginx. " + Words(5, 70),
                    .capabilities = "runtime native"});
  auto stats = index->Update(skills);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(stats->updated, 3u);
  EXPECT_EQ(stats->removed, 1u);
  EXPECT_EQ(stats->added, 1u);
  const std::string incremental = Answers(*index);
  EXPECT_NE(incremental.find("cert-rotator"), std::string::npos);
  EXPECT_EQ(incremental.find("log-triage"), std::string::npos);

  auto fresh = SearchIndex::Open(dir_ / "fresh" / "search.db", embedder_);
  ASSERT_TRUE(fresh.has_value());
  ASSERT_TRUE((*fresh)->Update(skills).has_value());
  EXPECT_EQ(incremental, Answers(**fresh));
  index.reset();
  auto reopened = OpenIndex();  // What was written to the file is what memory held.
  EXPECT_FALSE(reopened->was_reset());
  EXPECT_EQ(incremental, Answers(*reopened));
}

TEST_F(SearchIndexTest, SeesWhatAnotherConnectionWrote) {
  auto first = OpenIndex();
  auto second = OpenIndex();
  ASSERT_TRUE(first->Update(Catalogue()).has_value());
  size_t embedded = embedder_->texts_embedded();
  auto stats = second->Update(Catalogue());
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->unchanged, 4u);  // Read from the file, not indexed again.
  EXPECT_EQ(embedder_->texts_embedded(), embedded);
  EXPECT_EQ(second->size(), 4u);
  EXPECT_EQ(Top(*second, "weather forecast", SearchMethod::kDense), "weather-report");

  auto skills = Catalogue();
  skills[3].description = "Summarise the weather of tomorrow";
  skills[3].tree_sha256 = "d2";
  ASSERT_EQ(first->Update(skills)->updated, 1u);
  stats = second->Update(skills);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->unchanged, 4u);
  EXPECT_EQ(Answers(*first), Answers(*second));
}

TEST_F(SearchIndexTest, ALostCommitIsIndexedAgain) {
  // The file as a power cut could leave it: the log's last commit torn. The frames' checksums
  // (https://sqlite.org/fileformat2.html#the_write_ahead_log) make SQLite ignore it, so the
  // index is as it was before that commit and the next update redoes it.
  auto index = OpenIndex();
  ASSERT_TRUE(index->Update(Catalogue()).has_value());
  auto skills = Catalogue();
  skills[2].description = "Tell the air quality of a town";
  skills[2].tree_sha256 = "c2";
  ASSERT_TRUE(index->Update(skills).has_value());
  const fs::path copy = dir_ / "copy" / "search.db";
  fs::create_directories(copy.parent_path());
  const fs::path wal = path_.string() + "-wal";
  ASSERT_TRUE(fs::exists(wal)) << "the index is not in write-ahead-log mode";
  fs::copy_file(path_, copy);
  fs::copy_file(wal, copy.string() + "-wal");
  {
    std::fstream f(copy.string() + "-wal", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-64, std::ios::end);
    std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto torn = SearchIndex::Open(copy, embedder_);
  ASSERT_TRUE(torn.has_value());
  EXPECT_FALSE((*torn)->was_reset());
  EXPECT_EQ((*torn)->size(), 4u);
  auto stats = (*torn)->Update(skills);
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_FALSE(stats->rebuilt);
  EXPECT_EQ(stats->updated, 1u);
  EXPECT_EQ(stats->unchanged, 3u);
  EXPECT_EQ(Answers(*index), Answers(**torn));
}

TEST_F(SearchIndexTest, RejectsTwoSkillsOfOneName) {
  auto index = OpenIndex();
  auto skills = Catalogue();
  skills.push_back(skills[0]);
  auto r = index->Update(skills);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("pdf-tools"), std::string::npos);
}

TEST_F(SearchIndexTest, GarbageFileIsRebuilt) {
  fs::create_directories(path_.parent_path());
  std::ofstream(path_) << "this is not a database, but it is where the index lives\n";
  auto index = OpenIndex();
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->was_reset());
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_TRUE(stats->rebuilt);
  EXPECT_EQ(Top(*index, "extract pdf text", SearchMethod::kHybrid), "pdf-tools");
}

TEST_F(SearchIndexTest, APassageWithoutItsSkillIsDamageAndRebuilt) {
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index->Update(Catalogue()).has_value());
  }
  {
    auto db = sqlite::Open(path_);
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(sqlite::Exec(db->get(),
                             "INSERT INTO passages(skill_id, seq, embedding) "
                             "SELECT max(id) + 7, 0, embedding FROM skills")
                    .has_value());
  }
  auto index = OpenIndex();
  EXPECT_TRUE(index->was_reset());
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value());
  EXPECT_TRUE(stats->rebuilt);
  EXPECT_EQ(Top(*index, "weather forecast", SearchMethod::kDense), "weather-report");
}

TEST_F(SearchIndexTest, DamagedPagesAreRebuiltNotBelieved) {
  {
    auto index = OpenIndex();
    std::vector<IndexedSkill> many = Catalogue();
    for (int i = 0; i < 300; ++i) {  // Enough rows for several pages.
      many.push_back({.name = "filler-" + std::to_string(i),
                      .dir = "/s/f",
                      .tree_sha256 = std::to_string(i),
                      .description = "Filler skill number " + std::to_string(i) +
                                     " about gardening and cooking recipes"});
    }
    ASSERT_TRUE(index->Update(many).has_value());
  }
  // Overwrite the middle of the file with a pattern: pages of tables and FTS segments break.
  auto size = fs::file_size(path_);
  ASSERT_GT(size, 16384u);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 3));
    std::string junk(size / 3, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto index = OpenIndex();
  ASSERT_NE(index, nullptr);
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_TRUE(stats->rebuilt);
  EXPECT_EQ(index->size(), 4u);
  EXPECT_EQ(Top(*index, "weather forecast", SearchMethod::kBm25), "weather-report");
}

TEST_F(SearchIndexTest, TruncatedFileIsRebuilt) {
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index->Update(Catalogue()).has_value());
  }
  fs::resize_file(path_, fs::file_size(path_) / 2);
  auto index = OpenIndex();
  ASSERT_NE(index, nullptr);
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_TRUE(stats->rebuilt);
  EXPECT_EQ(Top(*index, "csv json", SearchMethod::kHybrid), "csv-to-json");
}

TEST_F(SearchIndexTest, AnotherModelRebuilds) {
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index->Update(Catalogue()).has_value());
  }
  embedder_ = std::make_shared<FakeEmbedder>(32, "fake/32");
  auto index = OpenIndex();
  EXPECT_TRUE(index->was_reset());
  EXPECT_EQ(index->size(), 0u);
  auto stats = index->Update(Catalogue());
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->added, 4u);
  EXPECT_EQ(Top(*index, "pdf pages", SearchMethod::kDense), "pdf-tools");
}

TEST(FakeEmbedderTest, DeterministicUnitVectorsCloserForSharedWords) {
  FakeEmbedder e(64);
  std::vector<std::string_view> texts = {"extract pdf text", "extract pdf text", "pdf text pages",
                                         "weather in paris"};
  auto v = e.Embed(texts);
  ASSERT_TRUE(v.has_value());
  auto dot = [&](size_t a, size_t b) {
    double s = 0;
    for (size_t d = 0; d < 64; ++d) s += (*v)[a * 64 + d] * (*v)[b * 64 + d];
    return s;
  };
  EXPECT_NEAR(dot(0, 0), 1.0, 1e-5);
  EXPECT_NEAR(dot(0, 1), 1.0, 1e-5);
  EXPECT_GT(dot(0, 2), dot(0, 3));
  EXPECT_EQ(e.texts_embedded(), 4u);
}

}  // namespace
}  // namespace skillrt
