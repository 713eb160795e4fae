// Answering a query: BM25 candidates from FTS5, dense candidates from the in-memory vectors,
// fusion, and fitting the hits to a token budget (budget.cc).
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <future>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "search/budget.h"
#include "search/index_state.h"

namespace skillrt {
namespace {

// RRF's k (Cormack, Clarke and Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
// individual Rank Learning Methods", SIGIR 2009).
constexpr double kRrfK = 60.0;

// Words that match nearly every description and so only add noise and time to an OR query.
const std::unordered_set<std::string_view> kStopWords = {
    "a",      "an",   "and",  "are", "as",   "at", "be",   "by",   "can",  "do",  "for",
    "from",   "how",  "i",    "in",  "is",   "it", "me",   "my",   "of",   "on",  "or",
    "please", "show", "that", "the", "this", "to", "want", "what", "with", "you", "your"};

// The FTS5 query for `text`: each word (a run of letters, digits, or any non-ASCII bytes) in
// double quotes, so that no FTS5 syntax in the user's text is interpreted, joined by OR.
std::string Fts5Query(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    auto word_char = [&](size_t k) {
      unsigned char c = static_cast<unsigned char>(text[k]);
      return std::isalnum(c) || c >= 0x80;
    };
    while (i < text.size() && !word_char(i)) ++i;
    size_t start = i;
    while (i < text.size() && word_char(i)) ++i;
    if (i == start) break;
    std::string word(text.substr(start, i - start));
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kStopWords.contains(word)) continue;
    if (!out.empty()) out += " OR ";
    out += "\"" + word + "\"";
  }
  return out;
}

struct Candidate {
  size_t row;
  double score;
};

Result<std::vector<Candidate>> Bm25Candidates(const SearchIndex::State& s, std::string_view query,
                                              size_t limit) {
  std::string match = Fts5Query(query);
  if (match.empty()) return std::vector<Candidate>{};
  // bm25() is smaller for better matches (https://sqlite.org/fts5.html#the_bm25_function).
  std::string sql = "SELECT rowid, bm25(skills_fts";
  for (double w : kBm25Weights) sql += ", " + std::to_string(w);
  sql += ") AS r FROM skills_fts WHERE skills_fts MATCH ? ORDER BY r LIMIT ?";
  auto stmt = sqlite::Statement::Prepare(s.db.get(), sql);
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, match);
  stmt->Bind(2, static_cast<int64_t>(limit));
  std::vector<Candidate> out;
  while (true) {
    auto row = stmt->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    auto it = s.row_of_id.find(stmt->Int(0));
    if (it == s.row_of_id.end()) {
      return Fail(ErrorCode::kIo, "search index: FTS row without a skill [SQLITE_CORRUPT]");
    }
    out.push_back({it->second, -stmt->Double(1)});
  }
}

// The dot product of two vectors of `dim` floats, kept in eight running sums: one sum must be
// added in order, which the compiler may not vectorise (it would change the rounding); eight
// independent sums fill one 256-bit or two 128-bit registers.
inline float Dot(const float* a, const float* b, size_t dim) {
  float sum[8] = {};
  size_t d = 0;
  for (; d + 8 <= dim; d += 8) {
    for (size_t k = 0; k < 8; ++k) sum[k] += a[d + k] * b[d + k];
  }
  float dot = 0;
  for (; d < dim; ++d) dot += a[d] * b[d];
  for (float part : sum) dot += part;
  return dot;
}

// `out[r]` = the dot product of `q` with row r of the row-major `rows` x `dim` matrix `m`: the
// dense search's scan, 10,000 x 384 multiply-adds for a large catalogue. Built twice on x86-64,
// for AVX2 and for the baseline, and the loader picks the one the CPU runs (GCC's
// target_clones, through an IFUNC resolver).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void DotAll(const float* q, const float* m, size_t rows, size_t dim, float* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = Dot(q, m + r * dim, dim);
}

std::vector<Candidate> DenseCandidates(const SearchIndex::State& s, const std::vector<float>& q,
                                       size_t limit) {
  const size_t dim = s.embedder->dim();
  std::vector<float> dots(s.rows.size());
  DotAll(q.data(), s.vectors.data(), s.rows.size(), dim, dots.data());
  std::vector<Candidate> all(s.rows.size());
  for (size_t r = 0; r < s.rows.size(); ++r) all[r] = {r, dots[r]};
  size_t n = std::min(limit, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.score != b.score ? a.score > b.score : a.row < b.row;
                    });
  all.resize(n);
  return all;
}

// Min-max normalised scores of a candidate list, by row; a list of one scores 1.
std::unordered_map<size_t, double> Normalised(const std::vector<Candidate>& list) {
  std::unordered_map<size_t, double> out;
  if (list.empty()) return out;
  double hi = list.front().score, lo = list.front().score;
  for (const Candidate& c : list) {
    hi = std::max(hi, c.score);
    lo = std::min(lo, c.score);
  }
  for (const Candidate& c : list) out[c.row] = hi > lo ? (c.score - lo) / (hi - lo) : 1.0;
  return out;
}

// The second stage: the first `depth` of `ranked` ordered again by the mix of their first-stage
// score and their best passage's cosine with the query (SearchOptions::rerank).
void Rerank(const SearchIndex::State& s, const std::vector<float>& q, const SearchOptions& options,
            std::vector<std::pair<size_t, SearchHit>>* ranked) {
  const size_t dim = s.embedder->dim();
  const size_t depth = std::min(ranked->size(), std::max(options.rerank_depth, options.top_k));
  std::vector<Candidate> first, passage;
  for (size_t i = 0; i < depth; ++i) {
    const auto& [row, hit] = (*ranked)[i];
    float best = Dot(q.data(), &s.vectors[row * dim], dim);
    const std::vector<float>& p = s.rows[row].passages;
    for (size_t at = 0; at < p.size(); at += dim) best = std::max(best, Dot(q.data(), &p[at], dim));
    first.push_back({row, hit.score});
    passage.push_back({row, best});
  }
  auto first_norm = Normalised(first), passage_norm = Normalised(passage);
  for (size_t i = 0; i < depth; ++i) {
    auto& [row, hit] = (*ranked)[i];
    hit.rerank.score = passage[i].score;
    hit.score = options.rerank_weight * passage_norm[row] +
                (1 - options.rerank_weight) * first_norm[row];
  }
  std::stable_sort(ranked->begin(), ranked->begin() + static_cast<std::ptrdiff_t>(depth),
                   [&](const auto& a, const auto& b) {
                     if (a.second.score != b.second.score) return a.second.score > b.second.score;
                     return s.rows[a.first].name < s.rows[b.first].name;
                   });
  for (size_t i = 0; i < depth; ++i) (*ranked)[i].second.rerank.rank = i + 1;
}

}  // namespace

std::string_view SearchMethodName(SearchMethod method) {
  switch (method) {
    case SearchMethod::kBm25:
      return "bm25";
    case SearchMethod::kDense:
      return "dense";
    case SearchMethod::kHybrid:
      return "hybrid";
  }
  return "?";
}

Result<SearchMethod> ParseSearchMethod(std::string_view name) {
  for (SearchMethod m : {SearchMethod::kBm25, SearchMethod::kDense, SearchMethod::kHybrid}) {
    if (SearchMethodName(m) == name) return m;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "search method '" + std::string(name) + "': expected bm25, dense or hybrid");
}

Result<SearchResult> SearchIndex::Search(std::string_view query,
                                         const SearchOptions& options) const {
  const State& s = *state_;
  bool blank = std::all_of(query.begin(), query.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (blank) return Fail(ErrorCode::kInvalidArgument, "search: the query is empty");
  if (options.top_k == 0) return Fail(ErrorCode::kInvalidArgument, "search: top_k is 0");
  if (!(options.dense_weight >= 0 && options.dense_weight <= 1)) {
    return Fail(ErrorCode::kInvalidArgument, "search: dense_weight is outside [0, 1]");
  }
  if (!(options.rerank_weight >= 0 && options.rerank_weight <= 1)) {
    return Fail(ErrorCode::kInvalidArgument, "search: rerank_weight is outside [0, 1]");
  }
  const size_t pool = std::max(options.candidates, options.top_k);
  const bool want_bm25 = options.method != SearchMethod::kDense;
  // The query's embedding, for the dense method and for reranking.
  const bool want_vector =
      (options.method != SearchMethod::kBm25 || options.rerank) && !s.rows.empty();
  // The FTS5 query and the query's embedding are independent: BM25 runs on a thread of its
  // own while the model embeds the query on this one, so that with a second core free a
  // hybrid search costs the longer of the two rather than their sum. The SQLite connection
  // (opened NOMUTEX) is used by that thread alone until get() joins it.
  std::future<Result<std::vector<Candidate>>> bm25_job;
  if (want_bm25 && want_vector) {
    try {
      bm25_job = std::async(std::launch::async, [&] { return Bm25Candidates(s, query, pool); });
    } catch (const std::system_error&) {
      // No thread to be had: BM25 runs below, on this thread.
    }
  }
  std::vector<float> q;
  if (want_vector) {
    std::array<std::string_view, 1> texts = {query};
    auto embedded = s.embedder->Embed(texts);
    if (!embedded) return std::unexpected(embedded.error());  // ~future joins the thread.
    q = std::move(*embedded);
  }
  std::vector<Candidate> bm25, dense;
  if (want_bm25) {
    auto list = bm25_job.valid() ? bm25_job.get() : Bm25Candidates(s, query, pool);
    if (!list) return std::unexpected(list.error());
    bm25 = std::move(*list);
  }
  if (options.method != SearchMethod::kBm25 && !s.rows.empty()) {
    dense = DenseCandidates(s, q, pool);
  }

  // Every candidate with each method's rank and score, then the fused score.
  std::unordered_map<size_t, SearchHit> hits;
  auto note = [&](const std::vector<Candidate>& list, MethodMatch SearchHit::*field) {
    for (size_t i = 0; i < list.size(); ++i) {
      hits[list[i].row].*field = {.rank = i + 1, .score = list[i].score};
    }
  };
  note(bm25, &SearchHit::bm25);
  note(dense, &SearchHit::dense);
  auto bm25_norm = Normalised(bm25), dense_norm = Normalised(dense);
  for (auto& [row, hit] : hits) {
    switch (options.method) {
      case SearchMethod::kBm25:
        hit.score = hit.bm25.score;
        break;
      case SearchMethod::kDense:
        hit.score = hit.dense.score;
        break;
      case SearchMethod::kHybrid:
        if (options.fusion == Fusion::kRrf) {
          for (const MethodMatch* m : {&hit.bm25, &hit.dense}) {
            if (m->rank != 0) hit.score += 1.0 / (kRrfK + static_cast<double>(m->rank));
          }
        } else {
          double b = bm25_norm.contains(row) ? bm25_norm[row] : 0.0;
          double d = dense_norm.contains(row) ? dense_norm[row] : 0.0;
          hit.score = options.dense_weight * d + (1 - options.dense_weight) * b;
        }
        break;
    }
  }
  std::vector<std::pair<size_t, SearchHit>> ranked(hits.begin(), hits.end());
  std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    if (a.second.score != b.second.score) return a.second.score > b.second.score;
    return s.rows[a.first].name < s.rows[b.first].name;  // Ties: a stable, readable order.
  });
  if (options.rerank && !q.empty()) Rerank(s, q, options, &ranked);
  if (ranked.size() > options.top_k) ranked.resize(options.top_k);
  std::vector<SearchHit> out;
  out.reserve(ranked.size());
  for (auto& [row, hit] : ranked) {
    hit.name = s.rows[row].name;
    hit.description = s.rows[row].description;
    hit.dir = s.rows[row].dir;
    out.push_back(std::move(hit));
  }
  return FitToBudget(std::move(out), options.budget);
}

}  // namespace skillrt
