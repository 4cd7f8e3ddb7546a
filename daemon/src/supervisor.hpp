// The supervisor: requests, the node lifecycle, restarts and status, in files by responsibility
// (docs/design/daemon.md). It meets the outside only through its seams: a Replier, a Spawner and
// a ClockSource. Runs on the daemon's one supervisor thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zeroflow/daemon/daemon.hpp>
#include <zeroflow/protocol/protocol.hpp>

#include "clock.hpp"
#include "loop.hpp"
#include "registry.hpp"
#include "replier.hpp"
#include "request_error.hpp"
#include "spawner.hpp"
#include "state.hpp"

namespace zeroflow::daemon {

class Supervisor {
public:
    /// The daemon gives it a ProcessSpawner and a SteadyClock; unit tests give fakes. All
    /// must outlive it.
    Supervisor(Loop& loop, Replier& replier, const Options& options, Spawner& spawner,
               ClockSource& clock);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    /// Answers one request (now or later). Never throws, never ends the daemon.
    void handle(ConnId conn, const Json& request) noexcept;
    /// A client connection closed.
    void on_disconnect(ConnId conn) noexcept;
    /// Deadlines: start timeouts, grace periods, restart backoffs; collects exited children.
    /// Returns when it next wants to run; -1 ms when idle (no deadline: wait for the next event).
    std::chrono::milliseconds tick() noexcept;
    /// Stops every dataflow (grace as given) and answers `conn` when all are gone.
    void shutdown(std::optional<ConnId> conn, std::chrono::milliseconds grace) noexcept;
    /// True once a shutdown was asked for and every dataflow is gone.
    bool done() const noexcept { return shutting_down_ && registry_.active_count() == 0; }
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

    // Request handlers (handlers.cpp).
    Outcome<std::optional<Json>> handle_start(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_register(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_connect_dynamic(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_stop(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_wait(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_list(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_logs(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_log_text(ConnId conn, const Json& req);
    /// The dataflow and node a `logs` / `log_text` request names (local nodes only).
    Outcome<std::pair<DataflowState*, NodeState*>> logged_node(const Json& req);
    Outcome<std::optional<Json>> handle_destroy(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_ping(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_attach_tap(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_stats(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_remote_parts(ConnId conn, const Json& req);
    Outcome<DataflowState*> find_named_or_only(const Json& req);

    // The machine agent: starts of dataflows across machines (machine_agent.cpp).
    Outcome<std::optional<Json>> handle_machine_agent(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_machine_agent_result(ConnId conn, const Json& req);
    Outcome<std::optional<Json>> handle_forward(ConnId conn, const Json& req);
    /// Queues for the agent `start` (a start already checked: it places nodes on other
    /// machines) or `forward` (a request for another machine's daemon).
    void hand_to_agent(ConnId conn, std::string kind, Json payload);
    /// Hands the oldest queued start to the agent when one waits.
    void feed_agent();
    /// Fails queued starts that no agent took in time; when it next wants to run.
    std::optional<Clock::time_point> agent_deadlines(Clock::time_point now);
    /// At shutdown and when the agent's connection closes: answers what waits on it.
    void agent_disconnected(ConnId conn);
    void fail_agent_starts(protocol::DaemonErrorKind kind, const std::string& why);

    // Lifecycle (lifecycle.cpp).
    void barrier_reached(DataflowState& df);
    void fail_start(DataflowState& df, const std::string& why);
    void begin_stop(DataflowState& df, std::chrono::milliseconds grace);
    void finish(DataflowState& df);
    void maybe_finish(DataflowState& df);
    NodeIdentity identity(const DataflowState& df, const NodeState& n) const;
    /// Starts the process of spawned node `n` (its log, pipe, pidfd watch and record). The
    /// error says why it could not.
    std::optional<std::string> spawn_process(DataflowState& df, NodeState& n);
    void reap_children();
    void write_node_record(const DataflowState& df) const;

    // Node output into its log and its send_stdout_as output (node_output.cpp).
    void on_output(const std::string& uuid, std::uint32_t index) noexcept;
    void read_output(NodeState& n);
    void write_log(NodeState& n, const char* data, std::size_t size);
    void close_output(NodeState& n);

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

    Loop& loop_;
    Replier& replier_;
    Spawner& spawner_;
    ClockSource& clock_;
    Options options_;
    Registry registry_;
    std::uint64_t next_generation_ = 1;
    std::uint64_t internal_errors_ = 0;
    std::uint64_t out_of_memory_errors_ = 0;
    const std::string out_of_memory_frame_; ///< encoded at start: answering it needs no memory
    bool shutting_down_ = false;
    std::vector<ConnId> shutdown_waiters_;
    std::map<pid_t, int> reaped_; ///< node pid -> wait status, reaped by reap_children

    /// A start across machines that waits for the machine agent.
    struct AgentStart {
        std::uint64_t ticket = 0;
        ConnId client = 0;
        std::string kind; ///< "start" or "forward"
        Json payload; ///< what the agent is handed: path, name, start_timeout_s / machine, request
        Clock::time_point queued;
    };
    std::optional<ConnId> agent_conn_;    ///< the agent's waiting machine_agent request
    std::vector<AgentStart> agent_queue_; ///< not handed to the agent yet, oldest first
    /// Handed to the agent, not answered yet: the client, and when it fails unanswered.
    struct AgentInFlight {
        ConnId client = 0;
        std::string kind;
        Clock::time_point deadline;
    };
    std::map<std::uint64_t, AgentInFlight> agent_in_flight_; ///< by ticket
    std::uint64_t next_ticket_ = 1;
};

/// Ends what a dead daemon of `runtime_dir` left running (its records in DIR/nodes: the
/// spawned nodes and everything they started, by cgroup and environment) and removes the
/// records. Called by the next daemon under the directory's lock.
void end_leftover_nodes(const std::filesystem::path& runtime_dir);

} // namespace zeroflow::daemon
