// `zeroflow topic list|info|hz|bw|echo`: what flows on a running dataflow's outputs, seen
// through observer taps (docs/design/shm.md, Observers) and the daemon's `stats`.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::cli {

struct TopicOptions {
    std::string action;                  ///< list, info, hz, bw, echo
    std::optional<std::string> dataflow; ///< UUID, unique prefix or name; nullopt: the only one
    std::string output;                  ///< "node/output" (not for list)
    std::optional<std::uint64_t> count;  ///< echo: stop after N messages; hz/bw: after N
    std::optional<double> duration_s;    ///< hz/bw/echo: stop after this long
    std::uint64_t window = 1000;         ///< hz/bw: messages the statistics cover
    bool json = false;
};

/// Runs one `topic` action. 0 on success; 1 for an unknown dataflow or output, no daemon, or
/// a dataflow that ended before anything was seen (echo/hz); 2 for a malformed NODE/OUTPUT.
int run_topic(const TopicOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
