// The search index's state, shared by index.cc (storage, updates) and query.cc (searching).
#ifndef SKILLRT_SEARCH_INDEX_STATE_H_
#define SKILLRT_SEARCH_INDEX_STATE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "search/sqlite.h"
#include "skillrt/search.h"

namespace skillrt {

/// One indexed skill as held in memory for building hits.
struct IndexRow {
  int64_t id = 0;  // skills.id, also the FTS5 rowid.
  std::string name;
  std::string description;
  std::filesystem::path dir;
  std::vector<float> passages = {};  // The body's passage vectors, row-major (count * dim).
};

struct SearchIndex::State {
  std::filesystem::path path;
  std::shared_ptr<Embedder> embedder;
  sqlite::Db db;
  bool reset = false;    // Open() started afresh; reported by the next Update().
  bool checked = false;  // The integrity checks ran since Open().
  std::vector<IndexRow> rows;
  std::vector<float> vectors;                     // rows.size() * dim, row-major.
  std::unordered_map<int64_t, size_t> row_of_id;  // skills.id -> index into rows.
};

/// The BM25 column weights of skills_fts (name, description, body, capabilities): a word in
/// the name says most about a skill, its description was written to be matched, the body
/// and capabilities are long and say more about how than what.
inline constexpr double kBm25Weights[4] = {4.0, 2.0, 0.5, 0.5};

/// The text embedded for a skill: its name with hyphens as spaces, then its description.
std::string DenseText(std::string_view name, std::string_view description);

/// Words per body passage: short enough that one passage says one thing (a tool, a step),
/// long enough to carry its context; well under the model's 256 tokens.
inline constexpr size_t kPassageWords = 48;
/// Passages kept per skill: bounds what indexing a long SKILL.md costs.
inline constexpr size_t kMaxPassages = 8;

/// The texts embedded for reranking from a skill's body: the body's words in runs of
/// kPassageWords (at most kMaxPassages), each after the skill's name ("name: words"). Empty
/// for a body without words.
std::vector<std::string> PassageTexts(std::string_view name, std::string_view body);

}  // namespace skillrt

#endif  // SKILLRT_SEARCH_INDEX_STATE_H_
