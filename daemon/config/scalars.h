// The config's scalar syntax: booleans, integers, numbers, sizes with units, and
// how values are quoted and printed in error messages. Pure functions; used by
// the loader and by modules that parse their own OptionKind::yaml values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bucky3::config {

// true/True/TRUE, false/False/FALSE.
std::optional<bool> parse_bool(std::string_view text);
// Decimal, an optional leading '+'.
std::optional<std::int64_t> parse_int(std::string_view text);
// Finite numbers only; YAML's .inf is is_infinity()'s, read where it is allowed.
std::optional<double> parse_number(std::string_view text);
// .inf, .Inf, .INF, each with an optional '+'.
bool is_infinity(std::string_view text);
// Bytes, or a count with a unit: B, KiB, MiB, GiB, KB, MB, GB ("8MiB", "8 MiB").
std::optional<std::uint64_t> parse_size(std::string_view text);

// Integral values print as integers ("100000", not "1e+05"), others shortest.
std::string format_number(double value);
// "4GiB" where a binary unit divides the size exactly, else "1000 bytes".
std::string format_size(std::uint64_t bytes);
// `text` in double quotes, cut to 60 characters.
std::string quote(std::string_view text);

}  // namespace bucky3::config
