// The search index's storage: schema, opening (with recovery from damage) and the in-memory
// copy of the rows and embeddings. Incremental updates are in index_update.cc.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <system_error>

#include "search/index_state.h"
#include "skillrt/registry.h"
#include "skillrt/skill.h"

namespace skillrt {
namespace {

// Bumped whenever the schema or what is stored in it changes; another version is rebuilt.
constexpr std::string_view kSchemaVersion = "2";

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skills(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  dir TEXT NOT NULL,
  tree_sha256 TEXT NOT NULL,
  description TEXT NOT NULL,
  embedding BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS passages(
  skill_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  PRIMARY KEY (skill_id, seq));
CREATE VIRTUAL TABLE IF NOT EXISTS skills_fts USING fts5(
  name, description, body, capabilities, tokenize = 'porter unicode61');
)sql";

void RemoveFiles(const std::filesystem::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::filesystem::remove(path.string() + suffix, ec);
  }
}

Result<std::string> MetaValue(sqlite3* db, std::string_view key) {
  auto stmt = sqlite::Statement::Prepare(db, "SELECT value FROM meta WHERE key = ?");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, key);
  auto row = stmt->Step();
  if (!row) return std::unexpected(row.error());
  return *row ? stmt->Text(0) : std::string();
}

}  // namespace

Result<int64_t> DataVersion(sqlite3* db) {
  auto stmt = sqlite::Statement::Prepare(db, "PRAGMA data_version");
  if (!stmt) return std::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return Fail(ErrorCode::kIo, "search index: PRAGMA data_version gave no row");
  return stmt->Int(0);
}

// A row whose embedding has the wrong size means the file is damaged.
Result<void> LoadRows(SearchIndex::State& s) {
  s.rows.clear();
  s.vectors.clear();
  s.row_of_id.clear();
  s.row_of_name.clear();
  auto version = DataVersion(s.db.get());
  if (!version) return std::unexpected(version.error());
  s.data_version = *version;
  auto stmt = sqlite::Statement::Prepare(
      s.db.get(),
      "SELECT id, name, dir, description, embedding, tree_sha256 FROM skills ORDER BY id");
  if (!stmt) return std::unexpected(stmt.error());
  const size_t dim = s.embedder->dim();
  while (true) {
    auto row = stmt->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    size_t bytes = 0;
    const void* blob = stmt->Blob(4, &bytes);
    if (bytes != dim * sizeof(float) || blob == nullptr) {
      return Fail(ErrorCode::kIo, "search index: embedding of " + stmt->Text(1) + " has " +
                                      std::to_string(bytes) + " bytes [SQLITE_CORRUPT]");
    }
    s.row_of_id[stmt->Int(0)] = s.rows.size();
    s.row_of_name[stmt->Text(1)] = s.rows.size();
    s.rows.push_back({.id = stmt->Int(0),
                      .name = stmt->Text(1),
                      .description = stmt->Text(3),
                      .dir = stmt->Text(2),
                      .tree_sha256 = stmt->Text(5)});
    size_t at = s.vectors.size();
    s.vectors.resize(at + dim);
    std::memcpy(&s.vectors[at], blob, bytes);
  }
  auto passages = sqlite::Statement::Prepare(
      s.db.get(), "SELECT skill_id, embedding FROM passages ORDER BY skill_id, seq");
  if (!passages) return std::unexpected(passages.error());
  while (true) {
    auto row = passages->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return {};
    size_t bytes = 0;
    const void* blob = passages->Blob(1, &bytes);
    auto owner = s.row_of_id.find(passages->Int(0));
    if (owner == s.row_of_id.end() || bytes != dim * sizeof(float) || blob == nullptr) {
      return Fail(ErrorCode::kIo, "search index: a passage of skill id " +
                                      std::to_string(passages->Int(0)) +
                                      " without its skill or of " + std::to_string(bytes) +
                                      " bytes [SQLITE_CORRUPT]");
    }
    std::vector<float>& into = s.rows[owner->second].passages;
    size_t at = into.size();
    into.resize(at + dim);
    std::memcpy(&into[at], blob, bytes);
  }
}

namespace {

// Write-ahead logging with synchronous=NORMAL (https://sqlite.org/wal.html,
// https://sqlite.org/pragma.html#pragma_synchronous): a commit appends to the log without an
// fsync, which is most of what a one-skill update cost in the default rollback journal (one
// fsync of the journal and one of the file per commit). The index is a cache of the catalogue,
// so durability is not needed: a commit lost to a power cut leaves the file as it was before
// it (the log's frames carry checksums, so a torn tail is recognised and ignored), and the
// next Update() finds those skills' tree hashes old and indexes them again. What this mode
// keeps is what matters, a file that is never half-written. Where WAL cannot be had (a file
// system without shared memory), the journal stays as it is and every commit is synced.
Result<void> UseWriteAheadLog(sqlite3* db) {
  auto mode = sqlite::Statement::Prepare(db, "PRAGMA journal_mode = WAL");
  if (!mode) return std::unexpected(mode.error());
  auto row = mode->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row || mode->Text(0) != "wal") return {};
  return sqlite::Exec(db, "PRAGMA synchronous = NORMAL");
}

// Opens the file and checks that it is ours, of this schema and model, and readable.
Result<void> OpenExisting(SearchIndex::State& s) {
  auto db = sqlite::Open(s.path);
  if (!db) return std::unexpected(db.error());
  s.db = std::move(*db);
  if (auto ok = UseWriteAheadLog(s.db.get()); !ok) return ok;
  if (auto ok = sqlite::Exec(s.db.get(), kSchema); !ok) return ok;
  auto schema = MetaValue(s.db.get(), "schema");
  if (!schema) return std::unexpected(schema.error());
  auto model = MetaValue(s.db.get(), "model");
  if (!model) return std::unexpected(model.error());
  if (schema->empty() && model->empty()) {  // A new file: stamp it.
    auto count = sqlite::Statement::Prepare(s.db.get(), "SELECT count(*) FROM skills");
    if (!count) return std::unexpected(count.error());
    if (auto row = count->Step(); !row || count->Int(0) != 0) {
      return Fail(ErrorCode::kIo, "search index: rows without a schema stamp [stale]");
    }
    auto stamp = sqlite::Statement::Prepare(
        s.db.get(), "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?), ('model', ?)");
    if (!stamp) return std::unexpected(stamp.error());
    stamp->Bind(1, kSchemaVersion);
    stamp->Bind(2, s.embedder->model_id());
    if (auto done = stamp->Step(); !done) return std::unexpected(done.error());
  } else if (*schema != kSchemaVersion || *model != s.embedder->model_id()) {
    return Fail(ErrorCode::kIo,
                "search index: schema " + *schema + ", model " + *model + " [stale]");
  }
  return LoadRows(s);
}

}  // namespace

Result<void> ResetIndex(SearchIndex::State& s) {
  s.db.reset();
  RemoveFiles(s.path);
  s.reset = true;
  return OpenExisting(s);
}

// PRAGMA quick_check (https://sqlite.org/pragma.html#pragma_quick_check) and FTS5's
// integrity-check (https://sqlite.org/fts5.html#the_integrity_check_command).
bool Healthy(sqlite3* db) {
  auto check = sqlite::Statement::Prepare(db, "PRAGMA quick_check");
  if (!check) return false;
  auto row = check->Step();
  if (!row || !*row || check->Text(0) != "ok") return false;
  return sqlite::Exec(db, "INSERT INTO skills_fts(skills_fts) VALUES('integrity-check')")
      .has_value();
}

std::string DenseText(std::string_view name, std::string_view description) {
  std::string text(name);
  std::replace(text.begin(), text.end(), '-', ' ');
  text += ": ";
  text += description;
  return text;
}

std::vector<std::string> PassageTexts(std::string_view name, std::string_view body) {
  std::string prefix(name);
  std::replace(prefix.begin(), prefix.end(), '-', ' ');
  prefix += ": ";
  std::vector<std::string> out;
  std::string passage;
  size_t words = 0, i = 0;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (out.size() < kMaxPassages) {
    while (i < body.size() && space(body[i])) ++i;
    size_t start = i;
    while (i < body.size() && !space(body[i])) ++i;
    if (i > start) {
      passage += (words == 0 ? prefix : std::string(" ")) + std::string(body.substr(start, i - start));
      ++words;
    }
    if (words == kPassageWords || (i == start && words > 0)) {
      out.push_back(std::move(passage));
      passage.clear();
      words = 0;
    }
    if (i == start) break;
  }
  return out;
}

SearchIndex::SearchIndex(std::unique_ptr<State> state) : state_(std::move(state)) {}
SearchIndex::~SearchIndex() = default;

Result<std::unique_ptr<SearchIndex>> SearchIndex::Open(const std::filesystem::path& path,
                                                       std::shared_ptr<Embedder> embedder) {
  if (!embedder) return Fail(ErrorCode::kInvalidArgument, "search index: no embedder");
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return FailErrno(ErrorCode::kIo, "mkdir(" + path.parent_path().string() + ")", ec.value());
  auto state = std::make_unique<State>();
  state->path = path;
  state->embedder = std::move(embedder);
  if (auto ok = OpenExisting(*state); !ok) {
    // Damaged, foreign or stale: the index is a cache of the catalogue, so start afresh.
    if (auto fresh = ResetIndex(*state); !fresh) return std::unexpected(fresh.error());
  }
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(state)));
}

Result<IndexStats> SearchIndex::Rebuild(std::span<const IndexedSkill> skills,
                                        const IndexProgress& progress) {
  if (auto fresh = ResetIndex(*state_); !fresh) return std::unexpected(fresh.error());
  return Update(skills, progress);
}

size_t SearchIndex::size() const { return state_->rows.size(); }
bool SearchIndex::was_reset() const { return state_->reset; }

std::filesystem::path DefaultSearchIndexPath(const std::filesystem::path& home) {
  return home / "index" / "search.db";
}

}  // namespace skillrt
