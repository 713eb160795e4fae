// Incremental updates of the search index: the catalogue compared by tree hash with the rows
// held in memory, the changed skills' texts embedded (the vectors of texts that did not change
// are kept), one transaction that replaces each changed row where it is, and the same change
// made to the copy in memory.
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "search/index_state.h"

namespace skillrt {
namespace {

// Texts embedded per model call: big enough to amortise the call, small enough that padding
// to the longest text in a batch wastes little.
constexpr size_t kEmbedBatch = 16;
// Updates tried when another connection commits to the file while this one embeds.
constexpr int kAttempts = 3;
constexpr size_t kNoRow = SIZE_MAX;

// What an update changes.
struct Plan {
  std::vector<size_t> changed;  // Indices into the catalogue: new or changed skills.
  std::vector<size_t> old_row;  // Parallel to `changed`: the row each replaces, or kNoRow.
  std::vector<size_t> removed;  // Rows whose names the catalogue no longer has, ascending.
};

// Compares the catalogue with the rows in memory (which describe the file; see State).
Plan Diff(const SearchIndex::State& s, std::span<const IndexedSkill> skills,
          const std::unordered_set<std::string_view>& names, IndexStats* stats) {
  Plan plan;
  for (size_t i = 0; i < skills.size(); ++i) {
    auto it = s.row_of_name.find(skills[i].name);
    if (it == s.row_of_name.end()) {
      ++stats->added;
      plan.changed.push_back(i);
      plan.old_row.push_back(kNoRow);
      continue;
    }
    const IndexRow& row = s.rows[it->second];
    if (row.tree_sha256 != skills[i].tree_sha256 || row.dir.native() != skills[i].dir.native()) {
      ++stats->updated;
      plan.changed.push_back(i);
      plan.old_row.push_back(it->second);
    } else {
      ++stats->unchanged;
    }
  }
  for (size_t r = 0; r < s.rows.size(); ++r) {
    if (!names.contains(s.rows[r].name)) plan.removed.push_back(r);
  }
  stats->removed = plan.removed.size();
  return plan;
}

// The vectors of one changed skill: its name and description's, then its passages'.
struct Embedded {
  std::vector<float> skill;
  std::vector<float> passages;
};

// The body stored for skill `id` (FTS5 keeps each column's text).
Result<std::string> StoredBody(sqlite3* db, int64_t id) {
  auto stmt = sqlite::Statement::Prepare(db, "SELECT body FROM skills_fts WHERE rowid = ?");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, id);
  auto row = stmt->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) {
    return Fail(ErrorCode::kIo, "search index: skill id " + std::to_string(id) +
                                    " has no text row [SQLITE_CORRUPT]");
  }
  return stmt->Text(0);
}

// The vectors of the changed skills. A text that the replaced row already has a vector for (the
// same name and description; a passage of the same words) keeps that vector: the embedder is
// deterministic, so embedding it again would give the same one. The others are embedded in
// batches of texts of similar length (a batch is padded to its longest text), with progress.
Result<std::vector<Embedded>> EmbedChanged(const SearchIndex::State& s,
                                           std::span<const IndexedSkill> skills, const Plan& plan,
                                           const IndexProgress& progress) {
  const size_t dim = s.embedder->dim();
  std::vector<Embedded> out(plan.changed.size());
  std::vector<std::string> texts;  // To embed; text t's vector goes to into[t].
  std::vector<float*> into;
  for (size_t k = 0; k < plan.changed.size(); ++k) {
    const IndexedSkill& skill = skills[plan.changed[k]];
    const IndexRow* old = plan.old_row[k] != kNoRow ? &s.rows[plan.old_row[k]] : nullptr;
    Embedded& e = out[k];
    e.skill.resize(dim);
    if (old != nullptr && old->description == skill.description) {
      std::copy_n(s.vectors.begin() + static_cast<std::ptrdiff_t>(plan.old_row[k] * dim), dim,
                  e.skill.begin());
    } else {
      texts.push_back(DenseText(skill.name, skill.description));
      into.push_back(e.skill.data());
    }
    std::vector<std::string> passages = PassageTexts(skill.name, skill.body);
    e.passages.resize(passages.size() * dim);
    std::unordered_map<std::string, const float*> known;  // An old passage's text -> its vector.
    if (old != nullptr && !old->passages.empty() && !passages.empty()) {
      // When the old body cannot be read (a damaged row) or does not match the stored vectors,
      // nothing is reused: the skill is embedded as a new one.
      auto body = StoredBody(s.db.get(), old->id);
      std::vector<std::string> old_texts =
          body ? PassageTexts(skill.name, *body) : std::vector<std::string>();
      if (!old_texts.empty() && old_texts.size() * dim == old->passages.size()) {
        for (size_t p = 0; p < old_texts.size(); ++p) {
          known.emplace(std::move(old_texts[p]), &old->passages[p * dim]);
        }
      }
    }
    for (size_t p = 0; p < passages.size(); ++p) {
      float* to = &e.passages[p * dim];
      if (auto it = known.find(passages[p]); it != known.end()) {
        std::copy_n(it->second, dim, to);
      } else {
        texts.push_back(std::move(passages[p]));
        into.push_back(to);
      }
    }
  }
  std::vector<size_t> order(texts.size());
  for (size_t t = 0; t < order.size(); ++t) order[t] = t;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return texts[a].size() < texts[b].size(); });
  for (size_t start = 0; start < order.size(); start += kEmbedBatch) {
    size_t end = std::min(order.size(), start + kEmbedBatch);
    std::vector<std::string_view> views;
    for (size_t t = start; t < end; ++t) views.push_back(texts[order[t]]);
    auto batch = s.embedder->Embed(views);
    if (!batch) return std::unexpected(batch.error());
    for (size_t t = start; t < end; ++t) {
      std::copy_n(batch->begin() + static_cast<std::ptrdiff_t>((t - start) * dim), dim,
                  into[order[t]]);
    }
    if (progress) progress(end, texts.size());
  }
  return out;
}

// Writes the plan in one transaction, rolled back on any failure: removed rows deleted, a
// changed skill's row updated under its id (its text row and passages written anew), a new
// skill inserted. `ids` gets each changed skill's id. false, with nothing written, when another
// connection committed since the rows in memory were read (the plan may be stale).
Result<bool> Write(SearchIndex::State& s, std::span<const IndexedSkill> skills, const Plan& plan,
                   const std::vector<Embedded>& vectors, std::vector<int64_t>* ids) {
  sqlite3* db = s.db.get();
  if (auto ok = sqlite::Exec(db, "BEGIN IMMEDIATE"); !ok) return std::unexpected(ok.error());
  auto body = [&]() -> Result<bool> {
    // The write lock is held from here: nobody else commits until COMMIT.
    auto version = DataVersion(db);
    if (!version) return std::unexpected(version.error());
    if (*version != s.data_version) return false;
    auto del = sqlite::Statement::Prepare(db, "DELETE FROM skills WHERE id = ?");
    auto del_fts = sqlite::Statement::Prepare(db, "DELETE FROM skills_fts WHERE rowid = ?");
    auto del_passages = sqlite::Statement::Prepare(db, "DELETE FROM passages WHERE skill_id = ?");
    auto ins_passage = sqlite::Statement::Prepare(
        db, "INSERT INTO passages(skill_id, seq, embedding) VALUES (?, ?, ?)");
    auto ins = sqlite::Statement::Prepare(
        db,
        "INSERT INTO skills(name, dir, tree_sha256, description, embedding) "
        "VALUES (?, ?, ?, ?, ?)");
    auto upd = sqlite::Statement::Prepare(
        db,
        "UPDATE skills SET dir = ?, tree_sha256 = ?, description = ?, embedding = ? "
        "WHERE id = ?");
    auto ins_fts = sqlite::Statement::Prepare(
        db,
        "INSERT INTO skills_fts(rowid, name, description, body, capabilities) "
        "VALUES (?, ?, ?, ?, ?)");
    for (auto* st : {&del, &del_fts, &del_passages, &ins, &upd, &ins_fts, &ins_passage}) {
      if (!*st) return std::unexpected(st->error());
    }
    auto run = [](sqlite::Statement& st) -> Result<void> {
      auto r = st.Step();
      st.Reset();
      if (!r) return std::unexpected(r.error());
      return {};
    };
    for (size_t r : plan.removed) {
      for (auto* st : {&del, &del_fts, &del_passages}) {
        (*st)->Bind(1, s.rows[r].id);
        if (auto ok = run(**st); !ok) return std::unexpected(ok.error());
      }
    }
    const size_t dim = s.embedder->dim();
    for (size_t k = 0; k < plan.changed.size(); ++k) {
      const IndexedSkill& skill = skills[plan.changed[k]];
      const bool replacing = plan.old_row[k] != kNoRow;
      sqlite::Statement& row = replacing ? *upd : *ins;
      int at = 1;
      if (!replacing) row.Bind(at++, skill.name);
      row.Bind(at++, skill.dir.string());
      row.Bind(at++, skill.tree_sha256);
      row.Bind(at++, skill.description);
      row.BindBlob(at++, vectors[k].skill.data(), dim * sizeof(float));
      if (replacing) row.Bind(at, s.rows[plan.old_row[k]].id);
      if (auto ok = run(row); !ok) return std::unexpected(ok.error());
      const int64_t id = replacing ? s.rows[plan.old_row[k]].id : sqlite3_last_insert_rowid(db);
      ids->push_back(id);
      if (replacing) {
        for (auto* st : {&del_fts, &del_passages}) {
          (*st)->Bind(1, id);
          if (auto ok = run(**st); !ok) return std::unexpected(ok.error());
        }
      }
      std::string words_of_name = skill.name;
      std::replace(words_of_name.begin(), words_of_name.end(), '-', ' ');
      ins_fts->Bind(1, id);
      ins_fts->Bind(2, words_of_name);
      ins_fts->Bind(3, skill.description);
      ins_fts->Bind(4, skill.body);
      ins_fts->Bind(5, skill.capabilities);
      if (auto ok = run(*ins_fts); !ok) return std::unexpected(ok.error());
      const std::vector<float>& passages = vectors[k].passages;
      for (size_t p = 0; p * dim < passages.size(); ++p) {
        ins_passage->Bind(1, id);
        ins_passage->Bind(2, static_cast<int64_t>(p));
        ins_passage->BindBlob(3, &passages[p * dim], dim * sizeof(float));
        if (auto ok = run(*ins_passage); !ok) return std::unexpected(ok.error());
      }
    }
    return true;
  }();
  if (!body || !*body) {
    (void)sqlite::Exec(db, "ROLLBACK");  // The failure that matters is body's.
    return body;
  }
  if (auto ok = sqlite::Exec(db, "COMMIT"); !ok) return std::unexpected(ok.error());
  return true;
}

// Makes the rows in memory what Write() committed, without reading the file: a replaced row is
// overwritten in its slot (its id, and so its place in the order by id, is kept), removed rows
// are dropped, new rows appended (their ids are the largest).
void Patch(SearchIndex::State& s, std::span<const IndexedSkill> skills, const Plan& plan,
           std::vector<Embedded>& vectors, const std::vector<int64_t>& ids) {
  const size_t dim = s.embedder->dim();
  for (size_t k = 0; k < plan.changed.size(); ++k) {
    if (plan.old_row[k] == kNoRow) continue;
    const IndexedSkill& skill = skills[plan.changed[k]];
    IndexRow& row = s.rows[plan.old_row[k]];
    row.description = skill.description;
    row.dir = skill.dir;
    row.tree_sha256 = skill.tree_sha256;
    row.passages = std::move(vectors[k].passages);
    std::copy_n(vectors[k].skill.begin(), dim,
                s.vectors.begin() + static_cast<std::ptrdiff_t>(plan.old_row[k] * dim));
  }
  if (!plan.removed.empty()) {
    std::vector<bool> gone(s.rows.size());
    for (size_t r : plan.removed) gone[r] = true;
    size_t kept = 0;
    for (size_t r = 0; r < s.rows.size(); ++r) {
      if (gone[r]) continue;
      if (kept != r) {
        s.rows[kept] = std::move(s.rows[r]);
        std::copy_n(s.vectors.begin() + static_cast<std::ptrdiff_t>(r * dim), dim,
                    s.vectors.begin() + static_cast<std::ptrdiff_t>(kept * dim));
      }
      ++kept;
    }
    s.rows.resize(kept);
    s.vectors.resize(kept * dim);
    s.row_of_id.clear();
    s.row_of_name.clear();
    for (size_t r = 0; r < s.rows.size(); ++r) {
      s.row_of_id[s.rows[r].id] = r;
      s.row_of_name[s.rows[r].name] = r;
    }
  }
  for (size_t k = 0; k < plan.changed.size(); ++k) {
    if (plan.old_row[k] != kNoRow) continue;
    const IndexedSkill& skill = skills[plan.changed[k]];
    s.row_of_id[ids[k]] = s.rows.size();
    s.row_of_name[skill.name] = s.rows.size();
    s.rows.push_back({.id = ids[k],
                      .name = skill.name,
                      .description = skill.description,
                      .dir = skill.dir,
                      .passages = std::move(vectors[k].passages),
                      .tree_sha256 = skill.tree_sha256});
    s.vectors.insert(s.vectors.end(), vectors[k].skill.begin(), vectors[k].skill.end());
  }
}

}  // namespace

Result<IndexStats> SearchIndex::Update(std::span<const IndexedSkill> skills,
                                       const IndexProgress& progress) {
  State& s = *state_;
  std::unordered_set<std::string_view> names;
  names.reserve(skills.size());
  for (const IndexedSkill& skill : skills) {
    if (skill.name.empty()) return Fail(ErrorCode::kInvalidArgument, "search index: empty name");
    if (!names.insert(skill.name).second) {
      return Fail(ErrorCode::kInvalidArgument, "search index: two skills named " + skill.name);
    }
  }
  // The full checks read the whole file, so they run on the first update of an opened index;
  // later damage shows as read errors (SkillSearch rebuilds on those).
  if (!s.checked) {
    s.checked = true;
    if (!Healthy(s.db.get())) {
      if (auto fresh = ResetIndex(s); !fresh) return std::unexpected(fresh.error());
    }
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // The rows in memory must describe the file: another process may have updated it.
    auto version = DataVersion(s.db.get());
    if (!version || *version != s.data_version) {
      if (!version || !LoadRows(s)) {  // Unreadable: the index is a cache, start afresh.
        if (auto fresh = ResetIndex(s); !fresh) return std::unexpected(fresh.error());
      }
    }
    IndexStats stats;
    stats.rebuilt = s.reset;
    Plan plan = Diff(s, skills, names, &stats);
    if (plan.changed.empty() && plan.removed.empty()) {
      s.reset = false;
      return stats;
    }
    auto vectors = EmbedChanged(s, skills, plan, progress);
    if (!vectors) return std::unexpected(vectors.error());
    std::vector<int64_t> ids;
    auto written = Write(s, skills, plan, *vectors, &ids);
    if (!written) return std::unexpected(written.error());
    if (!*written) continue;  // Another process committed first: compare again.
    Patch(s, skills, plan, *vectors, ids);
    s.reset = false;
    return stats;
  }
  return Fail(ErrorCode::kIo, "search index: " + s.path.string() +
                                  " was changed by another process during each of " +
                                  std::to_string(kAttempts) + " attempts to update it");
}

}  // namespace skillrt
