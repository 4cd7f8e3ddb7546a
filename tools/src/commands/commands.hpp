// The `zeroflow` commands, independent of argument parsing: each takes its parsed options and
// the streams to print to, and returns the process exit status.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>

namespace zeroflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1; ///< the request failed (a bad dataflow file included)
inline constexpr int kExitUsage = 2;   ///< the command line was wrong

struct CheckOptions {
    std::filesystem::path file;
};

/// `zeroflow check FILE`: validates a dataflow. Valid: a one-line summary on `out`, warnings on
/// `err`, returns 0. Invalid or unreadable: every diagnostic on `err`, returns 1.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

enum class GraphFormat { mermaid, dot };

struct GraphOptions {
    std::filesystem::path file;
    GraphFormat format = GraphFormat::mermaid;
    bool format_given = false; ///< --format was on the command line
    std::optional<std::filesystem::path> output;
};

/// `zeroflow graph FILE [--format mermaid|dot] [--output PATH]`: prints the dataflow's graph
/// on `out`, or writes it to PATH: .mmd/.mermaid as Mermaid, .dot/.gv as DOT, .svg/.png/.pdf
/// rendered by Graphviz `dot` (1 with install advice when it is missing), anything else in
/// --format. Returns 2 when --format contradicts the output's extension.
int run_graph(const GraphOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
