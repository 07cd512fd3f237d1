// Anchored whitelist/blacklist matching; see name_filter.h.
#include "collectors/linux/name_filter.h"

#include <stdexcept>

namespace bucky3::linux_stats {
namespace {

std::vector<std::regex> compile(const std::vector<std::string>& patterns) {
  std::vector<std::regex> out;
  out.reserve(patterns.size());
  for (const auto& pattern : patterns) {
    try {
      out.emplace_back(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& error) {
      throw std::invalid_argument("invalid regex \"" + pattern + "\": " + error.what());
    }
  }
  return out;
}

bool any_matches(const std::vector<std::regex>& regexes, const std::string& name) {
  for (const auto& regex : regexes) {
    if (std::regex_match(name, regex)) return true;
  }
  return false;
}

}  // namespace

NameFilter::NameFilter(const std::vector<std::string>& whitelist,
                       const std::vector<std::string>& blacklist)
    : whitelist_(compile(whitelist)), blacklist_(compile(blacklist)) {}

bool NameFilter::allows(std::string_view name) {
  if (whitelist_.empty() && blacklist_.empty()) return true;
  std::string key(name);
  if (const auto it = verdicts_.find(key); it != verdicts_.end()) return it->second;
  const bool verdict =
      whitelist_.empty() ? !any_matches(blacklist_, key) : any_matches(whitelist_, key);
  if (verdicts_.size() >= max_cached) verdicts_.clear();
  verdicts_.emplace(std::move(key), verdict);
  return verdict;
}

}  // namespace bucky3::linux_stats
