// Search latency and indexing time over a large catalogue, with the real model.
//
// The catalogue: the labelled sets' skills (bench/data/*.json), the real public skills of
// bench/data/public-skills.jsonl (names and descriptions), then generated skills up to N
// (default 10,000), each generated description drawn from the real descriptions' words, so
// that BM25 posting lists and dense neighbourhoods look like a big public catalogue. Reports:
// initial indexing time, re-indexing one changed skill, and p50/p99 of a search (query
// embedding included) for each method over the sets' queries.
//
// Re-indexing is measured for two kinds of edit, each on one labelled skill per round (the
// first --rounds of them, most of which have a SKILL.md body): a new description (the tree
// hash changes, the body does not) and a new first word of the body (every passage of the body
// shifts by one word, so every passage is new). Each round is one Update() with the whole
// catalogue.
//
// Usage: skillrt_search_bench [--skills N] [--queries N] [--rounds N] [--index PATH]
//                             [--keep-index]
// --keep-index keeps the index file between runs (the first Update() then only syncs it, and is
// reported as such): for measuring re-indexing and search again without indexing anew.
#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "skillrt/search.h"

namespace {

using Clock = std::chrono::steady_clock;
using skillrt::IndexedSkill;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The CPU time of the whole process in ms (clock_gettime(2), CLOCK_PROCESS_CPUTIME_ID): the
// work a search does, which other processes' load inflates far less than its wall time.
double CpuMs() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct Data {
  std::vector<IndexedSkill> skills;
  std::vector<std::string> queries;
};

Data LoadSets(const std::filesystem::path& dir) {
  Data data;
  // In name order, so that every run has the same catalogue and re-indexes the same skills.
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    nlohmann::json set = nlohmann::json::parse(in);
    for (const auto& s : set["skills"]) {
      data.skills.push_back({.name = s["name"],
                             .dir = "/bench/" + s["name"].get<std::string>(),
                             .tree_sha256 = "real",
                             .description = s["description"],
                             .body = s.value("body", ""),
                             .capabilities = "runtime native"});
    }
    for (const auto& q : set["queries"]) data.queries.push_back(q["query"]);
  }
  return data;
}

// The public distractors, up to `total` skills in all; a name already present is skipped.
void AddPublic(Data* data, const std::filesystem::path& file, size_t total) {
  std::ifstream in(file);
  std::set<std::string> names;
  for (const IndexedSkill& s : data->skills) names.insert(s.name);
  for (std::string line; data->skills.size() < total && std::getline(in, line);) {
    nlohmann::json s = nlohmann::json::parse(line);
    if (!names.insert(s["name"].get<std::string>()).second) continue;
    data->skills.push_back({.name = s["name"],
                            .dir = "/bench/public",
                            .tree_sha256 = "public",
                            .description = s["description"],
                            .body = "",
                            .capabilities = "runtime native"});
  }
}

// Generated skills: descriptions of 12-40 words drawn from the real descriptions' words.
void AddGenerated(Data* data, size_t total) {
  std::vector<std::string> words;
  for (const IndexedSkill& s : data->skills) {
    std::istringstream in(s.description);
    for (std::string w; in >> w;) words.push_back(w);
  }
  std::mt19937_64 rng(15);
  std::uniform_int_distribution<size_t> pick(0, words.size() - 1), len(12, 40);
  for (size_t i = data->skills.size(); i < total; ++i) {
    std::string description;
    for (size_t k = len(rng); k > 0; --k) description += words[pick(rng)] + " ";
    std::string name = "gen-" + std::to_string(i) + "-" + words[pick(rng)];
    std::string clean;
    for (char c : name) {
      if (std::isalnum(static_cast<unsigned char>(c)))
        clean += static_cast<char>(std::tolower(c));
      else if (!clean.empty() && clean.back() != '-')
        clean += '-';
    }
    while (!clean.empty() && clean.back() == '-') clean.pop_back();
    data->skills.push_back({.name = clean.substr(0, 64),
                            .dir = "/bench/gen",
                            .tree_sha256 = std::to_string(i),
                            .description = description,
                            .body = "",
                            .capabilities = "runtime native"});
  }
}

// The 1, 5 and 15-minute load averages (proc(5)), as recorded beside every measurement.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen + "\n";
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  size_t total = 10000, max_queries = 300, rounds = 20;
  bool keep_index = false;
  std::filesystem::path index_path =
      std::filesystem::temp_directory_path() / "skillrt-search-bench.db";
  for (int i = 1; i < argc; i += 2) {
    if (std::strcmp(argv[i], "--keep-index") == 0) {
      keep_index = true;
      --i;
      continue;
    }
    if (i + 1 == argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      return 2;
    }
    if (std::strcmp(argv[i], "--skills") == 0)
      total = std::stoul(argv[i + 1]);
    else if (std::strcmp(argv[i], "--queries") == 0)
      max_queries = std::stoul(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rounds") == 0)
      rounds = std::stoul(argv[i + 1]);
    else if (std::strcmp(argv[i], "--index") == 0)
      index_path = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const std::filesystem::path data_dir = std::filesystem::path(SKILLRT_SOURCE_DIR) / "bench" / "data";
  Data data = LoadSets(data_dir);
  const size_t labelled = data.skills.size();
  AddPublic(&data, data_dir / "public-skills.jsonl", total);
  const size_t real = data.skills.size();
  AddGenerated(&data, total);
  std::printf("load average at start: %s", LoadAverage().c_str());
  std::printf("catalogue: %zu labelled, %zu public, %zu generated\n", labelled, real - labelled,
              data.skills.size() - real);
  if (data.queries.size() > max_queries) data.queries.resize(max_queries);

  auto t0 = Clock::now();
  auto model = skillrt::OpenMiniLmEmbedder(skillrt::DefaultSearchModelDir());
  if (!model) {
    std::fprintf(stderr, "%s\n", model.error().ToString().c_str());
    return 1;
  }
  std::shared_ptr<skillrt::Embedder> embedder = std::move(*model);
  std::printf("embedder open: %.0f ms\n", Ms(Clock::now() - t0));
  t0 = Clock::now();
  std::array<std::string_view, 1> first = {"load the model"};
  if (auto v = embedder->Embed(first); !v) {
    std::fprintf(stderr, "%s\n", v.error().ToString().c_str());
    return 1;
  }
  std::printf("first embedding (loads the runtime and the model): %.0f ms\n",
              Ms(Clock::now() - t0));
  if (!keep_index) std::filesystem::remove(index_path);
  auto index = skillrt::SearchIndex::Open(index_path, embedder);
  if (!index) {
    std::fprintf(stderr, "%s\n", index.error().ToString().c_str());
    return 1;
  }

  t0 = Clock::now();
  auto built = (*index)->Update(data.skills, [](size_t done, size_t all) {
    if (done % 1000 < 16 || done == all) std::fprintf(stderr, "\rindexing %zu/%zu", done, all);
  });
  std::fprintf(stderr, "\n");
  if (!built) {
    std::fprintf(stderr, "%s\n", built.error().ToString().c_str());
    return 1;
  }
  std::printf("%s of %zu skills: %.1f s (%zu added, %zu updated, %zu unchanged)\n",
              built->added == data.skills.size() ? "initial index" : "update of the kept index",
              data.skills.size(), Ms(Clock::now() - t0) / 1000, built->added, built->updated,
              built->unchanged);

  rounds = std::min(rounds, labelled);
  std::printf("load average before re-indexing: %s", LoadAverage().c_str());
  // Each edit makes the skill differ from every earlier state of it (also one a kept index
  // holds from an earlier run), so that each round re-indexes exactly one skill.
  const std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  struct Edit {
    const char* what;
    void (*apply)(IndexedSkill&, const std::string& tag);
  };
  const Edit edits[] = {
      {"description", [](IndexedSkill& s, const std::string& tag) {
         s.description += " Now also exports reports (" + tag + ").";
       }},
      {"body's first word", [](IndexedSkill& s, const std::string& tag) {
         s.body = "Revised-" + tag + " " + s.body;
       }},
  };
  for (const Edit& edit : edits) {
    std::vector<double> times;
    std::vector<double> texts;
    for (size_t round = 0; round < rounds; ++round) {
      IndexedSkill& skill = data.skills[round];
      const std::string tag = run + "-" + std::to_string(round);
      edit.apply(skill, tag);
      skill.tree_sha256 = "changed-" + tag + "-" + edit.what;
      size_t embedded = 0;
      t0 = Clock::now();
      auto one = (*index)->Update(data.skills, [&](size_t, size_t all) { embedded = all; });
      times.push_back(Ms(Clock::now() - t0));
      texts.push_back(static_cast<double>(embedded));
      if (!one || one->updated != 1) {
        std::fprintf(stderr, "re-index failed\n");
        return 1;
      }
    }
    std::printf(
        "re-index one changed skill (of %zu), new %s: median %.1f ms, max %.1f ms over %zu "
        "rounds; texts embedded per round: median %.0f, max %.0f\n",
        data.skills.size(), edit.what, Percentile(times, 0.5), Percentile(times, 1.0), rounds,
        Percentile(texts, 0.5), Percentile(texts, 1.0));
  }
  std::printf("load average after re-indexing: %s", LoadAverage().c_str());
  if (data.queries.empty()) {
    if (!keep_index) std::filesystem::remove(index_path);
    return 0;
  }

  std::printf(
      "\n| method | queries | p50 ms | p99 ms | p50 CPU ms |\n| --- | ---: | ---: | ---: | ---: |\n");
  {
    // Where a query's time goes: its embedding alone (in the dense and hybrid rows below).
    std::vector<double> times, cpu;
    for (const std::string& q : data.queries) {
      std::array<std::string_view, 1> text = {q};
      t0 = Clock::now();
      double c0 = CpuMs();
      auto v = embedder->Embed(text);
      times.push_back(Ms(Clock::now() - t0));
      cpu.push_back(CpuMs() - c0);
      if (!v) {
        std::fprintf(stderr, "%s\n", v.error().ToString().c_str());
        return 1;
      }
    }
    std::printf("| query embedding alone | %zu | %.2f | %.2f | %.2f |\n", times.size(),
                Percentile(times, 0.5), Percentile(times, 0.99), Percentile(cpu, 0.5));
  }
  struct Row {
    const char* name;
    skillrt::SearchMethod method;
    bool rerank;
  };
  for (const Row& row : {Row{"bm25", skillrt::SearchMethod::kBm25, false},
                         Row{"dense", skillrt::SearchMethod::kDense, false},
                         Row{"hybrid", skillrt::SearchMethod::kHybrid, false},
                         Row{"hybrid + rerank (default)", skillrt::SearchMethod::kHybrid, true}}) {
    std::vector<double> times, cpu;
    for (const std::string& q : data.queries) {
      t0 = Clock::now();
      double c0 = CpuMs();
      auto r = (*index)->Search(q, {.top_k = 10, .method = row.method, .rerank = row.rerank});
      times.push_back(Ms(Clock::now() - t0));
      cpu.push_back(CpuMs() - c0);
      if (!r) {
        std::fprintf(stderr, "%s\n", r.error().ToString().c_str());
        return 1;
      }
    }
    std::printf("| %s | %zu | %.2f | %.2f | %.2f |\n", row.name, times.size(),
                Percentile(times, 0.5), Percentile(times, 0.99), Percentile(cpu, 0.5));
  }
  std::printf("load average at end: %s", LoadAverage().c_str());
  if (!keep_index) std::filesystem::remove(index_path);
  return 0;
}
