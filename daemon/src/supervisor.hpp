// The supervisor owns the registry of dataflows and nodes. Every request is resolved through
// lookups that return a value or a typed error before any shared state is touched; every
// failure becomes that request's reply. Runs on the daemon's one supervisor thread.
#pragma once

#include <chrono>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/protocol/protocol.hpp>
#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/segment.hpp>

#include "loop.hpp"
#include "process.hpp"
#include "stdout_output.hpp"
#include "timers.hpp"

namespace zeroflow::daemon {

using ConnId = std::uint64_t;
using Json = protocol::Json;
using Clock = std::chrono::steady_clock;

/// How the supervisor answers: implemented by the server.
class Replier {
public:
    virtual ~Replier() = default;
    virtual void reply(ConnId conn, const Json& message) = 0;
    /// Replies with `fd` attached to the frame (SCM_RIGHTS; a dup is sent, `fd` stays ours).
    /// False when no dup could be made (nothing sent then).
    virtual bool reply_with_fd(ConnId conn, const Json& message, int fd) = 0;
    /// Sends an already encoded frame without allocating where the connection's output is
    /// empty (the out-of-memory reply). Never throws; drops the connection if it cannot.
    virtual void reply_encoded(ConnId conn, std::string_view frame) noexcept = 0;
    virtual void close_connection(ConnId conn) = 0;
};

/// A typed request error: the reply's error kind and message (and for `resource_limit`, the
/// limit's name and value, sent as error.limit and error.limit_value).
struct RequestError {
    RequestError(protocol::DaemonErrorKind kind_, std::string message_, std::string limit_ = {},
                 std::uint64_t limit_value_ = 0)
        : kind(kind_), message(std::move(message_)), limit(std::move(limit_)),
          limit_value(limit_value_) {}
    protocol::DaemonErrorKind kind;
    std::string message;
    std::string limit;
    std::uint64_t limit_value = 0;
};

/// The `resource_limit` error for limit `name` (a Limits field) of `value`.
RequestError limit_error(std::string_view name, std::uint64_t value, const std::string& what);
/// Its reply: {"ok": false, "error": {"kind": "resource_limit", "message", "limit",
/// "limit_value"}}.
Json limit_reply(std::string_view name, std::uint64_t value, const std::string& what);
Json error_reply(const RequestError& error);

template <typename T>
using Outcome = std::expected<T, RequestError>;

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
    std::chrono::seconds uptime_at_end{0};
};

class Supervisor {
public:
    Supervisor(Loop& loop, Replier& replier, const Options& options);
    ~Supervisor();

    /// Answers one request (now or later). Never throws, never ends the daemon.
    void handle(ConnId conn, const Json& request) noexcept;
    /// A client connection closed.
    void on_disconnect(ConnId conn) noexcept;
    /// Deadlines: start timeouts, grace periods. Returns when it next wants to run; -1 ms when
    /// idle (no deadline: wait for the next event).
    std::chrono::milliseconds tick() noexcept;
    /// Stops every dataflow (grace as given) and answers `conn` when all are gone.
    void shutdown(std::optional<ConnId> conn, std::chrono::milliseconds grace) noexcept;
    /// True once a shutdown was asked for and every dataflow is gone.
    bool done() const noexcept { return shutting_down_ && active_count() == 0; }
    std::uint64_t internal_errors() const noexcept { return internal_errors_; }

private:
    using Handler = Outcome<std::optional<Json>> (Supervisor::*)(ConnId, const Json&);

    template <typename F>
    void guarded(const char* what, F&& body) noexcept;
    void on_disconnect_unguarded(ConnId conn);
    void on_node_exit(const std::string& uuid, std::uint32_t index) noexcept;
    void on_node_exit_unguarded(const std::string& uuid, std::uint32_t index);
    void shutdown_unguarded(std::optional<ConnId> conn, std::chrono::milliseconds grace);
    std::chrono::milliseconds tick_unguarded();

    Outcome<std::optional<Json>> handle_start(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_register(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_connect_dynamic(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_stop(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_wait(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_list(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_logs(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_destroy(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_ping(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_attach_tap(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_stats(ConnId conn, const Json& req);
    Outcome<DataflowState*> find_named_or_only(const Json& req);

    // Lookups: a value or a typed error, nothing touched.
    Outcome<DataflowState*> find_dataflow(const std::string& uuid_or_name, bool running_only);
    Outcome<DataflowState*> find_only_running();
    static Outcome<NodeState*> find_node(DataflowState& df, const std::string& node_id);

    Json node_setup(const DataflowState& df, const NodeState& node) const;
    Json describe(const DataflowState& df) const;
    /// Per input of `n`: messages received, taken and dropped, and whether its code named it.
    static Json input_counts(const DataflowState& df, const NodeState& n);
    void barrier_reached(DataflowState& df);
    void fail_start(DataflowState& df, const std::string& why);
    void begin_stop(DataflowState& df, std::chrono::milliseconds grace);
    void finish(DataflowState& df);
    void maybe_finish(DataflowState& df);
    std::size_t active_count() const noexcept;
    void forget_old_dataflows();
    void on_output(const std::string& uuid, std::uint32_t index) noexcept;
    void read_output(NodeState& n);
    void write_log(NodeState& n, const char* data, std::size_t size);
    void close_output(NodeState& n);
    NodeIdentity identity(const DataflowState& df, const NodeState& n) const;
    /// Starts the process of spawned node `n` (its log, pipe, pidfd watch and record). The
    /// error says why it could not.
    std::optional<std::string> spawn_process(DataflowState& df, NodeState& n);

    // Restart policies (restart.cpp).
    /// After `n`'s process was reaped: true when its policy restarts it (then it is in backoff,
    /// its outputs stay open and its inputs keep their queues); false when the exit is final.
    bool schedule_restart(DataflowState& df, NodeState& n);
    /// Spawns nodes whose backoff is over once their senders let go of the dead process;
    /// returns when it next wants to run.
    Clock::time_point restart_due(DataflowState& df, Clock::time_point now);
    /// Ends the restarts of `n` (the dataflow is stopping, or its respawn failed): its last
    /// exit becomes final, its outputs close and its inputs die, as for any exit.
    void give_up_restart(DataflowState& df, NodeState& n, const std::string& why);
    /// The register reply of a restarted node: its setup at once (the dataflow runs already).
    Outcome<std::optional<Json>> register_restarted(DataflowState& df, NodeState& n, ConnId conn);
    void reap_children();
    void write_node_record(const DataflowState& df) const;

    Loop& loop_;
    Replier& replier_;
    Options options_;
    std::map<std::string, std::unique_ptr<DataflowState>> dataflows_; ///< by UUID
    std::deque<std::string> finished_order_;
    std::map<ConnId, std::pair<std::string, std::uint32_t>> node_conns_; ///< conn -> node
    std::map<ConnId, std::pair<std::string, std::uint32_t>> tap_conns_;  ///< conn -> tap
    std::uint64_t next_generation_ = 1;
    std::uint64_t internal_errors_ = 0;
    std::uint64_t out_of_memory_errors_ = 0;
    const std::string out_of_memory_frame_; ///< encoded at start: answering it needs no memory
    bool shutting_down_ = false;
    std::vector<ConnId> shutdown_waiters_;
    std::filesystem::path cgroup_base_; ///< <own cgroup>/zeroflow-<pid>, or empty (none)
    std::map<pid_t, int> reaped_;       ///< node pid -> wait status, reaped by reap_children
};

/// Ends what a dead daemon of `runtime_dir` left running (its records in DIR/nodes: the
/// spawned nodes and everything they started, by cgroup and environment) and removes the
/// records. Called by the next daemon under the directory's lock.
void end_leftover_nodes(const std::filesystem::path& runtime_dir);

} // namespace zeroflow::daemon
