// Restart policies (dora 1.0's restart_policy, max_restarts, restart_window, restart_delay):
// when a spawned node's process ends, whether it comes back, its backoff, and its re-attach.
// Part of the Supervisor; runs on the supervisor thread like the rest of it.
#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <zeroflow/shm/control.hpp>

#include "log.hpp"
#include "plan.hpp"
#include "supervisor.hpp"

namespace zeroflow::daemon {
namespace {

/// How long to wait while the senders of a replaced receiver have not acknowledged it yet.
constexpr std::chrono::milliseconds kSettlePoll{5};

const char* policy_name(dataflow::RestartPolicy p) {
    switch (p) {
    case dataflow::RestartPolicy::never:
        return "never";
    case dataflow::RestartPolicy::on_failure:
        return "on-failure";
    case dataflow::RestartPolicy::always:
        return "always";
    }
    return "never";
}

std::string format_ms(std::chrono::milliseconds d) {
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                                 : std::to_string(d.count()) + "ms";
}

/// Every input of `node` comes from an output that is closed now (dora: such a node is not
/// restarted, it would only see its inputs closed again). False for a node without inputs.
bool all_inputs_closed(const DataflowState& df, std::uint32_t node) {
    if (!df.segment) {
        return true;
    }
    bool any = false;
    for (const auto& c : df.spec.connections) {
        if (c.receiver != node) {
            continue;
        }
        any = true;
        const auto& ol = df.segment->layout().outputs[c.output];
        // Relaxed would do (statistics-grade); acquire pairs with the closers' release.
        if (df.segment->at<shm::OutputBlock>(ol.block_offset)
                .closed.load(std::memory_order_acquire) == 0) {
            return false;
        }
    }
    return any;
}

} // namespace

bool Supervisor::schedule_restart(DataflowState& df, NodeState& n) {
    const auto& policy = df.descriptor.nodes[n.index].restart;
    const int status = n.wait_status.value_or(0);
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (n.dynamic || shutting_down_ || policy.policy == dataflow::RestartPolicy::never ||
        (policy.policy == dataflow::RestartPolicy::on_failure && clean)) {
        return false;
    }
    const auto cause = describe_status(status);
    if (all_inputs_closed(df, n.index)) {
        log()->info("node {} of dataflow {} {}: not restarted, all its inputs are closed", n.id,
                    df.uuid, cause);
        return false;
    }
    const auto now = clock_.now();
    if (n.window_restarts == 0 || (policy.window && now - n.window_start > *policy.window)) {
        n.window_restarts = 0;
        n.window_start = now;
    }
    if (policy.max_restarts > 0 && n.window_restarts >= policy.max_restarts) {
        log()->warn("node {} of dataflow {} {}: it was restarted {} times{}, its limit "
                    "(max_restarts); giving up",
                    n.id, df.uuid, cause, n.window_restarts,
                    policy.window ? " within " + format_ms(*policy.window) : std::string());
        return false;
    }
    ++n.window_restarts;
    // restart_delay, doubling per restart in this window, capped at max_restart_delay.
    auto delay = policy.delay;
    for (std::uint32_t i = 1; i < n.window_restarts && delay < policy.max_delay; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, policy.max_delay);
    n.last_exit = status;
    n.wait_status.reset();
    n.status = NodeStatus::restarting;
    n.restart_at = now + delay;
    n.signalled_term = false;
    if (df.segment) {
        // Its inputs stay live and keep their queues; the senders take back only what the
        // dead process had taken (docs/design/shm.md, "When a party dies").
        shm::Control(*df.segment).replace_receiver(n.index);
    }
    log()->warn("node {} of dataflow {} {}: restarting it ({}) in {} (restart {}{})", n.id, df.uuid,
                cause, policy_name(policy.policy), format_ms(delay), n.restarts + 1,
                policy.max_restarts == 0 ? std::string()
                : policy.window          ? ", " + std::to_string(n.window_restarts) + " of " +
                                      std::to_string(policy.max_restarts) + " within " +
                                      format_ms(*policy.window)
                                : " of " + std::to_string(policy.max_restarts));
    return true;
}

Clock::time_point Supervisor::restart_due(DataflowState& df, Clock::time_point now) {
    auto next = Clock::time_point::max();
    for (auto& n : df.nodes) {
        if (n.status != NodeStatus::restarting || !n.restart_at) {
            continue;
        }
        if (now < *n.restart_at) {
            next = std::min(next, *n.restart_at);
            continue;
        }
        // The new process may attach only once every sender of a live input let go of what
        // the dead one had taken; a sender that is not running now attaches afresh later.
        bool settled = !n.lingering;
        if (settled && df.segment) {
            const shm::Control control(*df.segment);
            for (std::uint32_t c = 0; c < df.spec.connections.size() && settled; ++c) {
                const auto& cs = df.spec.connections[c];
                if (cs.receiver != n.index) {
                    continue;
                }
                const auto owner = df.spec.outputs[cs.output].owner;
                const bool sender_runs =
                    owner == shm::kDaemonOwner ||
                    (owner < df.nodes.size() && (df.nodes[owner].status == NodeStatus::running ||
                                                 df.nodes[owner].status == NodeStatus::connected));
                settled = !sender_runs || control.connection_settled(c);
            }
        }
        if (!settled) {
            next = std::min(next, now + kSettlePoll);
            continue;
        }
        n.restart_at.reset();
        read_output(n); // what the dead process wrote last goes to the log first
        close_output(n);
        if (auto failed = spawn_process(df, n)) {
            give_up_restart(df, n, "cannot start it again: " + *failed);
            maybe_finish(df);
            continue;
        }
        ++n.restarts;
        log()->info("node {} of dataflow {} restarted (pid {}, restart {})", n.id, df.uuid, n.pid,
                    n.restarts);
    }
    return next;
}

void Supervisor::give_up_restart(DataflowState& df, NodeState& n, const std::string& why) {
    log()->info("node {} of dataflow {} is not restarted: {}", n.id, df.uuid, why);
    n.restart_at.reset();
    n.status = NodeStatus::exited;
    n.wait_status = n.last_exit.value_or(0);
    if (df.segment) {
        const shm::Control control(*df.segment);
        control.close_outputs_of(n.index);   // downstream: InputClosed only now
        control.mark_receiver_dead(n.index); // upstream: reclaim what is queued for it
    }
}

Outcome<std::optional<Json>> Supervisor::register_restarted(DataflowState& df, NodeState& n,
                                                            ConnId conn) {
    // The node is ours before it hears so: whatever it asks next finds it registered.
    n.conn = conn;
    n.status = NodeStatus::running;
    registry_.bind_node(conn, df.uuid, n.index);
    if (!replier_.reply_with_fd(conn, protocol::ok_reply(wire::to_json(plan_node_setup(df, n))),
                                df.segment->fd())) {
        registry_.unbind(conn);
        n.conn.reset();
        n.status = NodeStatus::pending;
        return std::unexpected(RequestError{protocol::DaemonErrorKind::resource_limit,
                                            std::string("cannot pass the segment: ") +
                                                std::strerror(errno) + " (limit open_files)"});
    }
    log()->info("node {} of dataflow {} registered again after its restart", n.id, df.uuid);
    return std::optional<Json>{};
}

} // namespace zeroflow::daemon
