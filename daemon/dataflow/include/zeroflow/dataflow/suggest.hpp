// Did-you-mean suggestions, as `zeroflow check` makes them, for the CLI's own words (command
// names, node ids, dataflow names).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zeroflow::dataflow {

/// The candidate closest to `word` when it is close enough to be a likely typo (edit distance
/// at most 2 and below the word's length, case-insensitive); empty otherwise.
std::optional<std::string> suggest(std::string_view word,
                                   const std::vector<std::string>& candidates);

} // namespace zeroflow::dataflow
