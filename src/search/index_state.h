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
  std::string tree_sha256 = {};      // What Update() compares the catalogue's hash with.
};

/// The file and its copy in memory. `rows` (ordered by id, as LoadRows() reads them),
/// `vectors` and the two maps always describe the file as of `data_version`: Update() diffs
/// the catalogue against them instead of reading every row, and reloads them when another
/// connection has committed since.
struct SearchIndex::State {
  std::filesystem::path path;
  std::shared_ptr<Embedder> embedder;
  sqlite::Db db;
  bool reset = false;    // Open() started afresh; reported by the next Update().
  bool checked = false;  // The integrity checks ran since Open().
  std::vector<IndexRow> rows;
  std::vector<float> vectors;                          // rows.size() * dim, row-major.
  std::unordered_map<int64_t, size_t> row_of_id;       // skills.id -> index into rows.
  std::unordered_map<std::string, size_t> row_of_name;  // skills.name -> index into rows.
  /// PRAGMA data_version (https://sqlite.org/pragma.html#pragma_data_version) when the rows
  /// were last read from or written to the file on this connection; it changes only when
  /// another connection commits.
  int64_t data_version = -1;
};

/// Reads every row and vector of the file into `s` (rows, vectors, maps, data_version). kIo,
/// with "[SQLITE_CORRUPT]" when a row is malformed.
Result<void> LoadRows(SearchIndex::State& s);

/// Deletes the file and starts an empty one (`s.reset` is set).
Result<void> ResetIndex(SearchIndex::State& s);

/// PRAGMA quick_check and FTS5's integrity-check: false when the file is damaged in a way
/// reading rows need not notice. Reads the whole file.
bool Healthy(sqlite3* db);

/// The connection's PRAGMA data_version. kIo when it cannot be read.
Result<int64_t> DataVersion(sqlite3* db);

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
