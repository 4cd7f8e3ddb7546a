// Shared plumbing of the zeroflow benchmark nodes (zf_ping, zf_pong, zf_source, zf_sink,
// zf_relay): their command line, waiting for inputs, loans with back-pressure, the JSON line.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zeroflow/bench/point.hpp>
#include <zeroflow/bench/report.hpp>
#include <zeroflow/node.hpp>

namespace zeroflow::bench::zf {

/// What a benchmark node was asked to do (`args:` of its dataflow entry).
///   --pattern P   pingpong, oneway, throughput, fanout-N, chain-K (the JSON label)
///   --mode M      busy or blocking (label only: the dataflow's busy_poll_us does the work)
///   --touch T     transport or full
///   --size N      message size (8, 4K, 1M ...)
///   --samples N --warmup N --budget S --seconds S
///   --acks N      acknowledgements per message (zf_source: receivers of fan-out, 1 otherwise)
///   --note TEXT   added to the point's note (e.g. "4 spinning nodes share 1 core")
///   --oversubscribed 1   more busy-polling nodes than cores: the point may shrink to fit
///                        its budget (see fit_budget)
///   --results F   JSON-lines file to append the point to (default $ZEROFLOW_BENCH_RESULTS)
struct NodeArgs {
    std::string pattern{"pingpong"};
    Mode mode{Mode::blocking};
    Touch touch{Touch::transport};
    std::uint64_t size{8};
    std::uint64_t samples{10'000};
    std::uint64_t warmup{1'000};
    double budget_s{20.0};
    double seconds{1.0};
    std::uint32_t acks{1};
    std::string note;
    bool oversubscribed{false};
    /// throughput sink: count messages its full queue dropped (in the note) instead of failing
    /// (a remote receiver behind zeroflow-bridge, where nothing makes the sender wait).
    bool allow_drops{false};
    std::string results;
};

/// Parses argv (every option is `--key value`); the error names the bad option.
[[nodiscard]] std::expected<NodeArgs, std::string> parse_args(int argc, char** argv);

/// Prints "PROGRAM: message" to stderr and returns 1 (for `return fail(...)` in main).
int fail(std::string_view program, std::string_view message);

/// Connects to the daemon as the node this process was started as; prints why on failure.
[[nodiscard]] std::optional<Node> connect(std::string_view program);

/// Why an event stream ended before the next input.
struct StreamEnd {
    bool error{false}; ///< an Error event (the daemon is gone), not a normal end
    std::string why;   ///< "input 'x' closed", "stopped", or the error's message
};

/// Waits for the next Input event. nullopt when the stream ends first (an input closed, Stop,
/// or an Error); `end` then says which.
[[nodiscard]] std::optional<Event> next_input(Node& node, StreamEnd& end);

/// Loans `bytes` on `output`, retrying while the pool is exhausted (back-pressure: receivers
/// still hold every chunk). Counts the retries; gives up after 30 s of exhaustion.
[[nodiscard]] std::expected<Sample, Error> loan_retry(Node& node, std::string_view output,
                                                      std::size_t bytes, std::uint64_t& retries);

/// Shrinks warm-up and samples when `per_iteration_ns` says the point would exceed its
/// budget, and says so in `note`. Only points of >= 16 MiB, or oversubscribed ones (more
/// busy-polling nodes than cores: iterations wait for time slices), are shrunk.
void fit_budget(const NodeArgs& args, double per_iteration_ns, std::uint64_t& warmup,
                std::uint64_t& samples, std::string& note);

/// The point's JSON record from one-way latency samples (ns).
[[nodiscard]] PointResult latency_result(const NodeArgs& args, std::vector<std::int64_t> samples,
                                         std::string note);

/// Appends `point` as one line to `path` (a header line first when the file is empty), with
/// one write(2) on an O_APPEND descriptor. False (with a message on stderr) on failure.
bool append_result(const std::string& path, const PointResult& point);

/// Joins two notes with "; ".
[[nodiscard]] std::string join_notes(std::string a, const std::string& b);

} // namespace zeroflow::bench::zf
