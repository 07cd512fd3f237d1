// Whitelist/blacklist of anchored regexes over device, filesystem type and
// interface names, with Bucky3's semantics: a whitelist, when set, excludes
// everything it does not match and the blacklist is not consulted.
#pragma once
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bucky3::linux_stats {

class NameFilter {
 public:
  NameFilter() = default;
  // Regexes are ECMAScript and must match the whole name. Throws
  // std::invalid_argument naming the pattern when one does not compile.
  NameFilter(const std::vector<std::string>& whitelist, const std::vector<std::string>& blacklist);

  bool allows(std::string_view name);

 private:
  std::vector<std::regex> whitelist_;
  std::vector<std::regex> blacklist_;
  // Names repeat every collection and std::regex is slow, so each verdict is
  // computed once. Bounded: past max_cached the cache starts over (names of
  // short-lived interfaces, e.g. veth pairs, would otherwise pile up).
  std::unordered_map<std::string, bool> verdicts_;
  static constexpr std::size_t max_cached = 4096;
};

}  // namespace bucky3::linux_stats
