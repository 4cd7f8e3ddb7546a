// Private text helpers of the descriptor parser: ids, shell-style splitting, did-you-mean,
// timers and numbers. Pure functions, no YAML.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::dataflow::detail {

/// Node, input and output ids: non-empty, letters, digits, '_' and '-' only.
bool is_valid_id(std::string_view id) noexcept;

/// Splits a command line like a POSIX shell would (and like dora 1.0's shlex split), without
/// any expansion: whitespace separates words; single quotes keep everything; double quotes
/// keep everything but `\"`, `\\`, `\$`, `` \` `` and backslash-newline; outside quotes a
/// backslash keeps the next character; a '#' that starts a word comments out the rest of the
/// line. On an unterminated quote or a trailing backslash, returns the reason.
std::variant<std::vector<std::string>, std::string> split_shell_words(std::string_view text);

/// What expand_variables does with a variable that is not set (and has no `:-` default).
enum class UnsetVariable { error, keep };

/// Looks a variable up: its value, or empty when it is not set.
using VariableLookup = std::function<std::optional<std::string>(const std::string&)>;

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}` as dora does (its shellexpand::env):
/// NAME is letters, digits and '_' (any text inside braces); a set variable gives its value,
/// even an empty one; `$$` is one '$'; a '$' before anything else, and `${` without a closing
/// brace, stay as written. An unset variable without a default is the error returned (its
/// message names it) or, with UnsetVariable::keep, left as written. No other expansion.
/// Returns index 0: the expanded text, index 1: the error.
std::variant<std::string, std::string> expand_variables(std::string_view text, UnsetVariable unset,
                                                        const VariableLookup& lookup);

/// The process environment's value of `name` (std::getenv), for expand_variables.
std::optional<std::string> environment_variable(const std::string& name);

/// Levenshtein distance (case-sensitive, byte-wise).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` if it is close enough to be a likely typo
/// (distance <= 2, and smaller than the word's length; case differences count as close).
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// True if `text` names a timer source ("dora/timer/..." or "zeroflow/timer/...") or looks
/// like an attempt at one ("dora/..." or "zeroflow/..." with more than one '/').
bool looks_like_timer(std::string_view text) noexcept;

/// Parses a timer spec; on failure returns the message to report.
std::variant<Timer, std::string> parse_timer(std::string_view spec);

/// A size as dora 1.0 reads `max_log_size`: bytes, or a number (fractions allowed) with a
/// unit B, K/KB, M/MB or G/GB, case-insensitive and binary (1 KB = 1024 B), e.g. "100MB",
/// "1.5g". Empty on bad syntax or when it does not fit 64 bits.
std::optional<std::uint64_t> parse_dora_byte_size(std::string_view text) noexcept;

/// A non-negative decimal integer with digits only; empty on bad syntax or overflow.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept;

} // namespace zeroflow::dataflow::detail
