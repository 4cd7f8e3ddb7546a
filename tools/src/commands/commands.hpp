// The `zeroflow` commands, independent of argument parsing: each takes its parsed options and
// the streams to print to, and returns the process exit status.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::dataflow {
struct ParseResult;
} // namespace zeroflow::dataflow

namespace zeroflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1; ///< the request failed (a bad dataflow file included)
inline constexpr int kExitUsage = 2;   ///< the command line was wrong

/// Prints "zeroflow: error: MESSAGE" on `err`; returns kExitFailure.
inline int fail(std::ostream& err, const std::string& message) {
    err << "zeroflow: error: " << message << "\n";
    return kExitFailure;
}

struct CheckOptions {
    std::filesystem::path file;
};

/// `zeroflow check FILE`: validates a dataflow. Valid: a one-line summary on `out`, warnings on
/// `err`, returns 0. Invalid or unreadable: every diagnostic on `err`, returns 1.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

/// What `check` prints for an invalid dataflow: every diagnostic (`file:line:col: error: ...`)
/// and the "FILE: N errors, not a valid dataflow" line. `start`, `run` and `graph` print the
/// same, so an editor can jump to each. Returns 1.
int report_invalid(const dataflow::ParseResult& result, const std::filesystem::path& file,
                   std::ostream& err);

struct NewOptions {
    std::string name;
    std::string lang = "cpp";
    std::string kind = "dataflow";
};

/// `zeroflow new NAME [--lang cpp|c|python] [--kind dataflow|node]`: writes a project folder
/// that builds with CMake against the installed zeroflow and runs with `zeroflow run`, and
/// prints the commands to do so. 2 for a language that does not exist yet, 1 if NAME exists.
int run_new(const NewOptions& options, std::ostream& out, std::ostream& err);

enum class GraphFormat { mermaid, dot };

struct GraphOptions {
    std::filesystem::path file;
    GraphFormat format = GraphFormat::mermaid;
    bool format_given = false; ///< --format was on the command line
    std::optional<std::filesystem::path> output;
};

/// `zeroflow graph FILE [--format mermaid|dot] [--output PATH]`: prints the dataflow's graph
/// on `out`, or writes it to PATH: .mmd/.mermaid as Mermaid, .dot/.gv as DOT, .svg/.png/.pdf/
/// .jpg/.jpeg rendered by Graphviz `dot` (1 with install advice when it is missing). Returns 2
/// for any other extension, or when --format contradicts the output's extension.
int run_graph(const GraphOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli

namespace zeroflow::cli {

struct BenchOptions {
    std::string sizes = "8,4KiB,1MiB";
    std::string mode = "both";        ///< busy, blocking or both
    std::string pattern = "pingpong"; ///< pingpong, oneway, fanout:N, chain:K
    std::optional<std::string> cpus;  ///< "2,3": the CPUs the nodes (and the floor) run on
    double duration_s = 2.0;          ///< per point, split into alternating rounds
    bool json = false;
    std::optional<std::filesystem::path> plot; ///< an SVG (gnuplot)
    std::string lang = "cpp";                  ///< cpp, c or python (ping-pong only)
};

/// `zeroflow bench`: real nodes in a real dataflow through the daemon (`zeroflow run`: the
/// running daemon, or an embedded one), with the raw shared-memory floor interleaved beside
/// it round by round; prints a table (or --json). 2 for a bad option, 1 when a round fails or
/// the bench programs are not installed.
int run_bench(const BenchOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
