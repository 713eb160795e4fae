// `skillrt search` and `skillrt index`: skill search over the catalogue (docs/search.md).
#include "cli/search_commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "skillrt/engine.h"
#include "skillrt/registry.h"

namespace skillrt::cli {
namespace {

std::filesystem::path HomeOf(const GlobalOptions& global) {
  return global.home.empty() ? DefaultHome() : global.home;
}

// A progress line on a terminal, rewritten in place; nothing when stderr is not a terminal.
IndexProgress TerminalProgress(bool quiet) {
  if (quiet || isatty(STDERR_FILENO) == 0) return {};
  return [](size_t done, size_t total) {
    std::fprintf(stderr, "\rindexing: %zu/%zu skills embedded", done, total);
    if (done == total) std::fprintf(stderr, "\n");
  };
}

std::unique_ptr<SkillSearch> OpenSearch(const GlobalOptions& global, int* exit_code) {
  std::filesystem::path home = HomeOf(global);
  Registry registry(Registry::DefaultRoots(global.skill_roots, home), /*watch=*/false);
  auto search =
      SkillSearch::Open(registry, SkillSearchOptions{.index_path = DefaultSearchIndexPath(home)});
  if (!search) {
    PrintError(search.error().message);
    *exit_code = ExitCodeFor(search.error());
    return nullptr;
  }
  return std::move(*search);
}

nlohmann::json StatsJson(const IndexStats& s) {
  return {{"added", s.added},
          {"updated", s.updated},
          {"removed", s.removed},
          {"unchanged", s.unchanged},
          {"rebuilt", s.rebuilt}};
}

nlohmann::json MatchJson(const MethodMatch& m) {
  if (m.rank == 0) return nullptr;
  return {{"rank", m.rank}, {"score", m.score}};
}

nlohmann::json ResultJson(std::string_view query, const SearchResult& result, bool explain) {
  nlohmann::json hits = nlohmann::json::array();
  for (const SearchHit& hit : result.hits) {
    nlohmann::json item = {{"name", hit.name},
                           {"description", hit.description},
                           {"shortened", hit.description_shortened},
                           {"score", hit.score},
                           {"path", hit.dir.string()},
                           {"tokens", hit.tokens}};
    if (explain) {
      item["explain"] = {{"bm25", MatchJson(hit.bm25)},
                         {"dense", MatchJson(hit.dense)},
                         {"rerank", MatchJson(hit.rerank)}};
    }
    hits.push_back(std::move(item));
  }
  return {{"query", query},
          {"hits", std::move(hits)},
          {"total_tokens", result.total_tokens},
          {"dropped_for_budget", result.dropped_for_budget}};
}

std::string MatchText(std::string_view method, const MethodMatch& m) {
  if (m.rank == 0) return std::string(method) + " -";
  char buf[64];
  std::snprintf(buf, sizeof buf, " #%zu (%.3f)", m.rank, m.score);
  return std::string(method) + buf;
}

// `text` with each run of whitespace (newlines included) as one space, for a listing.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void PrintResult(const SearchResult& result, bool explain) {
  if (result.hits.empty()) WriteOut("no matching skills\n");
  for (size_t i = 0; i < result.hits.size(); ++i) {
    const SearchHit& hit = result.hits[i];
    char head[128];
    std::snprintf(head, sizeof head, "%2zu. %s  %.4f", i + 1, hit.name.c_str(), hit.score);
    std::string line = head;
    if (explain) {
      line += "  [" + MatchText("bm25", hit.bm25) + ", " + MatchText("dense", hit.dense);
      if (hit.rerank.rank != 0) line += ", " + MatchText("rerank", hit.rerank);
      line += "]";
    }
    WriteOut(line + "\n    " + OneLine(hit.description) + "\n");
  }
  if (result.dropped_for_budget > 0) {
    WriteOut("(" + std::to_string(result.dropped_for_budget) +
             " more left out by the token budget)\n");
  }
}

Result<SearchOptions> OptionsFrom(const SearchFlags& flags) {
  auto method = ParseSearchMethod(flags.method);
  if (!method) return std::unexpected(method.error());
  SearchOptions options{.top_k = flags.top_k, .method = *method};
  if (flags.fusion == "rrf") {
    options.fusion = Fusion::kRrf;
  } else if (flags.fusion == "weighted") {
    options.fusion = Fusion::kWeighted;
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "--fusion '" + flags.fusion + "': expected rrf or weighted");
  }
  if (flags.dense_weight) options.dense_weight = *flags.dense_weight;
  if (flags.rerank && flags.no_rerank) {
    return Fail(ErrorCode::kInvalidArgument, "--rerank and --no-rerank: choose one");
  }
  // Reranking is part of hybrid search by default; bm25 and dense stay themselves unless asked.
  options.rerank = !flags.no_rerank && (flags.rerank || flags.rerank_weight.has_value() ||
                                        *method == SearchMethod::kHybrid);
  if (flags.rerank_weight) options.rerank_weight = *flags.rerank_weight;
  options.budget.total_tokens = flags.budget_tokens;
  options.budget.per_skill_tokens = flags.per_skill_tokens;
  if (flags.encoding == "o200k") {
    options.budget.encoding = TokenEncoding::kO200kBase;
  } else if (flags.encoding != "cl100k") {
    return Fail(ErrorCode::kInvalidArgument,
                "--encoding '" + flags.encoding + "': expected cl100k or o200k");
  }
  return options;
}

}  // namespace

void AddSearchCommand(CLI::App* cmd, SearchFlags* flags) {
  cmd->add_option("QUERY", flags->query, "What the skill should do, in words");
  cmd->add_option("--queries", flags->queries_file,
                  "Answer each line of FILE as a query (one JSON line out per query; needs "
                  "--json)");
  cmd->add_option("--top", flags->top_k, "At most this many skills (default 10)");
  cmd->add_flag("--json", flags->json, "Print JSON");
  cmd->add_option("--budget-tokens", flags->budget_tokens,
                  "Fit the answer into this many tokens (cl100k BPE), best skills first");
  cmd->add_option("--per-skill-tokens", flags->per_skill_tokens,
                  "Shorten each skill's description to this many tokens");
  cmd->add_option("--encoding", flags->encoding, "BPE ranks for budgets: cl100k or o200k");
  cmd->add_flag("--explain", flags->explain, "Show each method's rank and score");
  cmd->add_option("--method", flags->method, "bm25, dense or hybrid (default)");
  cmd->add_option("--fusion", flags->fusion, "hybrid's fusion: weighted (default) or rrf");
  cmd->add_option("--dense-weight", flags->dense_weight,
                  "Weight of dense scores in weighted fusion, 0..1 (default 0.5)");
  cmd->add_flag("--rerank", flags->rerank,
                "Rerank the best 30 by a second dense pass over each skill's body passages "
                "(default: on for hybrid)");
  cmd->add_flag("--no-rerank", flags->no_rerank, "Do not rerank, not even for hybrid");
  cmd->add_option("--rerank-weight", flags->rerank_weight,
                  "Weight of the passages' score when reranking, 0..1 (default 0.3)");
  cmd->add_flag("--no-sync", flags->no_sync,
                "Search the index as it is, without bringing it up to date first");
}

int SearchCommand(const GlobalOptions& global, const SearchFlags& flags) {
  auto options = OptionsFrom(flags);
  if (!options) {
    PrintError(options.error().message);
    return kExitUsage;
  }
  if (flags.queries_file.empty() == flags.query.empty()) {
    PrintError("search: give either QUERY or --queries FILE");
    return kExitUsage;
  }
  if (!flags.queries_file.empty() && !flags.json) {
    PrintError("search: --queries prints JSON lines; add --json");
    return kExitUsage;
  }
  int exit_code = 0;
  std::unique_ptr<SkillSearch> search = OpenSearch(global, &exit_code);
  if (!search) return exit_code;
  if (!flags.no_sync) {
    auto synced = search->Sync(false, TerminalProgress(global.quiet || flags.json));
    if (!synced) {
      PrintError(synced.error().message);
      return ExitCodeFor(synced.error());
    }
  }
  if (flags.queries_file.empty()) {
    auto result = search->Search(flags.query, *options);
    if (!result) {
      PrintError(result.error().message);
      return ExitCodeFor(result.error());
    }
    if (flags.json) {
      WriteOut(Dump(ResultJson(flags.query, *result, flags.explain), 2) + "\n");
    } else {
      PrintResult(*result, flags.explain);
    }
    return kExitOk;
  }
  std::ifstream in(flags.queries_file);
  if (!in) {
    PrintError("search: cannot read " + flags.queries_file);
    return kExitUsage;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto result = search->Search(line, *options);
    if (!result) {
      PrintError(result.error().message);
      return ExitCodeFor(result.error());
    }
    WriteOut(Dump(ResultJson(line, *result, flags.explain)) + "\n");
  }
  return kExitOk;
}

void AddIndexCommand(CLI::App* cmd, IndexFlags* flags) {
  cmd->add_flag("--rebuild", flags->rebuild, "Discard the index and build it anew");
  cmd->add_flag("--json", flags->json, "Print what changed as JSON");
}

int IndexCommand(const GlobalOptions& global, const IndexFlags& flags) {
  int exit_code = 0;
  std::unique_ptr<SkillSearch> search = OpenSearch(global, &exit_code);
  if (!search) return exit_code;
  std::vector<std::string> skipped;
  auto stats = search->Sync(flags.rebuild, TerminalProgress(global.quiet || flags.json), &skipped);
  if (!stats) {
    PrintError(stats.error().message);
    return ExitCodeFor(stats.error());
  }
  if (flags.json) {
    nlohmann::json out = StatsJson(*stats);
    out["skills"] = search->size();
    out["skipped"] = skipped;
    WriteOut(Dump(out, 2) + "\n");
    return kExitOk;
  }
  for (const std::string& s : skipped) PrintError("skipped " + s);
  WriteOut("index: " + std::to_string(search->size()) + " skills (" + std::to_string(stats->added) +
           " added, " + std::to_string(stats->updated) + " updated, " +
           std::to_string(stats->removed) + " removed, " + std::to_string(stats->unchanged) +
           " unchanged" + (stats->rebuilt ? ", rebuilt" : "") + ")\n");
  return kExitOk;
}

}  // namespace skillrt::cli
