// The names of zeroflow's environment variables, defined once: the daemon sets some for the
// nodes it spawns, the node library and the tools read them, users set the rest.
#pragma once

namespace zeroflow::protocol {

// Set by the daemon for every node it spawns (and read back by the node library).

/// The UUID of the node's dataflow.
inline constexpr const char* kDataflowIdEnv = "ZEROFLOW_DATAFLOW_ID";
/// The node's id in its dataflow.
inline constexpr const char* kNodeIdEnv = "ZEROFLOW_NODE_ID";
/// The node's log file (out/<uuid>/log_<node>.txt): when the daemon dies, the library points
/// the node's stdout/stderr (the daemon's pipe until then) at it.
inline constexpr const char* kLogFileEnv = "ZEROFLOW_LOG_FILE";

// Set by users (the daemon passes ZEROFLOW_RUNTIME_DIR on to its nodes as well).

/// The runtime directory (socket, lock, indexes): see runtime_dir().
inline constexpr const char* kRuntimeDirEnv = "ZEROFLOW_RUNTIME_DIR";
/// The dataflow (UUID or name) a dynamic node connects to when several have that node.
inline constexpr const char* kDataflowEnv = "ZEROFLOW_DATAFLOW";
/// The daemon's log level (spdlog's names: trace, debug, info, warn, err, critical, off).
inline constexpr const char* kLogLevelEnv = "ZEROFLOW_LOG";
/// How many runs' log folders a daemon keeps (a number; 0 keeps all).
inline constexpr const char* kKeepRunsEnv = "ZEROFLOW_KEEP_RUNS";
/// The interpreter of `.py` nodes.
inline constexpr const char* kPythonEnv = "ZEROFLOW_PYTHON";
/// How long (seconds) the node library waits for the start barrier at registration.
inline constexpr const char* kRegisterTimeoutEnv = "ZEROFLOW_REGISTER_TIMEOUT_S";
/// Busy-polling before sleeping in next() (microseconds), over the descriptor's busy_poll_us.
inline constexpr const char* kBusyPollEnv = "ZEROFLOW_BUSY_POLL_US";

} // namespace zeroflow::protocol
