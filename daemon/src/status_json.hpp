// Status JSON: what `list`, `wait` and `stop` answer about a dataflow (describe) and what
// `stats` answers (stats_json). Reads the records and the segment's control area, changes
// nothing. Supervisor thread only.
#pragma once

#include "state.hpp"

namespace zeroflow::daemon {

/// A dataflow for `list` / `wait` / `stop`: uuid, name, status, path, nodes_running,
/// nodes_total, uptime_s (as of `now` while live), nodes [{id, status, dynamic, pid, inputs,
/// restarts, last_exit, exit_code / signal, result, last_stderr, stopped_by_daemon}],
/// failed_nodes, success, failure (docs/protocol.md).
Json describe(const DataflowState& df, Clock::time_point now);
/// Per input of `n`: messages received, taken and dropped, and whether its code named it (once
/// the segment is gone: what was read before it went).
Json input_counts(const DataflowState& df, const NodeState& n);
/// The `stats` reply: nodes with their process usage, outputs, inputs and taps, from the
/// control area (off the data path).
Json stats_json(const DataflowState& df);

} // namespace zeroflow::daemon
