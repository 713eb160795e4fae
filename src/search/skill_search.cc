// SkillSearch: a SearchIndex kept in step with a registry's catalogue.
#include <mutex>

#include "skillrt/search.h"

namespace skillrt {

struct SkillSearch::Impl {
  Registry registry;
  SkillSearchOptions options;
  std::unique_ptr<SearchIndex> index;
  std::mutex mu;
};

SkillSearch::SkillSearch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SkillSearch::~SkillSearch() = default;

Result<std::unique_ptr<SkillSearch>> SkillSearch::Open(const Registry& registry,
                                                       SkillSearchOptions options) {
  if (!options.embedder) {
    auto model = OpenMiniLmEmbedder(options.model_dir);
    if (!model) return std::unexpected(model.error());
    options.embedder = std::move(*model);
  }
  auto index = SearchIndex::Open(options.index_path, options.embedder);
  if (!index) return std::unexpected(index.error());
  auto impl = std::unique_ptr<Impl>(new Impl{
      .registry = registry, .options = std::move(options), .index = std::move(*index), .mu = {}});
  return std::unique_ptr<SkillSearch>(new SkillSearch(std::move(impl)));
}

Result<IndexStats> SkillSearch::Sync(bool rebuild, const IndexProgress& progress,
                                     std::vector<std::string>* skipped) {
  std::lock_guard lock(impl_->mu);
  auto skills = CollectSkills(impl_->registry, skipped);
  if (!skills) return std::unexpected(skills.error());
  return rebuild ? impl_->index->Rebuild(*skills, progress)
                 : impl_->index->Update(*skills, progress);
}

Result<SearchResult> SkillSearch::Search(std::string_view query, const SearchOptions& options) {
  std::lock_guard lock(impl_->mu);
  auto result = impl_->index->Search(query, options);
  if (result || result.error().message.find("[SQLITE_CORRUPT]") == std::string::npos) {
    return result;
  }
  // The file was damaged after it was opened: rebuild from the catalogue and answer anew.
  auto skills = CollectSkills(impl_->registry);
  if (!skills) return std::unexpected(skills.error());
  if (auto rebuilt = impl_->index->Rebuild(*skills); !rebuilt) {
    return std::unexpected(rebuilt.error());
  }
  return impl_->index->Search(query, options);
}

size_t SkillSearch::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->index->size();
}

CatalogueSearch::CatalogueSearch(const Registry& registry, std::filesystem::path index_path)
    : registry_(registry), index_path_(std::move(index_path)) {}

Result<SearchResult> CatalogueSearch::Search(std::string_view query,
                                             const SearchOptions& options) {
  auto stamp = CatalogueStamp(registry_);
  if (!stamp) return std::unexpected(stamp.error());
  std::lock_guard lock(mu_);
  if (!search_) {
    auto opened = SkillSearch::Open(registry_, SkillSearchOptions{.index_path = index_path_});
    if (!opened) return std::unexpected(opened.error());
    search_ = std::move(*opened);
    stamp_.clear();
  }
  if (*stamp != stamp_) {
    auto synced = search_->Sync();
    if (!synced) return std::unexpected(synced.error());
    stamp_ = std::move(*stamp);
  }
  return search_->Search(query, options);
}

}  // namespace skillrt
