// `skillrt search` and `skillrt index` (docs/search.md, docs/cli.md).
#ifndef SKILLRT_CLI_SEARCH_COMMANDS_H_
#define SKILLRT_CLI_SEARCH_COMMANDS_H_

#include <cstddef>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "skillrt/search.h"

namespace skillrt::cli {

/// `skillrt search QUERY | --queries FILE --json` and its flags.
struct SearchFlags {
  std::string query;
  std::string queries_file;
  size_t top_k = 10;
  bool json = false;
  size_t budget_tokens = 0;     ///< 0: no total budget.
  size_t per_skill_tokens = 0;  ///< 0: no per-skill budget.
  std::string encoding = "cl100k";
  bool explain = false;
  std::string method = "hybrid";
  std::string fusion = "weighted";
  std::optional<double> dense_weight;
  bool rerank = false;     ///< `--rerank`: also for bm25 and dense.
  bool no_rerank = false;  ///< `--no-rerank`: not even for hybrid.
  std::optional<double> rerank_weight;
  bool no_sync = false;
};

/// `skillrt index [--rebuild] [--json]`.
struct IndexFlags {
  bool rebuild = false;
  bool json = false;
};

/// Adds the flags to `cmd`, which keeps pointers into `flags`.
void AddSearchCommand(CLI::App* cmd, SearchFlags* flags);
void AddIndexCommand(CLI::App* cmd, IndexFlags* flags);

/// Run the commands; return the process exit code.
int SearchCommand(const GlobalOptions& global, const SearchFlags& flags);
int IndexCommand(const GlobalOptions& global, const IndexFlags& flags);

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_SEARCH_COMMANDS_H_
