// Fitting search hits to a token budget (TokenBudget in include/skillrt/search.h).
#ifndef SKILLRT_SEARCH_BUDGET_H_
#define SKILLRT_SEARCH_BUDGET_H_

#include <vector>

#include "skillrt/search.h"

namespace skillrt {

/// Counts each hit's RenderHit() tokens and applies `budget`: descriptions longer than the
/// per-skill limit are cut at the last word boundary that fits and end in "…"; hits are kept
/// in order while the total fits (the first that does not fit, even shortened, ends the list;
/// a hit whose name alone exceeds the per-skill limit is left out). kInvalidArgument if a
/// description is not UTF-8.
Result<SearchResult> FitToBudget(std::vector<SearchHit> hits, const TokenBudget& budget);

}  // namespace skillrt

#endif  // SKILLRT_SEARCH_BUDGET_H_
