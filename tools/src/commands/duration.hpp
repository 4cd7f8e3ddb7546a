// Durations on the command line: a number and a unit (500ms, 5s, 2m, 1h; a bare number is
// seconds), parsed and printed the same way by every command that takes one.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace zeroflow::cli {

/// Parses "250us", "500ms", "5s", "1.5s", "2m", "1h" or "5" (seconds) into seconds. Spaces
/// around the number and unit are allowed. The error says what is wrong and how to write one.
std::expected<double, std::string> parse_duration(std::string_view text);

/// Seconds as a user would write them: "500ms", "5s", "1.5s", "2m", "1h".
std::string format_duration(double seconds);

} // namespace zeroflow::cli
