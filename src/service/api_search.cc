// GET /v1/search: the hybrid skill search (include/skillrt/search.h, docs/search.md) over the
// service's catalogue. One SkillSearch for the service's life: the model is loaded by the
// first search and kept; the index (DefaultSearchIndexPath under the engine's home, the file
// the CLI, the MCP server and the agent loop share) is synced only when the catalogue's stamp
// changed, so a search costs the query's embedding and ranking, not a re-read of every skill.
#include <cmath>

#include "service/api.h"

namespace skillrt::service {
namespace {

// The bounds the API states (docs/openapi.json).
constexpr int64_t kMaxTop = 50;
constexpr int64_t kDefaultTop = 10;
constexpr size_t kMaxQueryBytes = 2048;

// Scores rounded: more digits say nothing to a reader.
double Rounded(double score) { return std::round(score * 1e4) / 1e4; }

nlohmann::json MatchToJson(const MethodMatch& match) {
  if (match.rank == 0) return nullptr;  // Not among that method's candidates.
  return {{"rank", match.rank}, {"score", Rounded(match.score)}};
}

}  // namespace

Result<SearchResult> Api::Search(std::string_view query, const SearchOptions& options) {
  return search_.Search(query, options);
}

void Api::RegisterSearch(HttpServer& server) {
  // ?q= the task in words (required), ?top= 1-50 (default 10), ?method= hybrid (default),
  // bm25 or dense. Each hit carries its score and each method's rank and score: why it matched.
  server.Get("/v1/search", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string query = req.get_param_value("q");
    if (query.find_first_not_of(" \t\r\n") == std::string::npos) {
      return SetError(res, ApiError::kBadRequest, "q: the words to search for, not empty");
    }
    if (query.size() > kMaxQueryBytes) {
      return SetError(res, ApiError::kBadRequest,
                      "q: at most " + std::to_string(kMaxQueryBytes) + " bytes");
    }
    auto top = IntParam(req, res, "top", 1, kMaxTop, kDefaultTop);
    if (!top) return;
    SearchMethod method = SearchMethod::kHybrid;
    if (req.has_param("method")) {
      auto parsed = ParseSearchMethod(req.get_param_value("method"));
      if (!parsed) return SetError(res, ApiError::kBadRequest, "method: " + parsed.error().message);
      method = *parsed;
    }
    auto found = Search(query, SearchOptions{.top_k = static_cast<size_t>(*top), .method = method});
    if (!found) {
      const Error& e = found.error();
      // The model or the index cannot be had here: the service works, this part does not.
      if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kIo ||
          e.code == ErrorCode::kParse || e.code == ErrorCode::kUnsupported) {
        return SetError(res, ApiError::kUnavailable, "skill search is unavailable: " + e.message);
      }
      return SetError(res, e);
    }
    nlohmann::json hits = nlohmann::json::array();
    for (const SearchHit& hit : found->hits) {
      hits.push_back({{"name", hit.name},
                      {"description", hit.description},
                      {"score", Rounded(hit.score)},
                      {"bm25", MatchToJson(hit.bm25)},
                      {"dense", MatchToJson(hit.dense)},
                      {"rerank", MatchToJson(hit.rerank)}});
    }
    SetJson(res, {{"query", query}, {"method", SearchMethodName(method)}, {"hits", hits}});
  }));
}

}  // namespace skillrt::service
