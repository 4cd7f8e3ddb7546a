// Private text helpers of the descriptor parser: ids, shell-style splitting, did-you-mean,
// timers and numbers. Pure functions, no YAML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::dataflow::detail {

/// Node, input and output ids: non-empty, letters, digits, '_' and '-' only.
bool is_valid_id(std::string_view id) noexcept;

/// Splits a command line like a POSIX shell would, without any expansion: whitespace
/// separates words; single quotes keep everything; double quotes keep everything but
/// `\"`, `\\`, `\$`, `` \` `` and backslash-newline; outside quotes a backslash keeps the
/// next character. On an unterminated quote or a trailing backslash, returns the reason.
std::variant<std::vector<std::string>, std::string> split_shell_words(std::string_view text);

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

/// A non-negative decimal integer with digits only; empty on bad syntax or overflow.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept;

} // namespace zeroflow::dataflow::detail
