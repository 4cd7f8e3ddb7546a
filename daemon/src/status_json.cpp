// Status JSON (status_json.hpp): what `list`, `wait`, `stop` and `stats` answer about a
// dataflow, read from the daemon's records and the segment's control area.
#include "status_json.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/shm/control.hpp>

#include "process.hpp"
#include "registry.hpp"

namespace zeroflow::daemon {
namespace {

/// Resident memory and CPU time of a process from /proc (for `top`); zeros when it is gone.
Json process_usage(pid_t pid) {
    Json j{{"rss_bytes", 0}, {"cpu_ns", 0}};
    if (pid <= 0) {
        return j;
    }
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    if (statm >> size >> resident) {
        j["rss_bytes"] = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const auto close = text.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(text.substr(close + 2));
        std::string field;
        std::uint64_t utime = 0;
        std::uint64_t stime = 0;
        for (int i = 3; fields >> field; ++i) {
            if (i == 14) {
                utime = std::strtoull(field.c_str(), nullptr, 10);
            } else if (i == 15) {
                stime = std::strtoull(field.c_str(), nullptr, 10);
                break;
            }
        }
        const auto tick = static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
        j["cpu_ns"] = (utime + stime) * (1'000'000'000ULL / (tick > 0 ? tick : 100));
    }
    return j;
}

} // namespace

Json input_counts(const DataflowState& df, const NodeState& n) {
    if (!df.segment) {
        return n.inputs_at_end;
    }
    const shm::Control control(*df.segment);
    Json inputs = Json::array();
    for (std::uint32_t c = 0; c < df.spec.connections.size(); ++c) {
        const auto& connection = df.spec.connections[c];
        if (connection.receiver != n.index) {
            continue;
        }
        const auto counts = control.connection_counts(c);
        inputs.push_back(Json{{"id", connection.input},
                              {"from", df.spec.outputs[connection.output].name},
                              {"received", counts.received},
                              {"taken", counts.taken},
                              {"dropped", counts.dropped},
                              {"asked", counts.asked}});
    }
    return inputs;
}

Json describe(const DataflowState& df, Clock::time_point now) {
    Json nodes = Json::array();
    std::size_t running = 0;
    std::size_t spawned = 0;
    std::vector<std::string> failed;
    for (const auto& n : df.nodes) {
        Json j{{"id", n.id}, {"status", node_status_name(n)}, {"dynamic", n.dynamic}};
        if (!n.dynamic) {
            ++spawned;
            if (n.status == NodeStatus::running || n.status == NodeStatus::pending ||
                n.status == NodeStatus::restarting || n.lingering) {
                ++running;
            }
        }
        if (n.lingering) {
            j["descendants_running"] = true;
        }
        if (auto inputs = input_counts(df, n); !inputs.empty()) {
            j["inputs"] = std::move(inputs);
        }
        if (n.pid > 0) {
            j["pid"] = n.pid;
        }
        if (!n.dynamic) {
            j["restarts"] = n.restarts;
            if (const auto last = n.wait_status ? n.wait_status : n.last_exit) {
                Json exit{{"result", describe_status(*last)}};
                if (WIFEXITED(*last)) {
                    exit["exit_code"] = WEXITSTATUS(*last);
                } else if (WIFSIGNALED(*last)) {
                    exit["signal"] = WTERMSIG(*last);
                }
                j["last_exit"] = std::move(exit);
            }
        }
        if (n.wait_status) {
            const int s = *n.wait_status;
            if (WIFEXITED(s)) {
                j["exit_code"] = WEXITSTATUS(s);
            } else if (WIFSIGNALED(s)) {
                j["signal"] = WTERMSIG(s);
            }
            j["result"] = describe_status(s);
            j["last_stderr"] = n.last_stderr;
            j["stopped_by_daemon"] = n.signalled_term; // SIGTERM/SIGKILL after Stop's grace
            if (!node_ok(n)) {
                failed.push_back(n.id);
            }
        }
        nodes.push_back(std::move(j));
    }
    const auto uptime = is_live(df)
                            ? std::chrono::duration_cast<std::chrono::seconds>(now - df.started_at)
                            : df.uptime_at_end;
    Json j{{"uuid", df.uuid},
           {"name", df.name},
           {"status", status_name(df.status)},
           {"path", df.descriptor.file.string()},
           {"nodes_running", running},
           {"nodes_total", spawned},
           {"uptime_s", uptime.count()},
           {"nodes", nodes},
           {"failed_nodes", failed},
           {"success", df.status == DataflowStatus::finished && failed.empty()}};
    if (!df.failure.empty()) {
        j["failure"] = df.failure;
    }
    if (df.stop_requested) { // ended by `stop` (or the daemon's shutdown), not by its nodes
        j["stop_requested"] = true;
    }
    if (!df.remote_machines.empty()) { // a part of a dataflow across machines (remote_parts)
        std::vector<std::string> spans;
        if (!df.machine.empty()) {
            spans.push_back(df.machine);
            j["machine"] = df.machine;
        }
        Json machines = Json::array();
        Json remote_nodes = Json::array();
        for (const auto& m : df.remote_machines) {
            spans.push_back(m.machine);
            const auto state = std::string(protocol::to_string(m.state));
            machines.push_back(Json{{"machine", m.machine}, {"state", state}, {"nodes", m.nodes}});
            for (const auto& id : m.nodes) {
                remote_nodes.push_back(Json{{"id", id}, {"machine", m.machine}, {"state", state}});
            }
        }
        std::sort(spans.begin(), spans.end());
        for (auto& n : j["nodes"]) {
            const auto id = n.at("id").get<std::string>();
            if (std::find(df.stand_ins.begin(), df.stand_ins.end(), id) != df.stand_ins.end()) {
                if (const auto* m = remote_machine_of(df, id)) {
                    n["stand_in_for"] = m->machine;
                }
            }
        }
        j["spans_machines"] = spans;
        j["remote_machines"] = std::move(machines);
        j["remote_nodes"] = std::move(remote_nodes);
    }
    return j;
}

Json stats_json(const DataflowState& df) {
    Json nodes = Json::array();
    for (const auto& n : df.nodes) {
        Json j{{"id", n.id},
               {"status", node_status_name(n)},
               {"dynamic", n.dynamic},
               {"restarts", n.restarts}};
        if (n.pid > 0 && n.pidfd >= 0) {
            j["pid"] = n.pid;
            j.update(process_usage(n.pid));
        } else {
            j.update(process_usage(-1));
        }
        nodes.push_back(std::move(j));
    }
    Json outputs = Json::array();
    Json inputs = Json::array();
    if (df.segment) {
        const auto& layout = df.segment->layout();
        const shm::Control control(*df.segment);
        for (std::uint32_t o = 0; o < layout.outputs.size(); ++o) {
            const auto& ol = layout.outputs[o];
            const auto& block = df.segment->at<shm::OutputBlock>(ol.block_offset);
            std::uint32_t receivers = 0;
            std::uint32_t observers = 0;
            for (auto c : ol.connections) {
                const auto& cb =
                    df.segment->at<shm::ConnectionBlock>(layout.connections[c].block_offset);
                const bool live =
                    (cb.state.load(std::memory_order_relaxed) & shm::kConnectionDead) == 0;
                if (layout.connections[c].receiver < df.nodes.size()) {
                    ++receivers;
                } else if (live) {
                    ++observers;
                }
            }
            // Relaxed loads: statistics the sender publishes (hints, never followed).
            outputs.push_back({{"name", ol.name},
                               {"timer", ol.owner == shm::kDaemonOwner},
                               {"node", ol.owner == shm::kDaemonOwner ? "" : df.nodes[ol.owner].id},
                               {"sent", block.sent.load(std::memory_order_relaxed)},
                               {"bytes", block.bytes.load(std::memory_order_relaxed)},
                               {"free_chunks", block.free_chunks.load(std::memory_order_relaxed)},
                               {"chunks", ol.total_chunks},
                               {"max_message_size", ol.max_message_size},
                               {"closed", block.closed.load(std::memory_order_relaxed) != 0},
                               {"receivers", receivers},
                               {"observers", observers}});
        }
        for (std::uint32_t c = 0; c < layout.connections.size(); ++c) {
            const auto& cl = layout.connections[c];
            if (cl.receiver >= df.nodes.size()) {
                continue; // an observer tap
            }
            const auto& cb = df.segment->at<shm::ConnectionBlock>(cl.block_offset);
            const auto pushed = cb.submit_head.load(std::memory_order_relaxed);
            const auto returned = cb.return_head.load(std::memory_order_relaxed);
            const auto held = cb.held.load(std::memory_order_relaxed);
            const auto queued = control.queued(c);
            // What was pushed and is neither queued, held nor returned was evicted: dropped.
            // Estimated from the rings (the receiver counts its own drops privately).
            const auto accounted = returned + held + queued;
            inputs.push_back({{"node", df.nodes[cl.receiver].id},
                              {"input", cl.input},
                              {"source", layout.outputs[cl.output].name},
                              {"queue_size", cl.queue_size},
                              {"queued", queued},
                              {"delivered", returned + held},
                              {"dropped", pushed > accounted ? pushed - accounted : 0}});
        }
    }
    Json taps = Json::array();
    for (const auto& tap : df.taps) {
        taps.push_back({{"attached", tap.conn.has_value()}, {"outputs", tap.connections.size()}});
    }
    return Json{{"uuid", df.uuid},
                {"name", df.name},
                {"status", status_name(df.status)},
                {"monotonic_ns", shm::monotonic_ns()},
                {"nodes", nodes},
                {"outputs", outputs},
                {"inputs", inputs},
                {"taps", taps}};
}

} // namespace zeroflow::daemon
