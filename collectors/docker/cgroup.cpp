// cgroup file parsers; see cgroup.h.
#include "collectors/docker/cgroup.h"

#include <charconv>

namespace bucky3::docker {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (result.ec != std::errc{} || result.ptr != end || text.empty()) return std::nullopt;
  return value;
}

// Calls `line` for each '\n'-separated line.
template <class F>
void for_each_line(std::string_view text, F&& line) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    line(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Calls `word` for each space-separated word of a line.
template <class F>
void for_each_word(std::string_view line, F&& word) {
  while (!line.empty()) {
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const auto end = line.find_first_of(" \t\r");
    word(line.substr(0, end));
    if (end == std::string_view::npos) break;
    line.remove_prefix(end);
  }
}

}  // namespace

ProcCgroup parse_proc_cgroup(std::string_view text) {
  ProcCgroup out;
  for_each_line(text, [&](std::string_view line) {
    const auto first = line.find(':');
    if (first == std::string_view::npos) return;
    const auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) return;
    const auto id = line.substr(0, first);
    auto controllers = line.substr(first + 1, second - first - 1);
    const auto path = trim(line.substr(second + 1));
    if (path.empty()) return;
    if (id == "0" && controllers.empty()) {
      out.unified = std::string(path);
      return;
    }
    while (!controllers.empty()) {
      const auto comma = controllers.find(',');
      const auto name = controllers.substr(0, comma);
      if (!name.empty() && name.find('=') == std::string_view::npos) {
        out.controllers.emplace_back(std::string(name), std::string(path));
      }
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
  });
  return out;
}

std::optional<std::int64_t> parse_number(std::string_view text) {
  return to_int(trim(text));
}

std::optional<std::int64_t> keyed_value(std::string_view text, std::string_view key) {
  std::optional<std::int64_t> out;
  for_each_line(text, [&](std::string_view line) {
    if (out || !line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ')
      return;
    out = to_int(trim(line.substr(key.size() + 1)));
  });
  return out;
}

std::vector<std::int64_t> parse_numbers(std::string_view text) {
  std::vector<std::int64_t> out;
  for_each_word(text, [&](std::string_view word) {
    if (const auto value = to_int(trim(word))) out.push_back(*value);
  });
  return out;
}

IoTotals parse_io_stat(std::string_view text) {
  IoTotals totals;
  for_each_line(text, [&](std::string_view line) {
    bool device = true;
    for_each_word(line, [&](std::string_view word) {
      if (device) {  // "8:0"
        device = false;
        return;
      }
      const auto equals = word.find('=');
      if (equals == std::string_view::npos) return;
      const auto value = to_int(word.substr(equals + 1));
      if (!value) return;
      const auto key = word.substr(0, equals);
      if (key == "rbytes")
        totals.read_bytes += *value;
      else if (key == "wbytes")
        totals.write_bytes += *value;
      else if (key == "rios")
        totals.read_ops += *value;
      else if (key == "wios")
        totals.write_ops += *value;
    });
  });
  return totals;
}

void parse_blkio(std::string_view text, bool bytes, IoTotals& totals) {
  for_each_line(text, [&](std::string_view line) {
    std::string_view words[3];
    int count = 0;
    for_each_word(line, [&](std::string_view word) {
      if (count < 3) words[count] = word;
      ++count;
    });
    if (count != 3) return;  // "Total 123" has two
    const auto value = to_int(words[2]);
    if (!value) return;
    if (words[1] == "Read")
      (bytes ? totals.read_bytes : totals.read_ops) += *value;
    else if (words[1] == "Write")
      (bytes ? totals.write_bytes : totals.write_ops) += *value;
  });
}

std::vector<std::string> controllers_of(std::string_view folder) {
  std::vector<std::string> out;
  while (!folder.empty()) {
    const auto comma = folder.find(',');
    const auto name = folder.substr(0, comma);
    if (!name.empty() && name.find('=') == std::string_view::npos && name != "unified") {
      out.emplace_back(name);
    }
    if (comma == std::string_view::npos) break;
    folder.remove_prefix(comma + 1);
  }
  return out;
}

bool is_usable_cgroup_path(std::string_view path) {
  // "/" is the root: a container never sits there, but a reader in a private
  // cgroup namespace sees its own root so.
  if (!path.starts_with('/') || path == "/") return false;
  for (std::string_view rest = path; !rest.empty();) {
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash);
  }
  return true;
}

}  // namespace bucky3::docker
