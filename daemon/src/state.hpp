// What the daemon knows about a dataflow and its nodes while it lives (and a while after): the
// records the registry keeps, the lifecycle changes and the status JSON reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/remote_parts.hpp>
#include <zeroflow/shm/layout.hpp>
#include <zeroflow/shm/segment.hpp>

#include "stdout_output.hpp"
#include "timers.hpp"

namespace zeroflow::daemon {

using ConnId = std::uint64_t;
using Json = protocol::Json;
using Clock = std::chrono::steady_clock;

enum class NodeStatus : std::uint8_t {
    pending,
    running,
    exited,
    waiting_dynamic,
    connected,
    restarting, ///< its process ended and its restart policy starts it again (restart.cpp)
};
enum class DataflowStatus : std::uint8_t { starting, running, stopping, finished, failed };

struct NodeState {
    std::string id;
    std::uint32_t index = 0;
    bool dynamic = false;
    NodeStatus status = NodeStatus::pending;
    pid_t pid = -1;
    int pidfd = -1;
    std::optional<ConnId> conn;     ///< registered connection
    std::optional<int> wait_status; ///< once exited
    std::string last_stderr;        ///< once exited
    std::filesystem::path log_file;
    bool signalled_term = false;
    // Output: the node's stdout+stderr pipe, copied into log_file, rotated at max_log_size.
    int output = -1;                ///< read end, watched by the loop; -1 once at EOF
    int log_fd = -1;                ///< log_file, open for appending
    std::uint64_t log_size = 0;     ///< bytes in log_file now
    std::uint64_t max_log_size = 0; ///< the descriptor's max_log_size or the default
    std::filesystem::path cgroup;   ///< its cgroup v2 folder, or empty
    /// `send_stdout_as`: the daemon's sender of that output, fed from `output`; reset before
    /// the segment goes.
    std::shared_ptr<LineSender> lines;
    bool lingering = false; ///< exited, but something it started still runs
    Json inputs_at_end;     ///< its inputs' counters, read before the segment went
    // Restart policy bookkeeping (restart.cpp).
    std::uint32_t restarts = 0;                  ///< restarts so far, all windows
    std::uint32_t window_restarts = 0;           ///< restarts in the current restart_window
    Clock::time_point window_start{};            ///< when the current window began
    std::optional<Clock::time_point> restart_at; ///< in backoff: spawn again at this time
    std::optional<int> last_exit;                ///< wait status of the exit before a restart
};

/// One observer tap set: a pseudo-node of the segment with one (normally dead) connection from
/// every output; an observer attaches it through `attach_tap` (docs/design/shm.md, Observers).
struct TapState {
    std::uint32_t node = 0;                    ///< its node index in the segment
    std::optional<ConnId> conn;                ///< the observer's connection while attached
    std::vector<std::uint32_t> connections;    ///< revived for the observer now
    std::map<std::uint32_t, std::uint32_t> of; ///< output index -> its connection to this tap
};

struct DataflowState {
    std::string uuid;
    std::string name;
    std::uint64_t generation = 0;
    DataflowStatus status = DataflowStatus::starting;
    dataflow::Descriptor descriptor;
    shm::LayoutSpec spec;
    std::unique_ptr<shm::Segment> segment;
    std::unique_ptr<TimerThread> timers;
    std::vector<TimerOutput> timer_outputs;
    std::vector<NodeState> nodes;
    std::vector<TapState> taps;
    Json node_setup_template; ///< the layout part of register replies
    Clock::time_point started_at;
    std::optional<Clock::time_point> start_deadline;
    std::optional<Clock::time_point> term_at; ///< SIGTERM the rest at this time
    std::optional<Clock::time_point> kill_at; ///< SIGKILL the rest at this time
    std::vector<ConnId> start_waiters;        ///< `start` replies held until the barrier
    std::vector<ConnId> finish_waiters;       ///< `wait` and `stop` replies held until the end
    std::string failure;                      ///< why it failed, for start/list
    bool stop_requested = false; ///< a `stop` request or the daemon's shutdown ended it
    std::chrono::seconds uptime_at_end{0};
    // A part of a dataflow that spans machines, as zeroflow-bridge last told (`remote_parts`);
    // empty for a dataflow of this machine only.
    std::string machine;                                  ///< this daemon's --machine-id then
    std::vector<protocol::RemoteMachine> remote_machines; ///< every other machine
    std::vector<std::string> stand_ins; ///< local nodes standing in for a remote one
};

/// "starting", "running", "stopping", "finished", "failed" (list, stats, logs).
const char* status_name(DataflowStatus s);
/// A node's status as `list` shows it ("starting", "running", "not connected", ...).
const char* node_status_name(const NodeState& n);
/// Starting, running or stopping: its nodes may still run.
bool is_live(const DataflowState& df);
/// A dynamic node, or one that exited with status 0.
bool node_ok(const NodeState& n);

} // namespace zeroflow::daemon
