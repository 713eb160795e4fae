// The search_skills tool (docs/mcp.md, "Tools"): the skills that best match a task, ranked by
// the hybrid skill search (docs/search.md) and fitted to a token budget, so that an agent
// finds the right skill in a large catalogue without listing it page by page.
#include <cmath>

#include "mcp/tool_table.h"

namespace skillrt::mcp {

using nlohmann::json;

namespace {

// The bounds the input schema states; checked here too, as a client need not validate.
constexpr int64_t kMaxTop = 50;
constexpr int64_t kDefaultTop = 5;
constexpr int64_t kMaxBudgetTokens = 1'000'000;

// An integer argument within [low, high], `fallback` when absent; nullopt when malformed.
std::optional<int64_t> IntArg(const json& args, const char* key, int64_t low, int64_t high,
                              int64_t fallback) {
  auto it = args.find(key);
  if (it == args.end()) return fallback;
  if (!it->is_number_integer()) return std::nullopt;
  const int64_t value = it->get<int64_t>();
  if (value < low || value > high) return std::nullopt;
  return value;
}

// Scores are shown rounded: more digits say nothing to a model.
double Rounded(double score) { return std::round(score * 1e4) / 1e4; }

}  // namespace

Result<SearchResult> Server::SearchSkills(std::string_view query, const SearchOptions& options) {
  return search_.Search(query, options);
}

RpcResult SearchSkillsTool(RequestContext& c, const json& args) {
  auto query = args.find("query");
  if (query == args.end() || !query->is_string() ||
      query->get_ref<const std::string&>().find_first_not_of(" \t\r\n") == std::string::npos) {
    return ToolError("error: search_skills needs \"query\": a non-empty description of the task");
  }
  auto top = IntArg(args, "top", 1, kMaxTop, kDefaultTop);
  if (!top) return ToolError("error: top must be an integer from 1 to 50");
  auto budget = IntArg(args, "budget_tokens", 1, kMaxBudgetTokens, 0);
  if (!budget) return ToolError("error: budget_tokens must be a positive integer");
  auto found = c.server.SearchSkills(
      query->get_ref<const std::string&>(),
      SearchOptions{.top_k = static_cast<size_t>(*top),
                    .budget = TokenBudget{.total_tokens = static_cast<size_t>(*budget)}});
  if (!found) return ToolError("error: skill search is unavailable: " + found.error().ToString());
  json hits = json::array();
  std::string text;
  for (const SearchHit& hit : found->hits) {
    hits.push_back(
        {{"name", hit.name}, {"description", hit.description}, {"score", Rounded(hit.score)}});
    text += "- " + RenderHit(hit) + "\n";
  }
  if (hits.empty()) text = "no skills match\n";
  if (found->dropped_for_budget > 0) {
    text += "(" + std::to_string(found->dropped_for_budget) +
            " more left out for the token budget)\n";
  }
  text += "Read a skill with load_skill before running it.\n";
  return json{{"content", {{{"type", "text"}, {"text", text}}}},
              {"structuredContent",
               {{"hits", std::move(hits)},
                {"total_tokens", found->total_tokens},
                {"dropped_for_budget", found->dropped_for_budget}}},
              {"isError", false}};
}

}  // namespace skillrt::mcp
