// `zeroflow top`: a live view of a running dataflow (ncurses), refreshed every second: per node
// pid, state, CPU %, RSS, restarts; per output messages/s and MB/s; per input queue fill and
// drops. From the daemon's `stats` (shared-memory counters and /proc), off the data path.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::cli {

struct TopOptions {
    std::optional<std::string> dataflow;
    bool once = false; ///< one snapshot (two stats a second apart), then exit
    bool json = false; ///< with --once: as JSON
    double interval_s = 1.0;
};

/// 0 on success (q quits the live view); 1 for an unknown dataflow or no daemon; 2 for --json
/// without --once.
int run_top(const TopOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
