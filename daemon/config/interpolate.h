// `${VAR}`, `${VAR:-default}` and `$$` in config scalars. Pure: the caller
// supplies the environment, so tests and the fuzzer need no setenv().
#pragma once
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bucky3::config {

struct InterpolationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nullopt = the variable is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Replaces `${NAME}` by its value (unset: InterpolationError naming it),
// `${NAME:-default}` by the value or, when unset or empty, the default (taken
// literally), and `$$` by `$`. Any other `$` stays as it is. NAME is
// [A-Za-z_][A-Za-z0-9_]*.
std::string interpolate(std::string_view text, const EnvLookup& lookup);

// The process environment, with HOSTNAME falling back to gethostname().
std::optional<std::string> process_env(std::string_view name);

}  // namespace bucky3::config
