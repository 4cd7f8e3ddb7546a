// The request handlers: dispatch by `op`, then per request first resolve what it names through
// the registry (a value or a typed error), then act; exceptions become `internal` replies.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <zeroflow/protocol/machine_agent.hpp>
#include <zeroflow/runtime/wire.hpp>
#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/sender.hpp>

#include "log.hpp"
#include "plan.hpp"
#include "retention.hpp"
#include "status_json.hpp"
#include "supervisor.hpp"

namespace zeroflow::daemon {
namespace {

/// The daemon's `send_stdout_as` senders acknowledge dead inputs only when they run: before
/// a connection is reused, let them.
void maintain_line_senders(DataflowState& df) {
    for (auto& n : df.nodes) {
        if (n.lines) {
            n.lines->maintain();
        }
    }
}

/// Per node index: 1 for a dynamic node with no process connected now. Its outputs' next
/// process re-attaches quarantined (docs/design/shm.md, "When a party dies"), so a receiver's
/// reclaim must not wait for it: it acknowledges nothing until it comes back, maybe never.
std::vector<std::uint8_t> senders_gone(const DataflowState& df) {
    std::vector<std::uint8_t> gone(df.nodes.size(), 0);
    for (const auto& n : df.nodes) {
        if (n.dynamic && !n.conn && n.index < gone.size()) {
            gone[n.index] = 1;
        }
    }
    return gone;
}

} // namespace

void Supervisor::handle(ConnId conn, const Json& request) noexcept {
    try {
        auto op = protocol::get_op(request);
        if (!op) {
            replier_.reply(conn, protocol::error_reply(op.error()));
            return;
        }
        static const std::map<std::string, Handler, std::less<>> kHandlers = {
            {"start", &Supervisor::handle_start},
            {"register", &Supervisor::handle_register},
            {"connect_dynamic", &Supervisor::handle_connect_dynamic},
            {"stop", &Supervisor::handle_stop},
            {"wait", &Supervisor::handle_wait},
            {"list", &Supervisor::handle_list},
            {"logs", &Supervisor::handle_logs},
            {"log_text", &Supervisor::handle_log_text},
            {"destroy", &Supervisor::handle_destroy},
            {"ping", &Supervisor::handle_ping},
            {"attach_tap", &Supervisor::handle_attach_tap},
            {"stats", &Supervisor::handle_stats},
            {std::string(protocol::kRemotePartsOp), &Supervisor::handle_remote_parts},
            {std::string(protocol::kMachineAgentOp), &Supervisor::handle_machine_agent},
            {std::string(protocol::kMachineAgentResultOp),
             &Supervisor::handle_machine_agent_result},
            {std::string(protocol::kForwardOp), &Supervisor::handle_forward},
        };
        const auto it = kHandlers.find(*op);
        if (it == kHandlers.end()) {
            replier_.reply(conn,
                           protocol::error_reply(protocol::DaemonErrorKind::unknown_op,
                                                 "unknown request '" + *op +
                                                     "'; this daemon speaks protocol version " +
                                                     std::to_string(protocol::kProtocolVersion)));
            return;
        }
        auto outcome = (this->*(it->second))(conn, request);
        if (!outcome) {
            log()->debug("request '{}' refused: {}: {}", *op,
                         protocol::to_string(outcome.error().kind), outcome.error().message);
            replier_.reply(conn, error_reply(outcome.error()));
            if (outcome.error().kind == protocol::DaemonErrorKind::protocol_mismatch) {
                replier_.close_connection(conn); // docs/protocol.md: closed after the reply
            }
        } else if (*outcome) {
            replier_.reply(conn, protocol::ok_reply(std::move(**outcome)));
        }
    } catch (const std::bad_alloc&) {
        // Nothing here may need the memory that just ran out: the reply is encoded already,
        // the counter is a plain integer, and the log line is best effort.
        ++out_of_memory_errors_;
        replier_.reply_encoded(conn, out_of_memory_frame_);
        ::malloc_trim(0);
        try {
            log()->error("out of memory handling a request: answered out_of_memory");
        } catch (...) {
        }
    } catch (const std::exception& e) {
        ++internal_errors_;
        try {
            log()->error("internal error handling a request: {}", e.what());
            replier_.reply(conn, protocol::error_reply(protocol::DaemonErrorKind::internal,
                                                       std::string("internal error: ") + e.what()));
        } catch (...) {
            replier_.reply_encoded(conn, out_of_memory_frame_);
        }
    } catch (...) {
        ++internal_errors_;
        try {
            log()->error("internal error handling a request (unknown exception)");
            replier_.reply(
                conn, protocol::error_reply(protocol::DaemonErrorKind::internal, "internal error"));
        } catch (...) {
            replier_.reply_encoded(conn, out_of_memory_frame_);
        }
    }
}

// ---- start ---------------------------------------------------------------------------------

Outcome<std::optional<Json>> Supervisor::handle_start(ConnId conn, const Json& req) {
    if (shutting_down_) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::shutting_down, "the daemon is shutting down"});
    }
    auto path = protocol::get_string(req, "path");
    auto name = protocol::get_optional_string(req, "name");
    auto timeout = protocol::get_optional_number(req, "start_timeout_s");
    if (!path) {
        return std::unexpected(bad_request(path.error()));
    }
    if (!name) {
        return std::unexpected(bad_request(name.error()));
    }
    if (!timeout) {
        return std::unexpected(bad_request(timeout.error()));
    }
    if (*timeout && (**timeout <= 0 || **timeout > 86400)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "start_timeout_s must be in (0, 86400]"});
    }
    if (*name) {
        if ((*name)->empty() || (*name)->size() > 128) {
            return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                                "a dataflow name must be 1..128 characters"});
        }
        if (const auto* taken = registry_.live_named(**name)) {
            return std::unexpected(RequestError{protocol::DaemonErrorKind::name_taken,
                                                "a running dataflow is already named '" + **name +
                                                    "' (" + taken->uuid + ")"});
        }
    }
    const auto& limits = options_.limits;
    if (registry_.active_count() >= limits.max_dataflows) {
        return std::unexpected(
            limit_error("max_dataflows", limits.max_dataflows,
                        std::to_string(registry_.active_count()) + " dataflows are live already"));
    }
    // parse_file reads regular files only (a FIFO would block this thread, /dev/zero would
    // never end) and bounds the file's size and its YAML expansion.
    auto parsed = dataflow::parse_file(
        *path, dataflow::ParseLimits{limits.max_descriptor_bytes, limits.max_yaml_nodes});
    if (!parsed.ok()) {
        auto text = parsed.format();
        while (!text.empty() && text.back() == '\n') {
            text.pop_back();
        }
        if (parsed.limit) {
            return std::unexpected(RequestError{protocol::DaemonErrorKind::resource_limit, text,
                                                parsed.limit->name, parsed.limit->value});
        }
        if (parsed.out_of_memory) {
            parsed = {};
            ::malloc_trim(0); // hand what the parser took back, for the next requests
            ++out_of_memory_errors_;
            return std::unexpected(RequestError{protocol::DaemonErrorKind::out_of_memory, text});
        }
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_dataflow, text});
    }
    // Nodes placed on machines (`deploy: {machine: M}`): this daemon runs the nodes of its own
    // machine (--machine-id) and of none. A dataflow that places nodes on other machines goes
    // to the machine agent, which starts every machine's part over DDS and answers with this
    // machine's part (docs/design/machines.md); without a machine id it cannot be started here.
    std::string elsewhere;
    for (const auto& machine : parsed.descriptor->machines()) {
        if (machine == options_.machine_id) {
            continue;
        }
        std::string nodes;
        for (const auto& node : parsed.descriptor->nodes) {
            if (node.machine == machine) {
                nodes += (nodes.empty() ? "" : ", ") + node.id;
            }
        }
        elsewhere +=
            (elsewhere.empty() ? "" : "; ") + ("machine '" + machine + "' (nodes " + nodes + ")");
    }
    if (elsewhere.empty()) { // every node runs here: what the parse left to this machine
        if (auto missing = parsed.descriptor->missing_working_dirs(); !missing.empty()) {
            missing.pop_back();
            return std::unexpected(
                RequestError{protocol::DaemonErrorKind::bad_dataflow, *path + ": " + missing});
        }
    }
    if (!elsewhere.empty()) {
        if (options_.machine_id.empty()) {
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::start_failed,
                "the dataflow places nodes on other machines: " + elsewhere +
                    "; this daemon has no machine id, so it cannot start a dataflow across "
                    "machines: run it as zeroflow daemon --machine-id NAME (docs/dataflow.md)"});
        }
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(*path, ec);
        hand_to_agent(
            conn, "start",
            Json{{"path", ec ? *path : absolute.string()},
                 {"name", name->has_value() ? Json(**name) : Json(nullptr)},
                 {"start_timeout_s", timeout->has_value() ? Json(**timeout) : Json(nullptr)}});
        return std::nullopt; // answered when the agent reports (machine_agent.cpp)
    }
    if (parsed.descriptor->nodes.size() > limits.max_nodes) {
        return std::unexpected(limit_error(
            "max_nodes", limits.max_nodes,
            "the dataflow has " + std::to_string(parsed.descriptor->nodes.size()) + " nodes"));
    }
    auto df = std::make_unique<DataflowState>();
    const auto uuid = wire::random_uuid();
    df->uuid = wire::to_string(uuid);
    df->name = name->value_or("");
    df->generation = next_generation_++;
    df->descriptor = std::move(*parsed.descriptor);
    df->spec = build_spec(df->descriptor, uuid, df->generation, df->timer_outputs);
    if (df->spec.connections.size() > limits.max_inputs) {
        return std::unexpected(limit_error(
            "max_inputs", limits.max_inputs,
            "the dataflow has " + std::to_string(df->spec.connections.size()) + " inputs"));
    }
    if (df->timer_outputs.size() > limits.max_timers) {
        return std::unexpected(limit_error(
            "max_timers", limits.max_timers,
            "the dataflow has " + std::to_string(df->timer_outputs.size()) + " distinct timers"));
    }
    df->taps = add_taps(df->spec, limits.taps_per_output);
    {
        auto layout = shm::compute_layout(df->spec);
        if (!layout) {
            return std::unexpected(
                RequestError{protocol::DaemonErrorKind::shared_memory, layout.error().message});
        }
        if (layout->total_size > limits.max_segment_bytes) {
            return std::unexpected(limit_error(
                "max_segment_bytes", limits.max_segment_bytes,
                "the dataflow's segment would be " + std::to_string(layout->total_size) +
                    " bytes; lower max_message_size, chunks or queue_size (shm: section)"));
        }
        std::uint64_t live_bytes = 0;
        for (const auto* other : registry_.live()) {
            if (other->segment) {
                live_bytes += other->segment->layout().total_size;
            }
        }
        if (live_bytes + layout->total_size > limits.max_total_segment_bytes) {
            return std::unexpected(limit_error(
                "max_total_segment_bytes", limits.max_total_segment_bytes,
                "live segments take " + std::to_string(live_bytes) + " bytes, this one would add " +
                    std::to_string(layout->total_size)));
        }
    }
    df->started_at = clock_.now();
    df->start_deadline =
        df->started_at +
        std::chrono::milliseconds(static_cast<std::int64_t>(timeout->value_or(60.0) * 1000));
    // The daemon maps the control area and its timer pools only: pool sizes cost it nothing.
    // A `send_stdout_as` output is sent by the daemon, so then it maps the whole segment
    // (address space only: it touches no pool but those outputs').
    const bool sends_lines =
        std::any_of(df->descriptor.nodes.begin(), df->descriptor.nodes.end(),
                    [](const dataflow::Node& node) { return node.send_stdout_as.has_value(); });
    auto segment =
        shm::Segment::create(df->spec, sends_lines ? shm::Mapping::whole : shm::Mapping::daemon);
    if (!segment) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::shared_memory, segment.error().message});
    }
    df->segment = std::make_unique<shm::Segment>(std::move(*segment));
    df->node_setup_template = wire::to_json(df->spec);
    const shm::Control control(*df->segment);

    const auto out_dir = protocol::run_log_dir(df->descriptor.working_dir, df->uuid);
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::io_error,
                         "cannot create the log folder " + out_dir.string() + ": " + ec.message()});
    }
    // So that `zeroflow logs` finds them after this daemon forgot the dataflow (or is gone).
    protocol::write_dataflow_record(options_.runtime_dir, {df->uuid, df->name, out_dir});
    std::set<std::string> live_runs{df->uuid};
    for (const auto* other : registry_.live()) {
        live_runs.insert(other->uuid);
    }
    prune_runs(out_dir.parent_path(), options_.keep_runs, live_runs, options_.runtime_dir);
    auto* state = &registry_.add(std::move(df));
    for (std::uint32_t i = 0; i < state->descriptor.nodes.size(); ++i) {
        const auto& node = state->descriptor.nodes[i];
        NodeState ns;
        ns.id = node.id;
        ns.index = i;
        ns.dynamic = node.dynamic;
        ns.log_file = protocol::node_log_path(out_dir, node.id);
        ns.max_log_size = node.max_log_size.value_or(dataflow::kDefaultMaxLogSize);
        if (node.send_stdout_as) {
            const auto output = node.id + "/" + *node.send_stdout_as;
            for (std::uint32_t o = 0; o < state->spec.outputs.size(); ++o) {
                if (state->spec.outputs[o].name == output) {
                    auto sender = shm::OutputSender::attach(*state->segment, o);
                    if (!sender) {
                        state->start_waiters.push_back(conn);
                        fail_start(*state, "cannot send the output lines of node '" + node.id +
                                               "' as " + output + ": " + sender.error().message);
                        return std::optional<Json>{};
                    }
                    ns.lines = std::make_shared<LineSender>(std::move(*sender));
                }
            }
        }
        state->nodes.push_back(ns);
    }
    for (const auto& tap : state->taps) {
        control.start_detached(tap.node); // no observer yet: senders skip its connections
    }
    for (auto& ns : state->nodes) {
        if (ns.dynamic) {
            ns.status = NodeStatus::waiting_dynamic;
            control.start_detached(ns.index);
            continue;
        }
        if (auto failed = spawn_process(*state, ns)) {
            state->start_waiters.push_back(conn);
            fail_start(*state, *failed);
            return std::optional<Json>{};
        }
    }
    log()->info("dataflow {} ({}) starting: {} nodes", state->uuid, state->descriptor.file.string(),
                state->nodes.size());
    state->start_waiters.push_back(conn);
    if (std::none_of(state->nodes.begin(), state->nodes.end(),
                     [](const NodeState& n) { return !n.dynamic; })) {
        barrier_reached(*state); // only dynamic nodes: nothing to wait for
    }
    return std::optional<Json>{};
}

// ---- register / connect_dynamic --------------------------------------------------------------

Outcome<std::optional<Json>> Supervisor::handle_register(ConnId conn, const Json& req) {
    if (auto v = protocol::check_protocol_version(req); !v) {
        return std::unexpected(bad_request(v.error()));
    }
    auto uuid = protocol::get_string(req, "dataflow_id");
    auto node_id = protocol::get_string(req, "node_id");
    if (!uuid || !node_id) {
        return std::unexpected(bad_request(!uuid ? uuid.error() : node_id.error()));
    }
    if (registry_.is_node(conn)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "this connection is already a node"});
    }
    auto df = registry_.find_dataflow(*uuid, true);
    if (!df) {
        return std::unexpected(df.error());
    }
    auto node = Registry::find_node(**df, *node_id);
    if (!node) {
        return std::unexpected(node.error());
    }
    auto& n = **node;
    if (n.dynamic) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::node_is_dynamic,
                         "node '" + n.id + "' is dynamic: connect it with Node::connect_dynamic"});
    }
    if ((*df)->status == DataflowStatus::stopping && !n.conn) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::dataflow_stopping,
                                            "dataflow " + (*df)->uuid + " is stopping"});
    }
    if (n.restarts > 0 && !n.conn && n.status == NodeStatus::pending &&
        (*df)->status == DataflowStatus::running) {
        return register_restarted(**df, n, conn);
    }
    if (n.conn || n.status != NodeStatus::pending || (*df)->status != DataflowStatus::starting) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::node_already_connected,
                                            "node '" + n.id + "' of dataflow " + (*df)->uuid +
                                                " is already registered"});
    }
    n.conn = conn;
    registry_.bind_node(conn, (*df)->uuid, n.index);
    const bool all = std::all_of((*df)->nodes.begin(), (*df)->nodes.end(), [](const NodeState& s) {
        return s.dynamic || s.conn.has_value();
    });
    if (all) {
        barrier_reached(**df);
    }
    return std::optional<Json>{}; // answered at the barrier
}

Outcome<std::optional<Json>> Supervisor::handle_connect_dynamic(ConnId conn, const Json& req) {
    if (auto v = protocol::check_protocol_version(req); !v) {
        return std::unexpected(bad_request(v.error()));
    }
    auto node_id = protocol::get_string(req, "node_id");
    auto key = protocol::get_optional_string(req, "dataflow");
    if (!node_id || !key) {
        return std::unexpected(bad_request(!node_id ? node_id.error() : key.error()));
    }
    if (registry_.is_node(conn)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "this connection is already a node"});
    }
    DataflowState* target = nullptr;
    if (*key && !(*key)->empty()) {
        auto df = registry_.find_dataflow(**key, true);
        if (!df) {
            return std::unexpected(df.error());
        }
        target = *df;
    } else {
        std::vector<DataflowState*> dynamic_matches;
        DataflowState* static_match = nullptr;
        for (auto* df : registry_.live()) {
            for (const auto& n : df->nodes) {
                if (n.id != *node_id) {
                    continue;
                }
                if (n.dynamic) {
                    dynamic_matches.push_back(df);
                } else {
                    static_match = df;
                }
            }
        }
        if (dynamic_matches.size() > 1) {
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::ambiguous_node,
                "several running dataflows have a dynamic node '" + *node_id + "'; pick one with " +
                    protocol::kDataflowEnv + "=<uuid or name>:" + list_dataflows(dynamic_matches)});
        }
        if (dynamic_matches.empty()) {
            if (static_match != nullptr) {
                target = static_match;
            } else {
                for (const auto* df : registry_.live()) {
                    if (const auto* machine = remote_machine_of(*df, *node_id)) {
                        return std::unexpected(remote_node_error(*df, *machine, *node_id));
                    }
                }
                return std::unexpected(
                    RequestError{protocol::DaemonErrorKind::no_such_node,
                                 "no running dataflow has a node '" + *node_id + "'"});
            }
        } else {
            target = dynamic_matches.front();
        }
    }
    if (const auto* machine = remote_machine_of(*target, *node_id)) {
        return std::unexpected(remote_node_error(*target, *machine, *node_id));
    }
    auto node = Registry::find_node(*target, *node_id);
    if (!node) {
        return std::unexpected(node.error());
    }
    auto& n = **node;
    if (!n.dynamic) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::node_not_dynamic,
                         "node '" + n.id + "' of dataflow " + target->uuid +
                             " is not dynamic: the daemon starts it (path: " +
                             target->descriptor.nodes[n.index].executable.string() + ")"});
    }
    if (n.conn) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::node_already_connected,
                                            "dynamic node '" + n.id + "' of dataflow " +
                                                target->uuid + " is already connected"});
    }
    if (target->status != DataflowStatus::running && target->status != DataflowStatus::starting) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::dataflow_stopping,
                                            "dataflow " + target->uuid + " is stopping"});
    }
    const auto dynamic_connected = registry_.dynamic_connected();
    if (dynamic_connected >= options_.limits.max_dynamic_connections) {
        return std::unexpected(limit_error(
            "max_dynamic_connections", options_.limits.max_dynamic_connections,
            std::to_string(dynamic_connected) + " dynamic nodes are connected already"));
    }
    const shm::Control control(*target->segment);
    maintain_line_senders(*target);
    if (!control.receiver_reclaimed(n.index, senders_gone(*target))) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::busy,
                         "the previous connection of node '" + n.id +
                             "' is still being cleaned up by its senders (a sender node takes "
                             "back what it held at its next send, loan or next(); one that is "
                             "connected but calls none of these holds it up); try again in a "
                             "moment"});
    }
    auto setup = protocol::ok_reply(wire::to_json(plan_node_setup(*target, n)));
    control.revive_receiver(n.index);
    // The node is ours before it hears so: whatever it asks next finds it connected.
    n.conn = conn;
    n.status = NodeStatus::connected;
    registry_.bind_node(conn, target->uuid, n.index);
    if (!replier_.reply_with_fd(conn, setup, target->segment->fd())) {
        registry_.unbind(conn);
        n.conn.reset();
        n.status = NodeStatus::waiting_dynamic;
        control.mark_receiver_dead(n.index);
        return std::unexpected(RequestError{protocol::DaemonErrorKind::resource_limit,
                                            std::string("cannot pass the segment: ") +
                                                std::strerror(errno) + " (limit open_files)"});
    }
    log()->info("dynamic node {} of dataflow {} connected", n.id, target->uuid);
    return std::optional<Json>{};
}

void Supervisor::on_disconnect_unguarded(ConnId conn) {
    agent_disconnected(conn);
    if (const auto tap = registry_.tap_of(conn)) {
        registry_.unbind(conn);
        auto* df = registry_.get(tap->uuid);
        if (df != nullptr && tap->index < df->taps.size()) {
            auto& state = df->taps[tap->index];
            state.conn.reset();
            state.connections.clear();
            if (df->segment) {
                // Detached, killed or frozen-then-killed alike: senders reclaim what it held.
                shm::Control(*df->segment).mark_receiver_dead(state.node);
            }
        }
        return;
    }
    const auto node = registry_.node_of(conn);
    if (!node) {
        return;
    }
    registry_.unbind(conn);
    auto* df = registry_.get(node->uuid);
    if (df == nullptr) {
        return;
    }
    auto& n = df->nodes[node->index];
    if (n.conn != conn) {
        return;
    }
    n.conn.reset();
    if (n.dynamic && df->segment) {
        n.status = NodeStatus::waiting_dynamic;
        // Its inputs are dead until it reconnects: senders reclaim what it held.
        shm::Control(*df->segment).mark_receiver_dead(node->index);
        log()->info("dynamic node {} of dataflow {} disconnected", n.id, node->uuid);
    }
}

// ---- stop / wait / destroy -------------------------------------------------------------------

Outcome<std::optional<Json>> Supervisor::handle_stop(ConnId conn, const Json& req) {
    auto key = protocol::get_optional_string(req, "dataflow");
    auto grace = protocol::get_optional_number(req, "grace_s");
    if (!key || !grace) {
        return std::unexpected(bad_request(!key ? key.error() : grace.error()));
    }
    if (*grace && (**grace < 0 || **grace > 3600)) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::bad_request, "grace_s must be in [0, 3600]"});
    }
    auto df = *key ? registry_.find_dataflow(**key, true) : registry_.find_only_running();
    if (!df) {
        return std::unexpected(df.error());
    }
    (*df)->finish_waiters.push_back(conn);
    (*df)->stop_requested = true;
    begin_stop(**df,
               std::chrono::milliseconds(static_cast<std::int64_t>(grace->value_or(10.0) * 1000)));
    maybe_finish(**df);
    return std::optional<Json>{};
}

Outcome<std::optional<Json>> Supervisor::handle_wait(ConnId conn, const Json& req) {
    auto key = protocol::get_string(req, "dataflow");
    if (!key) {
        return std::unexpected(bad_request(key.error()));
    }
    auto df = registry_.find_dataflow(*key, false);
    if (!df) {
        return std::unexpected(df.error());
    }
    if (!is_live(**df)) {
        return std::optional<Json>{describe(**df, clock_.now())};
    }
    (*df)->finish_waiters.push_back(conn);
    return std::optional<Json>{};
}

Outcome<std::optional<Json>> Supervisor::handle_destroy(ConnId conn, const Json& req) {
    auto grace = protocol::get_optional_number(req, "grace_s");
    if (!grace) {
        return std::unexpected(bad_request(grace.error()));
    }
    shutdown(conn,
             std::chrono::milliseconds(static_cast<std::int64_t>(grace->value_or(10.0) * 1000)));
    return std::optional<Json>{};
}

// ---- list / logs / ping ----------------------------------------------------------------------

Outcome<std::optional<Json>> Supervisor::handle_list(ConnId, const Json&) {
    Json list = Json::array();
    for (const auto& [uuid, df] : registry_.dataflows()) {
        list.push_back(describe(*df, clock_.now()));
    }
    return std::optional<Json>{Json{{"dataflows", list}}};
}

Outcome<std::pair<DataflowState*, NodeState*>> Supervisor::logged_node(const Json& req) {
    auto key = protocol::get_string(req, "dataflow");
    auto node_id = protocol::get_string(req, "node");
    if (!key || !node_id) {
        return std::unexpected(bad_request(!key ? key.error() : node_id.error()));
    }
    auto df = registry_.find_dataflow(*key, false);
    if (!df) {
        return std::unexpected(df.error());
    }
    if (const auto* machine = remote_machine_of(**df, *node_id)) {
        return std::unexpected(remote_node_error(**df, *machine, *node_id));
    }
    auto node = Registry::find_node(**df, *node_id);
    if (!node) {
        return std::unexpected(node.error());
    }
    return std::make_pair(*df, *node);
}

Outcome<std::optional<Json>> Supervisor::handle_logs(ConnId, const Json& req) {
    const auto found = logged_node(req);
    if (!found) {
        return std::unexpected(found.error());
    }
    const auto& [df, node] = *found;
    return std::optional<Json>{Json{
        {"path", node->log_file.string()}, {"running", is_live(*df)}, {"dynamic", node->dynamic}}};
}

Outcome<std::optional<Json>> Supervisor::handle_log_text(ConnId, const Json& req) {
    // A node's log as text, from `offset` on (at most 1 MiB per request): what `zeroflow logs`
    // reads of a node on another machine, through `forward` (it cannot open this file there).
    auto offset = protocol::get_optional_uint(req, "offset");
    if (!offset) {
        return std::unexpected(bad_request(offset.error()));
    }
    const auto found = logged_node(req);
    if (!found) {
        return std::unexpected(found.error());
    }
    const auto& [df, node] = *found;
    constexpr std::uint64_t kMaxChunk = 1U << 20;
    std::ifstream in(node->log_file, std::ios::binary);
    in.seekg(0, std::ios::end);
    const auto size = in ? static_cast<std::uint64_t>(in.tellg()) : 0;
    // A log that was rotated (max_log_size) is shorter than where the reader was: from its start.
    auto from = offset->value_or(0);
    if (from > size) {
        from = 0;
    }
    std::string text(static_cast<std::size_t>(std::min(size - from, kMaxChunk)), '\0');
    in.seekg(static_cast<std::streamoff>(from));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    // (Bytes that are not UTF-8 become U+FFFD in the reply's frame: frame.cpp.)
    return std::optional<Json>{
        Json{{"text", text}, {"offset", from + text.size()}, {"running", is_live(*df)}}};
}

Outcome<std::optional<Json>> Supervisor::handle_ping(ConnId, const Json&) {
    return std::optional<Json>{Json{{"pid", ::getpid()},
                                    {"protocol_version", protocol::kProtocolVersion},
                                    {"runtime_dir", options_.runtime_dir.string()},
                                    {"internal_errors", internal_errors_},
                                    {"out_of_memory_errors", out_of_memory_errors_}}};
}

// ---- observers: attach_tap / stats -----------------------------------------------------------

Outcome<DataflowState*> Supervisor::find_named_or_only(const Json& req) {
    auto key = protocol::get_optional_string(req, "dataflow");
    if (!key) {
        return std::unexpected(bad_request(key.error()));
    }
    if (*key && !(*key)->empty()) {
        return registry_.find_dataflow(**key, true);
    }
    return registry_.find_only_running();
}

Outcome<std::optional<Json>> Supervisor::handle_attach_tap(ConnId conn, const Json& req) {
    if (auto v = protocol::check_protocol_version(req); !v) {
        return std::unexpected(bad_request(v.error()));
    }
    if (registry_.is_node(conn) || registry_.is_tap(conn)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "this connection is already a node or an observer"});
    }
    auto found = find_named_or_only(req);
    if (!found) {
        return std::unexpected(found.error());
    }
    auto& df = **found;
    if (df.status != DataflowStatus::running || !df.segment) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::dataflow_not_running,
                                            "dataflow " + df.uuid + " is not running (it is " +
                                                status_name(df.status) + ")"});
    }
    // Which outputs: named ones ("node/output"), or every output.
    std::vector<std::uint32_t> outputs;
    if (req.contains("outputs")) {
        if (!req["outputs"].is_array()) {
            return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                                "'outputs' must be an array of \"node/output\""});
        }
        for (const auto& name : req["outputs"]) {
            if (!name.is_string()) {
                return std::unexpected(
                    RequestError{protocol::DaemonErrorKind::bad_request,
                                 "'outputs' must be an array of \"node/output\""});
            }
            const auto text = name.get<std::string>();
            std::optional<std::uint32_t> index;
            for (std::uint32_t o = 0; o < df.spec.outputs.size(); ++o) {
                if (df.spec.outputs[o].owner != shm::kDaemonOwner &&
                    df.spec.outputs[o].name == text) {
                    index = o;
                }
            }
            if (!index) {
                // A remote node's output with no local stand-in: it is on its machine.
                const auto node_id = text.substr(0, text.find('/'));
                if (const auto* machine = remote_machine_of(df, node_id)) {
                    return std::unexpected(remote_node_error(df, *machine, node_id));
                }
                std::string known;
                for (const auto& o : df.spec.outputs) {
                    if (o.owner != shm::kDaemonOwner) {
                        known += "\n  " + o.name;
                    }
                }
                return std::unexpected(
                    RequestError{protocol::DaemonErrorKind::no_such_output,
                                 "dataflow " + df.uuid + " has no output '" + text +
                                     "'; its outputs are:" + (known.empty() ? " none" : known)});
            }
            outputs.push_back(*index);
        }
    } else {
        for (std::uint32_t o = 0; o < df.spec.outputs.size(); ++o) {
            if (df.spec.outputs[o].owner != shm::kDaemonOwner) {
                outputs.push_back(o);
            }
        }
    }
    const shm::Control control(*df.segment);
    maintain_line_senders(df);
    const auto gone = senders_gone(df);
    TapState* chosen = nullptr;
    bool busy = false;
    std::uint32_t chosen_index = 0;
    for (std::uint32_t t = 0; t < df.taps.size(); ++t) {
        auto& tap = df.taps[t];
        const bool covers = std::all_of(outputs.begin(), outputs.end(),
                                        [&](std::uint32_t o) { return tap.of.contains(o); });
        if (tap.conn || !covers) {
            continue;
        }
        if (!control.receiver_reclaimed(tap.node, gone)) {
            busy = true; // its last observer's chunks are still being taken back
            continue;
        }
        chosen = &tap;
        chosen_index = t;
        break;
    }
    if (chosen == nullptr) {
        if (busy) {
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::busy,
                "the senders are still taking back what the last observer of dataflow " + df.uuid +
                    " held; try again in a moment"});
        }
        return std::unexpected(limit_error("taps_per_output", options_.limits.taps_per_output,
                                           "every observer tap of dataflow " + df.uuid +
                                               " is in use (or the outputs' fan-out " +
                                               "leaves no room for one)"));
    }
    wire::TapSetup tap_setup;
    tap_setup.dataflow_id = df.uuid;
    tap_setup.dataflow_name = df.name;
    tap_setup.tap = chosen_index;
    tap_setup.node_index = chosen->node;
    tap_setup.segment = df.node_setup_template;
    for (auto o : outputs) {
        tap_setup.outputs.push_back({df.spec.outputs[o].name, o, chosen->of.at(o)});
    }
    const auto setup = protocol::ok_reply(wire::to_json(tap_setup));
    for (auto o : outputs) {
        control.revive_connection(chosen->of.at(o));
        chosen->connections.push_back(chosen->of.at(o));
    }
    // Attached before the reply: an observer that is gone by then is dropped inside the reply
    // (on_disconnect), which must find the tap to detach it.
    chosen->conn = conn;
    registry_.bind_tap(conn, df.uuid, chosen_index);
    if (!replier_.reply_with_fd(conn, setup, df.segment->fd())) {
        if (registry_.unbind(conn)) {
            chosen->conn.reset();
            chosen->connections.clear();
            control.mark_receiver_dead(chosen->node);
        }
        return std::unexpected(RequestError{protocol::DaemonErrorKind::resource_limit,
                                            std::string("cannot pass the segment: ") +
                                                std::strerror(errno) + " (limit open_files)"});
    }
    log()->info("observer attached to tap {} of dataflow {} ({} outputs)", chosen_index, df.uuid,
                outputs.size());
    return std::optional<Json>{};
}

Outcome<std::optional<Json>> Supervisor::handle_stats(ConnId, const Json& req) {
    auto found = find_named_or_only(req);
    if (!found) {
        return std::unexpected(found.error());
    }
    return std::optional<Json>{stats_json(**found)};
}

// ---- remote_parts -----------------------------------------------------------------------------

Outcome<std::optional<Json>> Supervisor::handle_remote_parts(ConnId, const Json& req) {
    auto parts = protocol::remote_parts_from_json(req);
    if (!parts) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::bad_request, "remote_parts: " + parts.error()});
    }
    auto found = registry_.find_dataflow(parts->dataflow, false);
    if (!found) {
        return std::unexpected(found.error());
    }
    auto& df = **found;
    auto bad = [&df](const std::string& what) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "remote_parts of dataflow " + df.uuid + ": " + what});
    };
    auto is_local = [&df](const std::string& id) {
        return std::any_of(df.nodes.begin(), df.nodes.end(),
                           [&id](const NodeState& n) { return n.id == id; });
    };
    for (const auto& id : parts->stand_ins) {
        if (!is_local(id)) {
            return bad("stand-in '" + id + "' is not a node of the dataflow here");
        }
    }
    for (const auto& m : parts->machines) {
        if (!options_.machine_id.empty() && m.machine == options_.machine_id) {
            return bad("machine '" + m.machine + "' is this daemon's own (--machine-id): its " +
                       "nodes are the dataflow's part here, not a remote one");
        }
        for (const auto& id : m.nodes) {
            if (is_local(id) && std::find(parts->stand_ins.begin(), parts->stand_ins.end(), id) ==
                                    parts->stand_ins.end()) {
                return bad("node '" + id + "' of machine '" + m.machine +
                           "' clashes with the local node '" + id +
                           "' (a local node of a remote node's id must be its stand-in: "
                           "stand_ins)");
            }
        }
    }
    for (const auto& m : parts->machines) {
        const auto before =
            std::find_if(df.remote_machines.begin(), df.remote_machines.end(),
                         [&m](const protocol::RemoteMachine& b) { return b.machine == m.machine; });
        if (before == df.remote_machines.end() || before->state != m.state) {
            log()->info("dataflow {}: machine {} is {}", df.uuid, m.machine,
                        protocol::to_string(m.state));
        }
    }
    df.machine = options_.machine_id;
    df.remote_machines = std::move(parts->machines);
    df.stand_ins = std::move(parts->stand_ins);
    return std::optional<Json>{Json::object()};
}

} // namespace zeroflow::daemon
