#include "search/budget.h"

#include <algorithm>
#include <limits>
#include <string>

namespace skillrt {
namespace {

constexpr std::string_view kEllipsis = "\u2026";

// The byte offsets where `text` may be cut: before each run of spaces, and its end.
std::vector<size_t> WordEnds(std::string_view text) {
  std::vector<size_t> ends;
  for (size_t i = 1; i < text.size(); ++i) {
    bool space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    bool prev_space = text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '\t';
    if (space && !prev_space) ends.push_back(i);
  }
  return ends;
}

// Shortens hit->description so that the rendered hit takes at most `limit` tokens, cutting
// at a word end (binary search over the cut points; token counts grow with the prefix).
// false when even the empty description with the marker does not fit.
Result<bool> Shorten(SearchHit* hit, size_t limit, TokenEncoding encoding) {
  const std::string full = hit->description;
  std::vector<size_t> ends = WordEnds(full);
  ends.insert(ends.begin(), 0);
  auto tokens_with = [&](size_t cut) -> Result<size_t> {
    hit->description = full.substr(0, cut) + std::string(kEllipsis);
    return CountTokens(RenderHit(*hit), encoding);
  };
  size_t lo = 0, hi = ends.size();  // Invariant: ends[< lo] fit (or lo == 0); ends[>= hi] not.
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    auto n = tokens_with(ends[mid]);
    if (!n) return std::unexpected(n.error());
    if (*n <= limit)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) {
    hit->description = full;
    return false;
  }
  auto n = tokens_with(ends[lo - 1]);
  if (!n) return std::unexpected(n.error());
  hit->tokens = *n;
  hit->description_shortened = true;
  return true;
}

}  // namespace

std::string RenderHit(const SearchHit& hit) { return hit.name + ": " + hit.description; }

Result<SearchResult> FitToBudget(std::vector<SearchHit> hits, const TokenBudget& budget) {
  constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
  const size_t per_skill = budget.per_skill_tokens != 0 ? budget.per_skill_tokens : kNoLimit;
  const size_t total = budget.total_tokens != 0 ? budget.total_tokens : kNoLimit;
  SearchResult result;
  for (size_t i = 0; i < hits.size(); ++i) {
    SearchHit& hit = hits[i];
    auto n = CountTokens(RenderHit(hit), budget.encoding);
    if (!n) return std::unexpected(n.error());
    hit.tokens = *n;
    const size_t room = std::min(per_skill, total - result.total_tokens);
    if (hit.tokens > room) {
      auto fits = Shorten(&hit, room, budget.encoding);
      if (!fits) return std::unexpected(fits.error());
      if (!*fits) {
        if (room == per_skill && per_skill < total - result.total_tokens) {
          ++result.dropped_for_budget;  // This one alone is too long; later ones may fit.
          continue;
        }
        result.dropped_for_budget += hits.size() - i;  // The total is spent.
        break;
      }
    }
    result.total_tokens += hit.tokens;
    result.hits.push_back(std::move(hit));
  }
  return result;
}

}  // namespace skillrt
