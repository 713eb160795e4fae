// The search index's storage: schema, opening (with recovery from damage), incremental
// updates keyed by tree hash, and the in-memory copy of the embeddings.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "search/index_state.h"
#include "skillrt/registry.h"
#include "skillrt/skill.h"

namespace skillrt {
namespace {

// Bumped whenever the schema or what is stored in it changes; another version is rebuilt.
constexpr std::string_view kSchemaVersion = "2";
// Texts embedded per model call: big enough to amortise the call, small enough that padding
// to the longest text in a batch wastes little.
constexpr size_t kEmbedBatch = 16;

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

// Reads every row and embedding into memory; a row whose embedding has the wrong size means
// the file is damaged.
Result<void> LoadRows(SearchIndex::State& s) {
  s.rows.clear();
  s.vectors.clear();
  s.row_of_id.clear();
  auto stmt = sqlite::Statement::Prepare(
      s.db.get(), "SELECT id, name, dir, description, embedding FROM skills ORDER BY id");
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
    s.rows.push_back({.id = stmt->Int(0),
                      .name = stmt->Text(1),
                      .description = stmt->Text(3),
                      .dir = stmt->Text(2)});
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

// Opens the file and checks that it is ours, of this schema and model, and readable.
Result<void> OpenExisting(SearchIndex::State& s) {
  auto db = sqlite::Open(s.path);
  if (!db) return std::unexpected(db.error());
  s.db = std::move(*db);
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

// Deletes the file and starts an empty one.
Result<void> Reset(SearchIndex::State& s) {
  s.db.reset();
  RemoveFiles(s.path);
  s.reset = true;
  return OpenExisting(s);
}

// PRAGMA quick_check (https://sqlite.org/pragma.html#pragma_quick_check) and FTS5's
// integrity-check (https://sqlite.org/fts5.html#the_integrity_check_command): false when the
// file is damaged in a way reading rows need not notice.
bool Healthy(sqlite3* db) {
  auto check = sqlite::Statement::Prepare(db, "PRAGMA quick_check");
  if (!check) return false;
  auto row = check->Step();
  if (!row || !*row || check->Text(0) != "ok") return false;
  return sqlite::Exec(db, "INSERT INTO skills_fts(skills_fts) VALUES('integrity-check')")
      .has_value();
}

struct Stored {
  int64_t id;
  std::string tree_sha256;
  std::string dir;
};

Result<std::map<std::string, Stored>> StoredSkills(sqlite3* db) {
  std::map<std::string, Stored> out;
  auto stmt = sqlite::Statement::Prepare(db, "SELECT name, id, tree_sha256, dir FROM skills");
  if (!stmt) return std::unexpected(stmt.error());
  while (true) {
    auto row = stmt->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out[stmt->Text(0)] = {stmt->Int(1), stmt->Text(2), stmt->Text(3)};
  }
}

// The vectors of one changed skill: its name and description's, then its passages'.
struct Embedded {
  std::vector<float> skill;
  std::vector<float> passages;
};

// Writes the changes in one transaction; rolled back on any failure.
Result<void> Write(SearchIndex::State& s, std::span<const IndexedSkill> skills,
                   const std::vector<size_t>& changed, const std::vector<Embedded>& vectors,
                   const std::map<std::string, Stored>& stored, const std::vector<int64_t>& removed,
                   std::vector<int64_t>* new_ids) {
  sqlite3* db = s.db.get();
  if (auto ok = sqlite::Exec(db, "BEGIN IMMEDIATE"); !ok) return ok;
  auto body = [&]() -> Result<void> {
    auto del = sqlite::Statement::Prepare(db, "DELETE FROM skills WHERE id = ?");
    auto del_fts = sqlite::Statement::Prepare(db, "DELETE FROM skills_fts WHERE rowid = ?");
    auto del_passages = sqlite::Statement::Prepare(db, "DELETE FROM passages WHERE skill_id = ?");
    auto ins_passage = sqlite::Statement::Prepare(
        db, "INSERT INTO passages(skill_id, seq, embedding) VALUES (?, ?, ?)");
    auto ins = sqlite::Statement::Prepare(
        db,
        "INSERT INTO skills(name, dir, tree_sha256, description, embedding) "
        "VALUES (?, ?, ?, ?, ?)");
    auto ins_fts = sqlite::Statement::Prepare(
        db,
        "INSERT INTO skills_fts(rowid, name, description, body, capabilities) "
        "VALUES (?, ?, ?, ?, ?)");
    for (auto* st : {&del, &del_fts, &del_passages, &ins, &ins_fts, &ins_passage}) {
      if (!*st) return std::unexpected(st->error());
    }
    auto remove = [&](int64_t id) -> Result<void> {
      for (auto* st : {&del, &del_fts, &del_passages}) {
        (*st)->Bind(1, id);
        if (auto r = (*st)->Step(); !r) return std::unexpected(r.error());
        (*st)->Reset();
      }
      return {};
    };
    for (int64_t id : removed) {
      if (auto r = remove(id); !r) return r;
    }
    const size_t dim = s.embedder->dim();
    for (size_t k = 0; k < changed.size(); ++k) {
      const IndexedSkill& skill = skills[changed[k]];
      if (auto old = stored.find(skill.name); old != stored.end()) {
        if (auto r = remove(old->second.id); !r) return r;
      }
      ins->Bind(1, skill.name);
      ins->Bind(2, skill.dir.string());
      ins->Bind(3, skill.tree_sha256);
      ins->Bind(4, skill.description);
      ins->BindBlob(5, vectors[k].skill.data(), dim * sizeof(float));
      if (auto r = ins->Step(); !r) return std::unexpected(r.error());
      ins->Reset();
      std::string words_of_name = skill.name;
      std::replace(words_of_name.begin(), words_of_name.end(), '-', ' ');
      new_ids->push_back(sqlite3_last_insert_rowid(db));
      ins_fts->Bind(1, new_ids->back());
      ins_fts->Bind(2, words_of_name);
      ins_fts->Bind(3, skill.description);
      ins_fts->Bind(4, skill.body);
      ins_fts->Bind(5, skill.capabilities);
      if (auto r = ins_fts->Step(); !r) return std::unexpected(r.error());
      ins_fts->Reset();
      const std::vector<float>& passages = vectors[k].passages;
      for (size_t p = 0; p * dim < passages.size(); ++p) {
        ins_passage->Bind(1, new_ids->back());
        ins_passage->Bind(2, static_cast<int64_t>(p));
        ins_passage->BindBlob(3, &passages[p * dim], dim * sizeof(float));
        if (auto r = ins_passage->Step(); !r) return std::unexpected(r.error());
        ins_passage->Reset();
      }
    }
    return {};
  }();
  if (!body) {
    (void)sqlite::Exec(db, "ROLLBACK");  // The failure that matters is body's.
    return body;
  }
  return sqlite::Exec(db, "COMMIT");
}

// Brings the in-memory rows in line with what Write() committed, without reading the file
// again: drops removed and replaced rows, appends the new ones (their ids are the largest, so
// the order stays LoadRows()'s order by id).
void PatchRows(SearchIndex::State& s, std::span<const IndexedSkill> skills,
               const std::vector<size_t>& changed, std::vector<Embedded>& vectors,
               const std::vector<int64_t>& new_ids, const std::map<std::string, Stored>& stored,
               const std::vector<int64_t>& removed) {
  const size_t dim = s.embedder->dim();
  std::set<int64_t> gone(removed.begin(), removed.end());
  for (size_t i : changed) {
    if (auto old = stored.find(skills[i].name); old != stored.end()) gone.insert(old->second.id);
  }
  size_t kept = 0;
  for (size_t r = 0; r < s.rows.size(); ++r) {
    if (gone.contains(s.rows[r].id)) continue;
    if (kept != r) {
      s.rows[kept] = std::move(s.rows[r]);
      std::copy_n(s.vectors.begin() + static_cast<std::ptrdiff_t>(r * dim), dim,
                  s.vectors.begin() + static_cast<std::ptrdiff_t>(kept * dim));
    }
    ++kept;
  }
  s.rows.resize(kept);
  s.vectors.resize(kept * dim);
  for (size_t k = 0; k < changed.size(); ++k) {
    const IndexedSkill& skill = skills[changed[k]];
    s.rows.push_back({.id = new_ids[k],
                      .name = skill.name,
                      .description = skill.description,
                      .dir = skill.dir,
                      .passages = std::move(vectors[k].passages)});
    s.vectors.insert(s.vectors.end(), vectors[k].skill.begin(), vectors[k].skill.end());
  }
  s.row_of_id.clear();
  for (size_t r = 0; r < s.rows.size(); ++r) s.row_of_id[s.rows[r].id] = r;
}

}  // namespace

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
    if (auto fresh = Reset(*state); !fresh) return std::unexpected(fresh.error());
  }
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(state)));
}

Result<IndexStats> SearchIndex::Update(std::span<const IndexedSkill> skills,
                                       const IndexProgress& progress) {
  State& s = *state_;
  IndexStats stats;
  std::set<std::string_view> names;
  for (const IndexedSkill& skill : skills) {
    if (skill.name.empty()) return Fail(ErrorCode::kInvalidArgument, "search index: empty name");
    if (!names.insert(skill.name).second) {
      return Fail(ErrorCode::kInvalidArgument, "search index: two skills named " + skill.name);
    }
  }
  auto stored = StoredSkills(s.db.get());
  // The full checks read the whole file, so they run on the first update of an opened index;
  // later damage shows as read errors (SkillSearch rebuilds on those).
  bool healthy = stored.has_value() && (s.checked || Healthy(s.db.get()));
  s.checked = true;
  if (!healthy) {
    if (auto fresh = Reset(s); !fresh) return std::unexpected(fresh.error());
    stored = std::map<std::string, Stored>();
  }
  stats.rebuilt = s.reset;
  s.reset = false;

  std::vector<size_t> changed;
  for (size_t i = 0; i < skills.size(); ++i) {
    auto it = stored->find(skills[i].name);
    if (it == stored->end()) {
      ++stats.added;
      changed.push_back(i);
    } else if (it->second.tree_sha256 != skills[i].tree_sha256 ||
               it->second.dir != skills[i].dir.string()) {
      ++stats.updated;
      changed.push_back(i);
    } else {
      ++stats.unchanged;
    }
  }
  std::vector<int64_t> removed;
  for (const auto& [name, row] : *stored) {
    if (!names.contains(name)) removed.push_back(row.id);
  }
  stats.removed = removed.size();
  if (changed.empty() && removed.empty()) return stats;

  // Embed outside the transaction, in batches of texts of similar length (a batch is padded
  // to its longest text), reporting progress. Text t belongs to changed skill owner[t]: its
  // first text is the skill's own, the rest its passages.
  const size_t dim = s.embedder->dim();
  std::vector<std::string> texts;
  std::vector<size_t> owner;
  for (size_t k = 0; k < changed.size(); ++k) {
    const IndexedSkill& skill = skills[changed[k]];
    texts.push_back(DenseText(skill.name, skill.description));
    owner.push_back(k);
    for (std::string& p : PassageTexts(skill.name, skill.body)) {
      texts.push_back(std::move(p));
      owner.push_back(k);
    }
  }
  std::vector<size_t> order(texts.size());
  for (size_t t = 0; t < order.size(); ++t) order[t] = t;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return texts[a].size() < texts[b].size(); });
  std::vector<float> flat(texts.size() * dim);
  for (size_t start = 0; start < order.size(); start += kEmbedBatch) {
    size_t end = std::min(order.size(), start + kEmbedBatch);
    std::vector<std::string_view> views;
    for (size_t t = start; t < end; ++t) views.push_back(texts[order[t]]);
    auto batch = s.embedder->Embed(views);
    if (!batch) return std::unexpected(batch.error());
    for (size_t t = start; t < end; ++t) {
      std::copy_n(batch->begin() + static_cast<std::ptrdiff_t>((t - start) * dim), dim,
                  flat.begin() + static_cast<std::ptrdiff_t>(order[t] * dim));
    }
    if (progress) progress(end, texts.size());
  }
  std::vector<Embedded> vectors(changed.size());
  for (size_t t = 0; t < texts.size(); ++t) {
    Embedded& e = vectors[owner[t]];
    std::vector<float>& into = e.skill.empty() ? e.skill : e.passages;
    auto first = flat.begin() + static_cast<std::ptrdiff_t>(t * dim);
    into.insert(into.end(), first, first + static_cast<std::ptrdiff_t>(dim));
  }
  std::vector<int64_t> new_ids;
  if (auto ok = Write(s, skills, changed, vectors, *stored, removed, &new_ids); !ok) {
    return std::unexpected(ok.error());
  }
  PatchRows(s, skills, changed, vectors, new_ids, *stored, removed);
  return stats;
}

Result<IndexStats> SearchIndex::Rebuild(std::span<const IndexedSkill> skills,
                                        const IndexProgress& progress) {
  if (auto fresh = Reset(*state_); !fresh) return std::unexpected(fresh.error());
  return Update(skills, progress);
}

size_t SearchIndex::size() const { return state_->rows.size(); }
bool SearchIndex::was_reset() const { return state_->reset; }

std::filesystem::path DefaultSearchIndexPath(const std::filesystem::path& home) {
  return home / "index" / "search.db";
}

}  // namespace skillrt
