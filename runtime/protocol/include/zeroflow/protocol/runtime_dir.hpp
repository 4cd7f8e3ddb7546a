// The per-user runtime directory, its safety checks and its layout (every file and folder a
// daemon, a node or the CLI finds there), and where a dataflow's logs go: defined once here.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/environment.hpp>

namespace zeroflow::protocol {

/// The system daemon's runtime directory: zeroflow.service's RuntimeDirectory= (/run/zeroflow).
inline constexpr const char* kSystemRuntimeDir = "/run/zeroflow";

/// $ZEROFLOW_RUNTIME_DIR if set and non-empty (made absolute), else /run/zeroflow if it is a
/// directory owned by our effective uid (a system daemon runs as us: zeroflow.service), else
/// $XDG_RUNTIME_DIR/zeroflow if XDG_RUNTIME_DIR is an absolute path (the user unit's
/// directory), else /tmp/zeroflow-<euid>. Creates nothing.
std::filesystem::path runtime_dir();

/// runtime_dir() with another system directory in place of /run/zeroflow (tests).
std::filesystem::path runtime_dir(const std::filesystem::path& system_dir);

/// Creates `dir` (and missing parents) with mode 0700 and checks it is safe to use: a real
/// directory (not a symlink) owned by our effective uid. A directory of ours that group or
/// others may access is fixed to 0700; one owned by another uid is refused (io_error).
std::expected<void, ProtocolError> ensure_runtime_dir(const std::filesystem::path& dir);

// ---- layout of the runtime directory ---------------------------------------------------------

/// `<runtime_dir>/daemon.sock`.
std::filesystem::path socket_path(const std::filesystem::path& runtime_dir);

/// `<runtime_dir>/daemon.lock`: the serving daemon holds an exclusive flock on it and writes its
/// pid into it.
std::filesystem::path lock_path(const std::filesystem::path& runtime_dir);

/// `<runtime_dir>/daemon.log`: the log of a daemon that `zeroflow up` or `zeroflow run` started.
std::filesystem::path daemon_log_path(const std::filesystem::path& runtime_dir);

/// `<runtime_dir>/segments`: the stale-segment marker folder of older versions (a daemon
/// removes it at start; segments are memfds now).
std::filesystem::path segments_dir(const std::filesystem::path& runtime_dir);

/// `<runtime_dir>/nodes`: one file per live dataflow (named by its UUID) listing its spawned
/// processes, which the next daemon ends if this one dies. The daemon's own format.
std::filesystem::path node_records_dir(const std::filesystem::path& runtime_dir);

// ---- where a dataflow's logs go ------------------------------------------------------------

/// The folder of a dataflow's runs beside its file: `<working_dir>/out`.
inline constexpr std::string_view kRunsFolder = "out";

/// One run's log folder: `<working_dir>/out/<uuid>`.
std::filesystem::path run_log_dir(const std::filesystem::path& working_dir, std::string_view uuid);

/// A node's log file in its run's folder: `<run_log_dir>/log_<node_id>.txt` (dora's naming).
std::filesystem::path node_log_path(const std::filesystem::path& run_log_dir,
                                    std::string_view node_id);

/// The node id of a log file name ("log_<node_id>.txt"); nullopt for any other name (the
/// rotated `log_<node_id>.txt.1` included).
std::optional<std::string> node_of_log_file(std::string_view file_name);

// ---- the dataflow index: `<runtime_dir>/dataflows/<uuid>` ---------------------------------
// Which run folder each dataflow's logs went to, so that `zeroflow logs` and `list` find them
// after the daemon forgot the dataflow (or died). One file per dataflow: its name on the first
// line (empty when it has none), its run folder on the second.

/// How many entries the index keeps (the newest by write time).
inline constexpr std::size_t kMaxDataflowRecords = 64;

/// `<runtime_dir>/dataflows`.
std::filesystem::path dataflow_index_dir(const std::filesystem::path& runtime_dir);

/// One entry of the index.
struct DataflowRecord {
    std::string uuid;                          ///< the entry's file name
    std::string name;                          ///< the dataflow's name; empty when it has none
    std::filesystem::path log_dir;             ///< its run folder (run_log_dir), never empty
    std::filesystem::file_time_type written{}; ///< when the entry was written (read only)
};

/// Writes (or replaces) `record`'s entry, then removes the oldest entries beyond `keep`.
/// Best effort: an index that cannot be written costs only the lookups after the daemon forgot
/// the dataflow. `record.uuid` must be a file name (no '/'), `record.name` one line.
void write_dataflow_record(const std::filesystem::path& runtime_dir, const DataflowRecord& record,
                           std::size_t keep = kMaxDataflowRecords);

/// Every well-formed entry, in no particular order. Entries that are not regular files, lack
/// the folder line or have an empty one are malformed and left out.
std::vector<DataflowRecord> read_dataflow_records(const std::filesystem::path& runtime_dir);

/// Removes the well-formed entries whose run folder no longer exists (deleted by `zeroflow
/// clean` or by retention); malformed ones stay until write_dataflow_record's bound drops them.
void remove_stale_dataflow_records(const std::filesystem::path& runtime_dir);

} // namespace zeroflow::protocol
