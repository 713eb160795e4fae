// Skill search: the skills that best match a natural-language task, by BM25 over their text
// fields, by dense sentence embeddings, or by both fused; results fitted to a token budget.
// docs/search.md describes the methods, the model and the measured quality and latency.
#ifndef SKILLRT_SEARCH_H_
#define SKILLRT_SEARCH_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/registry.h"

namespace skillrt {

/// How candidates are found and ranked.
enum class SearchMethod {
  kBm25,    ///< SQLite FTS5 BM25 over name, description, body and capabilities, weighted.
  kDense,   ///< Cosine similarity of sentence embeddings (query vs. name + description).
  kHybrid,  ///< Both lists fused (SearchOptions::fusion).
};

/// How kHybrid combines the two ranked lists.
enum class Fusion {
  /// Reciprocal rank fusion: sum over methods of 1 / (60 + rank) (Cormack, Clarke and
  /// Buettcher, SIGIR 2009, with their k = 60).
  kRrf,
  /// Weighted sum of each method's scores min-max normalised over its candidates;
  /// SearchOptions::dense_weight for dense, 1 - that for BM25.
  kWeighted,
};

/// "bm25", "dense", "hybrid".
std::string_view SearchMethodName(SearchMethod method);
/// The method named `name` (as SearchMethodName); kInvalidArgument naming the choices.
Result<SearchMethod> ParseSearchMethod(std::string_view name);

/// A BPE encoding whose token ranks count tokens (tiktoken's rank files).
enum class TokenEncoding {
  kCl100kBase,  ///< GPT-4 and GPT-3.5 models' encoding.
  kO200kBase,   ///< GPT-4o models' encoding.
};

/// Limits on the tokens a result may take in an agent's context. 0 means no limit.
struct TokenBudget {
  /// Tokens for all hits together, as rendered by RenderHit(). Hits are kept best first
  /// while they fit; the first that does not fit (even shortened) ends the list.
  size_t total_tokens = 0;
  /// Tokens for one hit: a longer description is cut at a word boundary and ends in "…".
  size_t per_skill_tokens = 0;
  TokenEncoding encoding = TokenEncoding::kCl100kBase;
};

/// What to search for and how.
struct SearchOptions {
  size_t top_k = 10;  ///< At most this many hits.
  SearchMethod method = SearchMethod::kHybrid;
  Fusion fusion = Fusion::kWeighted;  ///< kHybrid only; measured in docs/search.md.
  double dense_weight = 0.5;          ///< kWeighted only; in [0, 1].
  /// Candidates taken from each method before fusion (at least top_k).
  size_t candidates = 50;
  /// Reranking: the best `rerank_depth` skills of the first stage are scored again by a second
  /// dense pass over each skill's passages (its name and description, and its SKILL.md body
  /// in passages of about 48 words, at most 8; their vectors are computed at indexing): the
  /// best cosine of the query with any passage. The final score mixes that with the first
  /// stage's score, each min-max normalised over the reranked skills, `rerank_weight` for the
  /// passages. Skills past the depth keep their order below. On by default: docs/search.md
  /// measures it better than hybrid alone where skills have bodies, and level where not.
  bool rerank = true;
  size_t rerank_depth = 30;
  double rerank_weight = 0.3;  ///< In [0, 1]; measured in docs/search.md.
  TokenBudget budget = {};     ///< Unlimited by default.
};

/// One method's view of a hit. `rank` is 1-based; 0 when the method did not return the skill
/// among its candidates (then `score` is 0).
struct MethodMatch {
  size_t rank = 0;
  /// BM25: the negated FTS5 bm25() value (higher is better). Dense: cosine similarity, [-1, 1].
  double score = 0;
};

/// One skill found.
struct SearchHit {
  std::string name = {};
  std::string description = {};  ///< Possibly shortened by the budget (ends in "…").
  bool description_shortened = false;
  std::filesystem::path dir = {};  ///< The skill directory when indexed.
  double score = 0;                ///< The method's (or fusion's) score; higher is better.
  MethodMatch bm25 = {};
  MethodMatch dense = {};
  /// SearchOptions::rerank only: the rank after reranking and the best passage cosine.
  MethodMatch rerank = {};
  size_t tokens = 0;  ///< Tokens of RenderHit(*this) under the budget's encoding.
};

/// The hits, best first, and what the budget left out.
struct SearchResult {
  std::vector<SearchHit> hits = {};
  size_t total_tokens = 0;        ///< Sum of hits[i].tokens.
  size_t dropped_for_budget = 0;  ///< Hits within top_k left out because the budget was spent.
};

/// The text a hit takes in an agent's context: "name: description". What budgets count.
std::string RenderHit(const SearchHit& hit);

/// Turns text into unit-length vectors. Implementations must be deterministic: one text gives
/// one vector. Thread safety is the implementation's to state.
class Embedder {
 public:
  virtual ~Embedder() = default;
  /// The vector width.
  virtual size_t dim() const = 0;
  /// Names the model and its version; an index built with another model id is rebuilt.
  virtual std::string model_id() const = 0;
  /// `texts.size() * dim()` floats, row i the unit vector of texts[i]. kInternal or
  /// kInvalidArgument (text not UTF-8) on failure.
  virtual Result<std::vector<float>> Embed(std::span<const std::string_view> texts) = 0;
};

/// all-MiniLM-L6-v2 (384 dimensions, Apache-2.0) loaded from `model_dir` (config.json,
/// tokenizer.json, model.onnx as the setup step installs them; docs/search.md), run on the CPU
/// by ONNX Runtime (DefaultOnnxRuntimeLibrary(), dlopen'ed at the first Embed()). Thread-safe.
/// kNotFound naming what is missing (model, runtime) and how to install it; kUnsupported naming
/// the search model library if it cannot be loaded ($SKILLRT_SEARCH_ML names another); kParse
/// when a file is malformed. Embed(): kInternal when the runtime or model cannot be loaded.
Result<std::unique_ptr<Embedder>> OpenMiniLmEmbedder(const std::filesystem::path& model_dir);

/// $SKILLRT_SEARCH_MODEL if set, else the directory the setup step installs the model into
/// (fixed at build time).
std::filesystem::path DefaultSearchModelDir();

/// $SKILLRT_ONNXRUNTIME if set, else the ONNX Runtime shared library the setup step installs
/// (fixed at build time; docs/search.md).
std::filesystem::path DefaultOnnxRuntimeLibrary();

/// The BPE token count of `text` under `encoding`. kInvalidArgument if not UTF-8; kUnsupported
/// as OpenMiniLmEmbedder(). Thread-safe; the rank tables are built on first use (about 0.1 s).
Result<size_t> CountTokens(std::string_view text, TokenEncoding encoding);

/// What the index holds of one skill. `tree_sha256` keys incremental updates: a skill whose
/// hash is unchanged is not re-read or re-embedded.
struct IndexedSkill {
  std::string name = {};
  std::filesystem::path dir = {};
  std::string tree_sha256 = {};
  std::string description = {};
  std::string body = {};          ///< SKILL.md's Markdown body.
  std::string capabilities = {};  ///< One line summarising the manifest (runtime, commands, ...).
};

/// What an update did.
struct IndexStats {
  size_t added = 0;    ///< Skills new to the index.
  size_t updated = 0;  ///< Skills whose tree hash changed.
  size_t removed = 0;  ///< Skills no longer in the catalogue.
  size_t unchanged = 0;
  bool rebuilt = false;  ///< The file was missing, corrupt or of another schema or model.
};

/// Called during an update with the texts embedded so far and the number to embed: of each new
/// or changed skill, its name and description and each passage of its body, less the texts the
/// index already has a vector for (an unchanged description, a passage of the same words).
using IndexProgress = std::function<void(size_t done, size_t total)>;

/// A search index in one SQLite file: an FTS5 table for BM25, one embedding per skill and one
/// per passage of its body (for reranking), keyed by skill name with the tree hash stored
/// beside them. Embeddings are held in memory for searching (dim * 4 bytes each).
///
/// A missing file is created; a file that SQLite cannot read, fails its integrity checks or
/// was built by another schema or model is deleted and rebuilt empty (IndexStats::rebuilt on
/// the next Update), so that a damaged index never gives an error or a wrong answer.
///
/// Not thread-safe: one thread at a time (callers that share one guard it with a mutex).
/// The file may be shared between processes: SQLite locks it during each update, and an update
/// first reads again what another process committed since (searches answer from the rows as of
/// this index's last update or open).
class SearchIndex {
 public:
  /// Opens or creates the index at `path` (its directory is created). `embedder` is shared
  /// and must outlive nothing in particular: the index keeps its own reference. kIo when the
  /// file cannot be created.
  static Result<std::unique_ptr<SearchIndex>> Open(const std::filesystem::path& path,
                                                   std::shared_ptr<Embedder> embedder);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  /// Makes the index hold exactly `skills`: adds new names, re-indexes those whose tree hash
  /// or directory changed (embedding only their texts that changed), removes names not given.
  /// One transaction. kInvalidArgument for two entries of one name; kIo or kInternal from
  /// SQLite or the embedder (the index is left as before); kIo when another process committed
  /// to the file during each of three attempts.
  Result<IndexStats> Update(std::span<const IndexedSkill> skills,
                            const IndexProgress& progress = {});

  /// Deletes everything and indexes `skills` anew.
  Result<IndexStats> Rebuild(std::span<const IndexedSkill> skills,
                             const IndexProgress& progress = {});

  /// The best skills for `query` (natural language; any characters). kInvalidArgument for an
  /// empty query, top_k 0, or dense_weight or rerank_weight outside [0, 1]; kInternal if
  /// embedding fails.
  Result<SearchResult> Search(std::string_view query, const SearchOptions& options) const;

  /// Skills indexed.
  size_t size() const;
  /// Whether Open() found the file damaged or stale and started afresh (until the next
  /// Update(), which reports it as IndexStats::rebuilt).
  bool was_reset() const;

  /// The index's internals (src/search/index_state.h); opaque to callers.
  struct State;

 private:
  explicit SearchIndex(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// The skills of `registry` as the index wants them, each loaded with its tree hash (which
/// reads every file of the skill). Skills that fail to load are left out and named, with the
/// reason, in `skipped` when given. Errors as Registry::List().
Result<std::vector<IndexedSkill>> CollectSkills(const Registry& registry,
                                                std::vector<std::string>* skipped = nullptr);

/// Where SkillSearch keeps its index and finds its model.
struct SkillSearchOptions {
  std::filesystem::path index_path = {};  ///< DefaultSearchIndexPath(home) for the usual place.
  /// The model directory for OpenMiniLmEmbedder(); ignored when `embedder` is given.
  std::filesystem::path model_dir = DefaultSearchModelDir();
  /// Another embedder (a test's fake); null: the MiniLM model from `model_dir`.
  std::shared_ptr<Embedder> embedder = nullptr;
};

/// Search over a registry's catalogue: the seam for the CLI, the MCP server and the agent
/// loop. Keeps one SearchIndex, brought up to date with the catalogue by Sync(). A search that
/// finds the index damaged rebuilds it from the catalogue and answers from the new one.
/// Thread-safe: calls are serialised by an internal mutex (a search takes a few ms).
class SkillSearch {
 public:
  /// Reads the model's tokenizer and opens the index; ONNX Runtime and the model are loaded at
  /// the first embedding (about 0.2 s of CPU). Errors as OpenMiniLmEmbedder() and
  /// SearchIndex::Open(). `registry` is copied (copies share one catalogue).
  static Result<std::unique_ptr<SkillSearch>> Open(const Registry& registry,
                                                   SkillSearchOptions options);
  ~SkillSearch();

  /// Brings the index up to date with the catalogue (CollectSkills() then Update(), or
  /// Rebuild() when `rebuild`). Skills that cannot be loaded are left out and named in
  /// `skipped` when given.
  Result<IndexStats> Sync(bool rebuild = false, const IndexProgress& progress = {},
                          std::vector<std::string>* skipped = nullptr);

  /// SearchIndex::Search() over the index as last synced.
  Result<SearchResult> Search(std::string_view query, const SearchOptions& options);

  /// Skills indexed.
  size_t size() const;

 private:
  struct Impl;
  explicit SkillSearch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A digest of the catalogue as the index sees it: each skill's name and directory and the
/// stat(2) stamps (inode, size, modification time) of its SKILL.md and skill.toml. It changes
/// when a skill is added, removed or moved, or either file is edited; a long-lived searcher
/// (the MCP server, the HTTP service) calls SkillSearch::Sync() only then. Costs two stat
/// calls per skill. Errors as Registry::List(). Thread-safe as Registry::List() is.
Result<std::string> CatalogueStamp(const Registry& registry);

/// A SkillSearch for a long-lived front end (the MCP server, the HTTP service): opened by the
/// first Search (the model's tokenizer read once for the life of the object) and synced with
/// the catalogue before a search only when CatalogueStamp() changed since the last sync.
/// Thread-safe: searches are serialised.
class CatalogueSearch {
 public:
  /// Remembers where to search; opens nothing yet. `registry` is copied (copies share one
  /// catalogue).
  CatalogueSearch(const Registry& registry, std::filesystem::path index_path);

  /// SkillSearch::Search() over the catalogue as it is now. Errors: CatalogueStamp()'s,
  /// SkillSearch::Open()'s (a missing model: kNotFound naming it; the next call tries again),
  /// Sync()'s and Search()'s.
  Result<SearchResult> Search(std::string_view query, const SearchOptions& options);

 private:
  Registry registry_;
  std::filesystem::path index_path_;
  std::mutex mu_;
  std::unique_ptr<SkillSearch> search_;  // Null until the first successful Open.
  std::string stamp_;                    // The catalogue's stamp as of the last Sync().
};

/// `<home>/index/search.db`: where the CLI, the MCP server and the agent loop keep the index.
std::filesystem::path DefaultSearchIndexPath(const std::filesystem::path& home);

}  // namespace skillrt

#endif  // SKILLRT_SEARCH_H_
