// The node lifecycle: spawning a node, the start barrier, a failed start, process exits, the stop
// (Stop, then SIGTERM after the grace, SIGKILL after that), the end of a dataflow, and the
// deadlines tick() keeps. Restarts are in restart.cpp.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/runtime/wire.hpp>
#include <zeroflow/shm/control.hpp>

#include "log.hpp"
#include "plan.hpp"
#include "status_json.hpp"
#include "supervisor.hpp"

namespace zeroflow::daemon {
namespace {

constexpr std::chrono::milliseconds kTermToKill{2000};
constexpr std::size_t kStderrLines = 10;

} // namespace

std::optional<std::string> Supervisor::spawn_process(DataflowState& df, NodeState& ns) {
    const auto spawn = plan_spawn(df, ns, options_.runtime_dir, spawner_.cgroup_base());
    ns.log_fd = ::open(ns.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ns.log_fd < 0) {
        return "cannot open the log file " + ns.log_file.string() + ": " + std::strerror(errno);
    }
    struct stat st {};
    ns.log_size = ::fstat(ns.log_fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    auto spawned = spawner_.spawn(spawn);
    if (!spawned) {
        return spawned.error();
    }
    ns.pid = spawned->pid;
    ns.pidfd = spawned->pidfd;
    ns.output = spawned->output;
    if (spawned->in_cgroup) {
        ns.cgroup = spawn.cgroup;
    }
    ns.status = NodeStatus::pending;
    const std::uint32_t index = ns.index;
    const auto uuid_key = df.uuid;
    loop_.watch(ns.pidfd, EPOLLIN,
                [this, uuid_key, index](std::uint32_t) { on_node_exit(uuid_key, index); });
    if (ns.output >= 0) {
        loop_.watch(ns.output, EPOLLIN,
                    [this, uuid_key, index](std::uint32_t) { on_output(uuid_key, index); });
    }
    write_node_record(df);
    return std::nullopt;
}

void Supervisor::barrier_reached(DataflowState& df) {
    if (!df.timer_outputs.empty()) {
        // Before anyone is told the dataflow runs: a thread that cannot be made (no memory, no
        // threads left) fails this start with a reply, never a start that hangs.
        try {
            df.timers = std::make_unique<TimerThread>(*df.segment, df.timer_outputs);
        } catch (const std::exception& e) {
            fail_start(df, std::string("cannot start the dataflow's timer thread: ") + e.what() +
                               " (the daemon is out of memory or threads)");
            return;
        }
    }
    df.status = DataflowStatus::running;
    df.start_deadline.reset();
    for (auto& n : df.nodes) {
        if (!n.dynamic && n.conn) {
            n.status = NodeStatus::running;
            if (!replier_.reply_with_fd(*n.conn,
                                        protocol::ok_reply(wire::to_json(plan_node_setup(df, n))),
                                        df.segment->fd())) {
                replier_.reply(*n.conn, protocol::error_reply(
                                            protocol::DaemonErrorKind::resource_limit,
                                            std::string("cannot pass the segment: ") +
                                                std::strerror(errno) + " (limit open_files)"));
            }
        }
    }
    for (auto conn : df.start_waiters) {
        replier_.reply(conn, protocol::ok_reply({{"uuid", df.uuid}, {"name", df.name}}));
    }
    df.start_waiters.clear();
    log()->info("dataflow {} running", df.uuid);
}

void Supervisor::fail_start(DataflowState& df, const std::string& why) {
    log()->warn("dataflow {} failed to start: {}", df.uuid, why);
    df.failure = why;
    for (auto conn : df.start_waiters) {
        replier_.reply(conn, protocol::error_reply(protocol::DaemonErrorKind::start_failed, why));
    }
    df.start_waiters.clear();
    for (auto& n : df.nodes) {
        if (n.conn) {
            replier_.reply(*n.conn, protocol::error_reply(protocol::DaemonErrorKind::start_failed,
                                                          "the dataflow failed to start: " + why));
        }
    }
    begin_stop(df, std::chrono::milliseconds(0));
    df.status = DataflowStatus::failed;
    maybe_finish(df);
}

// ---- process exits ---------------------------------------------------------------------------

void Supervisor::on_node_exit_unguarded(const std::string& uuid, std::uint32_t index) {
    auto* found = registry_.get(uuid);
    if (found == nullptr) {
        return;
    }
    auto& df = *found;
    auto& n = df.nodes[index];
    if (n.pidfd < 0) {
        return;
    }
    std::optional<int> status;
    if (const auto reaped = reaped_.find(n.pid); reaped != reaped_.end()) {
        status = reaped->second; // reap_children() took it first
        reaped_.erase(reaped);
    } else {
        status = spawner_.wait(n.pid, false);
        if (!status) {
            return; // not yet (spurious readiness)
        }
    }
    loop_.unwatch(n.pidfd);
    ::close(n.pidfd);
    n.pidfd = -1;
    n.wait_status = *status;
    n.status = NodeStatus::exited;
    // Whatever the node started dies with it, setsid and double-forked ones included: no
    // orphans. It counts as running until they are gone (tick() checks).
    n.lingering = spawner_.signal_tree(identity(df, n), SIGKILL) > 0;
    read_output(n); // what it wrote last, for last_stderr
    if (n.lines) {
        n.lines->flush(); // before its outputs close below
    }
    n.last_stderr = tail_lines(n.log_file, kStderrLines);
    if (n.conn) {
        registry_.unbind(*n.conn);
        n.conn.reset();
    }
    log()->info("node {} of dataflow {} {}", n.id, uuid, describe_status(*n.wait_status));
    if (df.status == DataflowStatus::running && schedule_restart(df, n)) {
        return; // in backoff: outputs stay open, inputs keep their queues
    }
    if (df.segment) {
        const shm::Control control(*df.segment);
        control.close_outputs_of(index);   // downstream: InputClosed after what is queued
        control.mark_receiver_dead(index); // upstream: reclaim the chunks it held
    }
    if (df.status == DataflowStatus::starting) {
        std::string why = "node '" + n.id + "' " + describe_status(*n.wait_status) +
                          " before the dataflow started";
        if (!n.last_stderr.empty()) {
            why += "; its last output:\n" + n.last_stderr;
        }
        fail_start(df, why);
        return;
    }
    maybe_finish(df);
}

void Supervisor::maybe_finish(DataflowState& df) {
    if (!is_live(df) && df.status != DataflowStatus::failed) {
        return;
    }
    const bool all_exited = std::all_of(df.nodes.begin(), df.nodes.end(), [](const NodeState& n) {
        return n.dynamic || (n.status == NodeStatus::exited && !n.lingering) || n.pid < 0;
    });
    const bool has_spawned = std::any_of(df.nodes.begin(), df.nodes.end(),
                                         [](const NodeState& n) { return !n.dynamic; });
    // A dataflow of only dynamic nodes runs until stopped.
    if (all_exited && (has_spawned || df.status == DataflowStatus::stopping ||
                       df.status == DataflowStatus::failed)) {
        finish(df);
    }
}

void Supervisor::finish(DataflowState& df) {
    df.timers.reset();
    if (df.segment) {
        const shm::Control control(*df.segment);
        for (std::uint32_t o = 0; o < df.spec.outputs.size(); ++o) {
            control.close_output(o); // later sends of attached dynamic nodes are errors
        }
        for (auto& n : df.nodes) {
            if (n.dynamic) {
                control.request_stop(n.index);
            }
        }
    }
    for (auto& n : df.nodes) {
        if (n.conn) {
            registry_.unbind(*n.conn);
            replier_.close_connection(*n.conn);
            n.conn.reset();
        }
    }
    for (auto& tap : df.taps) {
        if (tap.conn) {
            registry_.unbind(*tap.conn);
            replier_.close_connection(*tap.conn); // the observer sees the end
            tap.conn.reset();
        }
    }
    for (auto& n : df.nodes) {
        n.inputs_at_end = input_counts(df, n); // for `run`'s report of inputs never taken
    }
    for (auto& n : df.nodes) {
        n.lines.reset(); // it sends into the segment
    }
    df.segment.reset(); // the memory goes once the last node unmaps it
    for (auto& n : df.nodes) {
        read_output(n);
        close_output(n);
        remove_cgroup(n.cgroup);
    }
    std::error_code ec;
    std::filesystem::remove(protocol::node_records_dir(options_.runtime_dir) / df.uuid, ec);
    df.uptime_at_end =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - df.started_at);
    if (df.status != DataflowStatus::failed) {
        df.status = DataflowStatus::finished;
    }
    const auto result = describe(df, clock_.now());
    for (auto conn : df.finish_waiters) {
        replier_.reply(conn, protocol::ok_reply(result));
    }
    df.finish_waiters.clear();
    log()->info("dataflow {} {}", df.uuid, status_name(df.status));
    registry_.retire(df.uuid); // may forget the oldest finished ones (never `df`)
    if (shutting_down_ && registry_.active_count() == 0) {
        for (auto conn : shutdown_waiters_) {
            replier_.reply(conn, protocol::ok_reply());
        }
        shutdown_waiters_.clear();
    }
}

// ---- stop ------------------------------------------------------------------------------------

void Supervisor::begin_stop(DataflowState& df, std::chrono::milliseconds grace) {
    if (df.status == DataflowStatus::starting && !df.start_waiters.empty()) {
        // Stopped before the barrier: it will never come, so whoever waits for it (the start
        // request, the nodes that registered) gets its answer now.
        const std::string why = "dataflow " + df.uuid + " was stopped before it started";
        for (auto conn : df.start_waiters) {
            replier_.reply(conn,
                           protocol::error_reply(protocol::DaemonErrorKind::start_failed, why));
        }
        df.start_waiters.clear();
        for (auto& n : df.nodes) {
            if (!n.dynamic && n.conn) {
                replier_.reply(*n.conn,
                               protocol::error_reply(protocol::DaemonErrorKind::start_failed, why));
            }
        }
    }
    if (df.status == DataflowStatus::running || df.status == DataflowStatus::starting) {
        df.status = DataflowStatus::stopping;
    }
    df.start_deadline.reset();
    if (df.segment) {
        // Every node's Stop is set before any is woken, and before the timer outputs close: a
        // node then sees its Stop before any InputClosed (of a timer, or of a neighbour that
        // stopped faster).
        shm::Control(*df.segment).request_stop_all();
    }
    // A node waiting out its backoff ends now (no wait for it); its outputs close after every
    // Stop was set, so its downstream still sees Stop first.
    for (auto& n : df.nodes) {
        if (n.status == NodeStatus::restarting) {
            give_up_restart(df, n, "the dataflow is stopping"); // no wait for its backoff
        }
    }
    df.timers.reset(); // closes the timer outputs
    const auto term = clock_.now() + grace;
    if (!df.term_at || term < *df.term_at) {
        df.term_at = term;
        df.kill_at = term + kTermToKill;
    }
}

void Supervisor::shutdown_unguarded(std::optional<ConnId> conn, std::chrono::milliseconds grace) {
    shutting_down_ = true;
    fail_agent_starts(protocol::DaemonErrorKind::shutting_down, "the daemon is shutting down");
    if (conn) {
        shutdown_waiters_.push_back(*conn);
    }
    for (auto* df : registry_.live()) {
        df->stop_requested = true;
        begin_stop(*df, grace);
        maybe_finish(*df);
    }
    if (registry_.active_count() == 0) {
        for (auto c : shutdown_waiters_) {
            replier_.reply(c, protocol::ok_reply());
        }
        shutdown_waiters_.clear();
    }
}

// ---- deadlines -------------------------------------------------------------------------------

std::chrono::milliseconds Supervisor::tick_unguarded() {
    reap_children();
    const auto now = clock_.now();
    auto next = now + std::chrono::milliseconds(500);
    const auto agent_due = agent_deadlines(now);
    if (shutting_down_) {
        // A shutdown that an error interrupted (e.g. out of memory half-way) goes on here, so
        // that `destroy` always ends in an exit.
        for (auto* df : registry_.live()) {
            if (df->status != DataflowStatus::stopping) {
                begin_stop(*df, std::chrono::milliseconds(0));
            }
        }
        if (registry_.active_count() == 0 && !shutdown_waiters_.empty()) {
            for (auto conn : shutdown_waiters_) {
                replier_.reply(conn, protocol::ok_reply());
            }
            shutdown_waiters_.clear();
        }
    }
    std::vector<DataflowState*> live;
    for (auto& [uuid, df] : registry_.dataflows()) {
        if (is_live(*df) || df->status == DataflowStatus::failed) {
            live.push_back(df.get());
        }
    }
    if (agent_due) {
        next = std::min(next, *agent_due);
    }
    if (live.empty() && !shutting_down_ && !agent_due) {
        // Idle: nothing has a deadline, so sleep until a request or a child's exit (pidfd)
        // wakes the loop; no periodic wake-up (a board's daemon costs no CPU while idle).
        return std::chrono::milliseconds(-1);
    }
    for (auto* df : live) {
        if (df->start_deadline && now >= *df->start_deadline &&
            df->status == DataflowStatus::starting) {
            std::string missing;
            for (const auto& n : df->nodes) {
                if (!n.dynamic && !n.conn) {
                    missing += (missing.empty() ? "" : ", ") + n.id;
                }
            }
            fail_start(*df,
                       "nodes did not register within the start timeout: " + missing +
                           " (do they call zeroflow::Node::from_env()? see their logs in " +
                           protocol::run_log_dir(df->descriptor.working_dir, df->uuid).string() +
                           ")");
            continue;
        }
        if (df->status == DataflowStatus::running) {
            next = std::min(next, restart_due(*df, now));
        }
        bool lingering_gone = false;
        for (auto& n : df->nodes) {
            if (n.lingering) {
                // The node exited; what it started was killed then. Once all of it is gone
                // (reaped: we are their subreaper), the node stops counting as running.
                if (spawner_.signal_tree(identity(*df, n), SIGKILL) == 0) {
                    n.lingering = false;
                    lingering_gone = true;
                } else {
                    next = std::min(next, now + std::chrono::milliseconds(20));
                }
                continue;
            }
            if (n.pidfd < 0) {
                continue;
            }
            // The whole tree: the process group, the cgroup, setsid and double-forked children.
            if (df->kill_at && now >= *df->kill_at) {
                spawner_.signal_tree(identity(*df, n), SIGKILL);
            } else if (df->term_at && now >= *df->term_at && !n.signalled_term) {
                n.signalled_term = true;
                log()->info("node {} of dataflow {} ignored Stop: SIGTERM", n.id, df->uuid);
                spawner_.signal_tree(identity(*df, n), SIGTERM);
            }
        }
        if (lingering_gone) {
            maybe_finish(*df);
            if (!is_live(*df)) {
                continue;
            }
        }
        for (const auto& t : {df->start_deadline, df->term_at, df->kill_at}) {
            if (t && *t > now) {
                next = std::min(next, *t);
            }
        }
        if (df->kill_at && now >= *df->kill_at) {
            next = std::min(next, now + std::chrono::milliseconds(100));
        }
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(next - now) +
           std::chrono::milliseconds(1);
}

NodeIdentity Supervisor::identity(const DataflowState& df, const NodeState& n) const {
    return NodeIdentity{n.pid, df.uuid, n.id, options_.runtime_dir.string(), n.cgroup};
}

void Supervisor::reap_children() {
    // We are the subreaper of every node's tree: orphans come to us and must be reaped. A
    // node's own status is kept for on_node_exit (its pidfd fires too).
    std::vector<std::pair<std::string, std::uint32_t>> exited;
    for (const auto& [pid, status] : spawner_.reap()) {
        for (const auto& [uuid, df] : registry_.dataflows()) {
            for (const auto& n : df->nodes) {
                if (n.pid == pid && n.pidfd >= 0) {
                    reaped_[pid] = status;
                    exited.emplace_back(uuid, n.index);
                }
            }
        }
    }
    for (const auto& [uuid, index] : exited) {
        on_node_exit(uuid, index);
    }
}

void Supervisor::write_node_record(const DataflowState& df) const {
    // DIR/nodes/<uuid>: what the next daemon ends if this one dies (end_leftover_nodes).
    std::error_code ec;
    const auto dir = protocol::node_records_dir(options_.runtime_dir);
    std::filesystem::create_directories(dir, ec);
    std::ofstream out(dir / df.uuid, std::ios::trunc);
    for (const auto& n : df.nodes) {
        if (!n.dynamic && n.pid > 0) {
            out << n.pid << ' ' << n.id << ' ' << n.cgroup.string() << '\n';
        }
    }
}

void end_leftover_nodes(const std::filesystem::path& runtime_dir) {
    std::error_code ec;
    const auto dir = protocol::node_records_dir(runtime_dir);
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const auto uuid = entry.path().filename().string();
        std::ifstream in(entry.path());
        std::size_t ended = 0;
        for (std::string line; std::getline(in, line);) {
            std::istringstream fields(line);
            NodeIdentity id;
            std::string cgroup;
            fields >> id.pid >> id.node_id;
            std::getline(fields >> std::ws, cgroup);
            id.dataflow_id = uuid;
            id.runtime_dir = runtime_dir.string();
            id.cgroup = cgroup;
            // The pid may have been reused since: its group counts only if it is still ours.
            const auto env = "/proc/" + std::to_string(id.pid) + "/environ";
            std::ifstream proc(env, std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(proc)), {});
            if (text.find(std::string(protocol::kDataflowIdEnv) + "=" + uuid) ==
                std::string::npos) {
                id.pid = -1;
            }
            ended += signal_node_tree(id, SIGKILL);
            remove_cgroup(id.cgroup);
        }
        if (ended > 0) {
            log()->info("ended {} processes left by a dead daemon's dataflow {}", ended, uuid);
        }
        std::filesystem::remove(entry.path(), ec);
    }
}

} // namespace zeroflow::daemon
