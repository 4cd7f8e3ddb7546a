// Request handlers, node lifecycle and dataflow teardown. Every handler first resolves what the
// request names (a value or a typed error), then acts; exceptions become `internal` replies.
#include "supervisor.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/runtime/wire.hpp>
#include <zeroflow/shm/sender.hpp>

#include "log.hpp"
#include "process.hpp"
#include "retention.hpp"

namespace zeroflow::daemon {
namespace {

constexpr std::size_t kKeepFinished = 32;
constexpr std::chrono::milliseconds kTermToKill{2000};
constexpr std::size_t kStderrLines = 10;
/// Queue of an observer tap: drop-oldest like every queue, so a slow observer loses its own
/// oldest messages and nobody else's (docs/design/shm.md, Observers).
constexpr std::uint32_t kTapQueueSize = 64;

RequestError bad_request(const protocol::ProtocolError& e) {
    return {protocol::to_daemon_error_kind(e.code), e.message};
}

const char* status_name(DataflowStatus s) {
    switch (s) {
    case DataflowStatus::starting:
        return "starting";
    case DataflowStatus::running:
        return "running";
    case DataflowStatus::stopping:
        return "stopping";
    case DataflowStatus::finished:
        return "finished";
    case DataflowStatus::failed:
        return "failed";
    }
    return "unknown";
}

const char* node_status_name(const NodeState& n) {
    switch (n.status) {
    case NodeStatus::pending:
        return "starting";
    case NodeStatus::running:
        return "running";
    case NodeStatus::exited:
        return "exited";
    case NodeStatus::waiting_dynamic:
        return "not connected";
    case NodeStatus::connected:
        return "connected";
    case NodeStatus::restarting:
        return "restarting";
    }
    return "unknown";
}

bool is_live(const DataflowState& df) {
    return df.status == DataflowStatus::starting || df.status == DataflowStatus::running ||
           df.status == DataflowStatus::stopping;
}

bool node_ok(const NodeState& n) {
    return n.dynamic ||
           (n.wait_status && WIFEXITED(*n.wait_status) && WEXITSTATUS(*n.wait_status) == 0);
}

/// The daemon's `send_stdout_as` senders acknowledge dead inputs only when they run: before
/// a connection is reused, let them.
void maintain_line_senders(DataflowState& df) {
    for (auto& n : df.nodes) {
        if (n.lines) {
            n.lines->maintain();
        }
    }
}

/// The layout spec of a descriptor: node outputs first, then one output per distinct timer.
shm::LayoutSpec build_spec(const dataflow::Descriptor& d, const wire::Uuid& uuid,
                           std::uint64_t generation, std::vector<TimerOutput>& timers) {
    shm::LayoutSpec spec;
    spec.uuid = uuid;
    spec.generation = generation;
    spec.node_count = static_cast<std::uint32_t>(d.nodes.size());
    std::map<std::string, std::uint32_t> output_index;
    for (std::uint32_t n = 0; n < d.nodes.size(); ++n) {
        for (const auto& out : d.nodes[n].outputs) {
            const dataflow::OutputRef ref{d.nodes[n].id, out};
            const auto cfg = d.shm_for(ref);
            output_index[ref.to_string()] = static_cast<std::uint32_t>(spec.outputs.size());
            spec.outputs.push_back(shm::OutputSpec{n, ref.to_string(), cfg.max_message_size,
                                                   cfg.chunks.value_or(0), cfg.max_metadata_size});
        }
    }
    for (std::uint32_t n = 0; n < d.nodes.size(); ++n) {
        for (const auto& in : d.nodes[n].inputs) {
            std::uint32_t out = 0;
            if (const auto* timer = std::get_if<dataflow::Timer>(&in.source)) {
                const auto key = "timer:" + std::to_string(timer->period.count());
                auto it = output_index.find(key);
                if (it == output_index.end()) {
                    it = output_index.emplace(key, static_cast<std::uint32_t>(spec.outputs.size()))
                             .first;
                    timers.push_back(TimerOutput{it->second, timer->period});
                    spec.outputs.push_back(
                        shm::OutputSpec{shm::kDaemonOwner, timer->spec, 64, 0, 0});
                }
                out = it->second;
            } else {
                out = output_index.at(std::get<dataflow::OutputRef>(in.source).to_string());
            }
            spec.connections.push_back(shm::ConnectionSpec{out, n, in.queue_size, in.id});
        }
    }
    return spec;
}

/// Observer taps (docs/design/shm.md, "Observers"): `taps` pseudo-nodes after the dataflow's
/// own, each with one connection from every output (while the output's fan-out leaves room).
/// They come after every real connection, so nodes' connection indices do not move. Every tap
/// connection starts dead: a sender skips it at the cost of one load until an observer attaches.
std::vector<TapState> add_taps(shm::LayoutSpec& spec, std::size_t taps) {
    std::vector<TapState> out;
    std::vector<std::uint32_t> fan_out(spec.outputs.size(), 0);
    for (const auto& c : spec.connections) {
        ++fan_out[c.output];
    }
    for (std::size_t t = 0; t < taps; ++t) {
        TapState tap;
        tap.node = spec.node_count++;
        for (std::uint32_t o = 0; o < spec.outputs.size(); ++o) {
            if (fan_out[o] >= shm::kMaxFanOut) {
                continue;
            }
            ++fan_out[o];
            tap.of[o] = static_cast<std::uint32_t>(spec.connections.size());
            spec.connections.push_back(
                shm::ConnectionSpec{o, tap.node, kTapQueueSize, "tap" + std::to_string(t)});
        }
        out.push_back(std::move(tap));
    }
    return out;
}

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

std::string dashed(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

} // namespace

RequestError limit_error(std::string_view name, std::uint64_t value, const std::string& what) {
    return RequestError{protocol::DaemonErrorKind::resource_limit,
                        what + " (limit " + std::string(name) + " = " + std::to_string(value) +
                            "; zeroflowd --" + dashed(name) + " raises it)",
                        std::string(name), value};
}

Json limit_reply(std::string_view name, std::uint64_t value, const std::string& what) {
    return error_reply(limit_error(name, value, what));
}

Json error_reply(const RequestError& error) {
    auto reply = protocol::error_reply(error.kind, error.message);
    if (!error.limit.empty()) {
        reply["error"]["limit"] = error.limit;
        reply["error"]["limit_value"] = error.limit_value;
    }
    return reply;
}

Supervisor::Supervisor(Loop& loop, Replier& replier, const Options& options)
    : loop_(loop), replier_(replier), options_(options),
      out_of_memory_frame_(protocol::encode_frame(
          protocol::error_reply(protocol::DaemonErrorKind::out_of_memory,
                                "the daemon ran out of memory answering this request; it serves on "
                                "(try again, or lower what the request asks for)"))) {
    // Each node in a cgroup of its own where the kernel lets us (docs/design/shm.md, process
    // trees); the /proc scan of node_processes() covers the rest.
    if (const auto base = writable_cgroup_base(); !base.empty()) {
        // Empty cgroups of daemons that died go (rmdir fails on any that still has a process).
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
            const auto name = e.path().filename().string();
            if (!name.starts_with("zeroflow-") || !e.is_directory(ec)) {
                continue;
            }
            const auto pid = std::atol(name.c_str() + 9);
            if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
                std::vector<std::filesystem::path> dirs;
                for (const auto& d : std::filesystem::recursive_directory_iterator(e.path(), ec)) {
                    if (d.is_directory(ec)) {
                        dirs.push_back(d.path());
                    }
                }
                for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
                    ::rmdir(it->c_str());
                }
                ::rmdir(e.path().c_str());
            }
        }
        cgroup_base_ = base / ("zeroflow-" + std::to_string(::getpid()));
        std::filesystem::create_directories(cgroup_base_, ec);
        if (ec) {
            cgroup_base_.clear();
        }
    }
    log()->info("process trees: {}", cgroup_base_.empty()
                                         ? std::string("process groups and environment (no "
                                                       "writable cgroup v2)")
                                         : "cgroup v2 at " + cgroup_base_.string());
}

Supervisor::~Supervisor() {
    // Last resort (run() normally stops everything first): leave nothing behind.
    for (auto& [uuid, df] : dataflows_) {
        for (auto& n : df->nodes) {
            if (n.pidfd >= 0) {
                signal_node_tree(identity(*df, n), SIGKILL);
                ::waitpid(n.pid, nullptr, 0);
                loop_.unwatch(n.pidfd);
                ::close(n.pidfd);
                n.pidfd = -1;
            }
            close_output(n);
            if (n.lingering) {
                signal_node_tree(identity(*df, n), SIGKILL);
            }
            remove_cgroup(n.cgroup);
        }
        df->timers.reset();
        df->segment.reset();
        std::error_code ec;
        std::filesystem::remove(protocol::node_records_dir(options_.runtime_dir) / uuid, ec);
    }
    reap_children();
    if (!cgroup_base_.empty()) {
        ::rmdir(cgroup_base_.c_str());
    }
}

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
            {"destroy", &Supervisor::handle_destroy},
            {"ping", &Supervisor::handle_ping},
            {"attach_tap", &Supervisor::handle_attach_tap},
            {"stats", &Supervisor::handle_stats},
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

// ---- lookups -------------------------------------------------------------------------------

Outcome<DataflowState*> Supervisor::find_dataflow(const std::string& key, bool running_only) {
    DataflowState* by_name = nullptr;
    for (auto& [uuid, df] : dataflows_) {
        if (running_only && !is_live(*df)) {
            continue;
        }
        if (uuid == key) {
            return df.get();
        }
        if (!df->name.empty() && df->name == key) {
            // Among finished ones a name may repeat: prefer a live one, else the latest.
            if (by_name == nullptr || is_live(*df) || !is_live(*by_name)) {
                by_name = df.get();
            }
        }
    }
    if (by_name != nullptr) {
        return by_name;
    }
    // A unique prefix of a UUID (at least 4 characters), as git takes commit ids: the CLI and
    // ZEROFLOW_DATAFLOW of dynamic nodes alike.
    if (key.size() >= 4) {
        std::vector<DataflowState*> hits;
        for (auto& [uuid, df] : dataflows_) {
            if ((!running_only || is_live(*df)) && uuid.starts_with(key)) {
                hits.push_back(df.get());
            }
        }
        if (hits.size() == 1) {
            return hits.front();
        }
        if (hits.size() > 1) {
            std::string names;
            for (const auto* df : hits) {
                names += "\n  " + df->uuid + (df->name.empty() ? "" : " (" + df->name + ")");
            }
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::ambiguous_dataflow,
                "'" + key + "' is the start of several dataflows' IDs; give more of it:" + names});
        }
    }
    return std::unexpected(
        RequestError{protocol::DaemonErrorKind::no_such_dataflow,
                     "no running dataflow with ID, ID prefix or name '" + key + "'"});
}

Outcome<DataflowState*> Supervisor::find_only_running() {
    std::vector<DataflowState*> live;
    for (auto& [uuid, df] : dataflows_) {
        if (is_live(*df)) {
            live.push_back(df.get());
        }
    }
    if (live.empty()) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::no_such_dataflow, "no running dataflow"});
    }
    if (live.size() > 1) {
        std::string names;
        for (const auto* df : live) {
            names += "\n  " + df->uuid + (df->name.empty() ? "" : " (" + df->name + ")");
        }
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::ambiguous_dataflow,
                         "several dataflows are running; name one of them:" + names});
    }
    return live.front();
}

Outcome<NodeState*> Supervisor::find_node(DataflowState& df, const std::string& node_id) {
    for (auto& n : df.nodes) {
        if (n.id == node_id) {
            return &n;
        }
    }
    return std::unexpected(RequestError{protocol::DaemonErrorKind::no_such_node,
                                        "dataflow " + df.uuid + " has no node '" + node_id + "'"});
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
        for (const auto& [uuid, df] : dataflows_) {
            if (is_live(*df) && df->name == **name) {
                return std::unexpected(RequestError{protocol::DaemonErrorKind::name_taken,
                                                    "a running dataflow is already named '" +
                                                        **name + "' (" + uuid + ")"});
            }
        }
    }
    const auto& limits = options_.limits;
    if (active_count() >= limits.max_dataflows) {
        return std::unexpected(
            limit_error("max_dataflows", limits.max_dataflows,
                        std::to_string(active_count()) + " dataflows are live already"));
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
    // machine (--machine-id) and of none; any other machine is not present (no daemon reaches
    // another machine yet: docs/design/machines.md), so the start fails before anything runs.
    std::string missing;
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
        missing +=
            (missing.empty() ? "" : "; ") + ("machine '" + machine + "' (nodes " + nodes + ")");
    }
    if (!missing.empty()) {
        return std::unexpected(RequestError{
            protocol::DaemonErrorKind::start_failed,
            "the dataflow places nodes on machines that are not present: " + missing +
                (options_.machine_id.empty()
                     ? "; this daemon has no machine id (zeroflow daemon --machine-id NAME)"
                     : "; this daemon is machine '" + options_.machine_id + "'") +
                ". Starting across machines is not implemented yet: start each machine's part "
                "with zeroflow-bridge (docs/design/machines.md)"});
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
        for (const auto& [id, other] : dataflows_) {
            if (is_live(*other) && other->segment) {
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
    df->started_at = Clock::now();
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
    for (const auto& [key, other] : dataflows_) {
        if (is_live(*other)) {
            live_runs.insert(key);
        }
    }
    prune_runs(out_dir.parent_path(), options_.keep_runs, live_runs, options_.runtime_dir);
    const auto uuid_key = df->uuid;
    auto* state = df.get();
    dataflows_.emplace(uuid_key, std::move(df));
    for (std::uint32_t i = 0; i < state->descriptor.nodes.size(); ++i) {
        const auto& node = state->descriptor.nodes[i];
        NodeState ns;
        ns.id = node.id;
        ns.index = i;
        ns.dynamic = node.dynamic;
        ns.log_file = protocol::node_log_path(out_dir, node.id);
        ns.max_log_size = node.max_log_size.value_or(dataflow::kDefaultMaxLogSize);
        if (node.send_stdout_as) {
            const auto name = node.id + "/" + *node.send_stdout_as;
            for (std::uint32_t o = 0; o < state->spec.outputs.size(); ++o) {
                if (state->spec.outputs[o].name == name) {
                    auto sender = shm::OutputSender::attach(*state->segment, o);
                    if (!sender) {
                        state->start_waiters.push_back(conn);
                        fail_start(*state, "cannot send the output lines of node '" + node.id +
                                               "' as " + name + ": " + sender.error().message);
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

std::optional<std::string> Supervisor::spawn_process(DataflowState& df, NodeState& ns) {
    SpawnRequest spawn;
    spawn.node = &df.descriptor.nodes[ns.index];
    spawn.working_dir = df.descriptor.working_dir;
    spawn.extra_env = {{protocol::kDataflowIdEnv, df.uuid},
                       {protocol::kNodeIdEnv, ns.id},
                       {protocol::kRuntimeDirEnv, options_.runtime_dir.string()},
                       {protocol::kLogFileEnv, ns.log_file.string()}};
    if (!cgroup_base_.empty()) {
        spawn.cgroup = cgroup_base_ / df.uuid / ("n" + std::to_string(ns.index));
    }
    ns.log_fd = ::open(ns.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ns.log_fd < 0) {
        return "cannot open the log file " + ns.log_file.string() + ": " + std::strerror(errno);
    }
    struct stat st {};
    ns.log_size = ::fstat(ns.log_fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    auto spawned = spawn_node(spawn);
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
    loop_.watch(ns.output, EPOLLIN,
                [this, uuid_key, index](std::uint32_t) { on_output(uuid_key, index); });
    write_node_record(df);
    return std::nullopt;
}

Json Supervisor::node_setup(const DataflowState& df, const NodeState& node) const {
    const auto& dn = df.descriptor.nodes[node.index];
    wire::NodeSetup setup;
    setup.dataflow_id = df.uuid;
    setup.dataflow_name = df.name;
    setup.node_id = node.id;
    setup.node_index = node.index;
    setup.segment = df.node_setup_template;
    for (std::uint32_t c = 0; c < df.spec.connections.size(); ++c) {
        const auto& cs = df.spec.connections[c];
        if (cs.receiver == node.index) {
            setup.inputs.push_back({cs.input, c});
        }
    }
    for (std::uint32_t o = 0; o < df.spec.outputs.size(); ++o) {
        const auto& full = df.spec.outputs[o].name;
        // Its `send_stdout_as` output is the daemon's to send on, not the node's.
        if (df.spec.outputs[o].owner == node.index &&
            (!dn.send_stdout_as || full != dn.id + "/" + *dn.send_stdout_as)) {
            setup.outputs.push_back({full.substr(dn.id.size() + 1), o});
        }
    }
    setup.busy_poll_us = dn.busy_poll_us.value_or(0);
    // A restarted process resumes its inputs' queues (docs/dataflow.md, restarts).
    setup.resume = !node.dynamic && node.restarts > 0;
    // A node that may be restarted leaves closing its outputs to the daemon, which closes them
    // only once its exit is final (no InputClosed downstream before).
    setup.closes_outputs = dn.restart.policy == dataflow::RestartPolicy::never;
    return wire::to_json(setup);
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
            if (!replier_.reply_with_fd(*n.conn, protocol::ok_reply(node_setup(df, n)),
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
    if (node_conns_.contains(conn)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "this connection is already a node"});
    }
    auto df = find_dataflow(*uuid, true);
    if (!df) {
        return std::unexpected(df.error());
    }
    auto node = find_node(**df, *node_id);
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
    node_conns_[conn] = {(*df)->uuid, n.index};
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
    if (node_conns_.contains(conn)) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "this connection is already a node"});
    }
    DataflowState* target = nullptr;
    if (*key && !(*key)->empty()) {
        auto df = find_dataflow(**key, true);
        if (!df) {
            return std::unexpected(df.error());
        }
        target = *df;
    } else {
        std::vector<DataflowState*> dynamic_matches;
        DataflowState* static_match = nullptr;
        for (auto& [uuid, df] : dataflows_) {
            if (!is_live(*df)) {
                continue;
            }
            for (const auto& n : df->nodes) {
                if (n.id != *node_id) {
                    continue;
                }
                if (n.dynamic) {
                    dynamic_matches.push_back(df.get());
                } else {
                    static_match = df.get();
                }
            }
        }
        if (dynamic_matches.size() > 1) {
            std::string list;
            for (const auto* df : dynamic_matches) {
                list += "\n  " + df->uuid + (df->name.empty() ? "" : " (" + df->name + ")");
            }
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::ambiguous_node,
                "several running dataflows have a dynamic node '" + *node_id + "'; pick one with " +
                    protocol::kDataflowEnv + "=<uuid or name>:" + list});
        }
        if (dynamic_matches.empty()) {
            if (static_match != nullptr) {
                target = static_match;
            } else {
                return std::unexpected(
                    RequestError{protocol::DaemonErrorKind::no_such_node,
                                 "no running dataflow has a node '" + *node_id + "'"});
            }
        } else {
            target = dynamic_matches.front();
        }
    }
    auto node = find_node(*target, *node_id);
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
    std::size_t dynamic_connected = 0;
    for (const auto& [c, where] : node_conns_) {
        const auto it = dataflows_.find(where.first);
        if (it != dataflows_.end() && it->second->nodes[where.second].dynamic) {
            ++dynamic_connected;
        }
    }
    if (dynamic_connected >= options_.limits.max_dynamic_connections) {
        return std::unexpected(limit_error(
            "max_dynamic_connections", options_.limits.max_dynamic_connections,
            std::to_string(dynamic_connected) + " dynamic nodes are connected already"));
    }
    const shm::Control control(*target->segment);
    maintain_line_senders(*target);
    if (!control.receiver_reclaimed(n.index)) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::busy,
                         "the previous connection of node '" + n.id +
                             "' is still being cleaned up by its senders; try again in a moment"});
    }
    auto setup = protocol::ok_reply(node_setup(*target, n));
    control.revive_receiver(n.index);
    // The node is ours before it hears so: whatever it asks next finds it connected.
    n.conn = conn;
    n.status = NodeStatus::connected;
    node_conns_[conn] = {target->uuid, n.index};
    if (!replier_.reply_with_fd(conn, setup, target->segment->fd())) {
        node_conns_.erase(conn);
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
    if (const auto tap_it = tap_conns_.find(conn); tap_it != tap_conns_.end()) {
        const auto [uuid, t] = tap_it->second;
        tap_conns_.erase(tap_it);
        const auto df_it = dataflows_.find(uuid);
        if (df_it != dataflows_.end() && t < df_it->second->taps.size()) {
            auto& tap = df_it->second->taps[t];
            tap.conn.reset();
            tap.connections.clear();
            if (df_it->second->segment) {
                // Detached, killed or frozen-then-killed alike: senders reclaim what it held.
                shm::Control(*df_it->second->segment).mark_receiver_dead(tap.node);
            }
        }
        return;
    }
    const auto it = node_conns_.find(conn);
    if (it == node_conns_.end()) {
        return;
    }
    const auto [uuid, index] = it->second;
    node_conns_.erase(it);
    const auto df_it = dataflows_.find(uuid);
    if (df_it == dataflows_.end()) {
        return;
    }
    auto& df = *df_it->second;
    auto& n = df.nodes[index];
    if (n.conn != conn) {
        return;
    }
    n.conn.reset();
    if (n.dynamic && df.segment) {
        n.status = NodeStatus::waiting_dynamic;
        // Its inputs are dead until it reconnects: senders reclaim what it held.
        shm::Control(*df.segment).mark_receiver_dead(index);
        log()->info("dynamic node {} of dataflow {} disconnected", n.id, uuid);
    }
}

// ---- process exits ---------------------------------------------------------------------------

void Supervisor::on_node_exit_unguarded(const std::string& uuid, std::uint32_t index) {
    const auto it = dataflows_.find(uuid);
    if (it == dataflows_.end()) {
        return;
    }
    auto& df = *it->second;
    auto& n = df.nodes[index];
    if (n.pidfd < 0) {
        return;
    }
    int status = 0;
    pid_t r = -1;
    if (const auto reaped = reaped_.find(n.pid); reaped != reaped_.end()) {
        r = n.pid; // reap_children() took it first
        status = reaped->second;
        reaped_.erase(reaped);
    } else {
        r = ::waitpid(n.pid, &status, WNOHANG);
        if (r == 0) {
            return; // not yet (spurious readiness)
        }
    }
    loop_.unwatch(n.pidfd);
    ::close(n.pidfd);
    n.pidfd = -1;
    n.wait_status = r == n.pid ? status : 0;
    n.status = NodeStatus::exited;
    // Whatever the node started dies with it, setsid and double-forked ones included: no
    // orphans. It counts as running until they are gone (tick() checks).
    n.lingering = signal_node_tree(identity(df, n), SIGKILL) > 0;
    read_output(n); // what it wrote last, for last_stderr
    if (n.lines) {
        n.lines->flush(); // before its outputs close below
    }
    n.last_stderr = tail_lines(n.log_file, kStderrLines);
    if (n.conn) {
        node_conns_.erase(*n.conn);
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
            node_conns_.erase(*n.conn);
            replier_.close_connection(*n.conn);
            n.conn.reset();
        }
    }
    for (auto& tap : df.taps) {
        if (tap.conn) {
            tap_conns_.erase(*tap.conn);
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
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - df.started_at);
    if (df.status != DataflowStatus::failed) {
        df.status = DataflowStatus::finished;
    }
    const auto result = describe(df);
    for (auto conn : df.finish_waiters) {
        replier_.reply(conn, protocol::ok_reply(result));
    }
    df.finish_waiters.clear();
    log()->info("dataflow {} {}", df.uuid, status_name(df.status));
    finished_order_.push_back(df.uuid);
    forget_old_dataflows();
    if (shutting_down_ && active_count() == 0) {
        for (auto conn : shutdown_waiters_) {
            replier_.reply(conn, protocol::ok_reply());
        }
        shutdown_waiters_.clear();
    }
}

void Supervisor::forget_old_dataflows() {
    while (finished_order_.size() > kKeepFinished) {
        dataflows_.erase(finished_order_.front());
        finished_order_.pop_front();
    }
}

// ---- stop / wait / destroy -------------------------------------------------------------------

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
    const auto term = Clock::now() + grace;
    if (!df.term_at || term < *df.term_at) {
        df.term_at = term;
        df.kill_at = term + kTermToKill;
    }
}

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
    auto df = *key ? find_dataflow(**key, true) : find_only_running();
    if (!df) {
        return std::unexpected(df.error());
    }
    (*df)->finish_waiters.push_back(conn);
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
    auto df = find_dataflow(*key, false);
    if (!df) {
        return std::unexpected(df.error());
    }
    if (!is_live(**df)) {
        return std::optional<Json>{describe(**df)};
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

void Supervisor::shutdown_unguarded(std::optional<ConnId> conn, std::chrono::milliseconds grace) {
    shutting_down_ = true;
    if (conn) {
        shutdown_waiters_.push_back(*conn);
    }
    std::vector<DataflowState*> live;
    for (auto& [uuid, df] : dataflows_) {
        if (is_live(*df)) {
            live.push_back(df.get());
        }
    }
    for (auto* df : live) {
        begin_stop(*df, grace);
        maybe_finish(*df);
    }
    if (active_count() == 0) {
        for (auto c : shutdown_waiters_) {
            replier_.reply(c, protocol::ok_reply());
        }
        shutdown_waiters_.clear();
    }
}

std::size_t Supervisor::active_count() const noexcept {
    return static_cast<std::size_t>(std::count_if(
        dataflows_.begin(), dataflows_.end(), [](const auto& kv) { return is_live(*kv.second); }));
}

// ---- list / logs / ping ----------------------------------------------------------------------

Json Supervisor::input_counts(const DataflowState& df, const NodeState& n) {
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

Json Supervisor::describe(const DataflowState& df) const {
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
    const auto uptime =
        is_live(df) ? std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - df.started_at)
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
    return j;
}

Outcome<std::optional<Json>> Supervisor::handle_list(ConnId, const Json&) {
    Json list = Json::array();
    for (const auto& [uuid, df] : dataflows_) {
        list.push_back(describe(*df));
    }
    return std::optional<Json>{Json{{"dataflows", list}}};
}

Outcome<std::optional<Json>> Supervisor::handle_logs(ConnId, const Json& req) {
    auto key = protocol::get_string(req, "dataflow");
    auto node_id = protocol::get_string(req, "node");
    if (!key || !node_id) {
        return std::unexpected(bad_request(!key ? key.error() : node_id.error()));
    }
    auto df = find_dataflow(*key, false);
    if (!df) {
        return std::unexpected(df.error());
    }
    auto node = find_node(**df, *node_id);
    if (!node) {
        return std::unexpected(node.error());
    }
    return std::optional<Json>{Json{{"path", (*node)->log_file.string()},
                                    {"running", is_live(**df)},
                                    {"dynamic", (*node)->dynamic}}};
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
        return find_dataflow(**key, true);
    }
    return find_only_running();
}

Outcome<std::optional<Json>> Supervisor::handle_attach_tap(ConnId conn, const Json& req) {
    if (auto v = protocol::check_protocol_version(req); !v) {
        return std::unexpected(bad_request(v.error()));
    }
    if (node_conns_.contains(conn) || tap_conns_.contains(conn)) {
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
        if (!control.receiver_reclaimed(tap.node)) {
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
    Json list = Json::array();
    for (auto o : outputs) {
        const auto c = chosen->of.at(o);
        list.push_back({{"name", df.spec.outputs[o].name}, {"output", o}, {"connection", c}});
    }
    const auto setup = protocol::ok_reply({{"dataflow_id", df.uuid},
                                           {"dataflow_name", df.name},
                                           {"tap", chosen_index},
                                           {"node_index", chosen->node},
                                           {"segment", df.node_setup_template},
                                           {"outputs", list}});
    for (auto o : outputs) {
        control.revive_connection(chosen->of.at(o));
        chosen->connections.push_back(chosen->of.at(o));
    }
    // Attached before the reply: an observer that is gone by then is dropped inside the reply
    // (on_disconnect), which must find the tap to detach it.
    chosen->conn = conn;
    tap_conns_[conn] = {df.uuid, chosen_index};
    if (!replier_.reply_with_fd(conn, setup, df.segment->fd())) {
        if (tap_conns_.erase(conn) != 0) {
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
    const auto& df = **found;
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
    return std::optional<Json>{Json{{"uuid", df.uuid},
                                    {"name", df.name},
                                    {"status", status_name(df.status)},
                                    {"monotonic_ns", shm::monotonic_ns()},
                                    {"nodes", nodes},
                                    {"outputs", outputs},
                                    {"inputs", inputs},
                                    {"taps", taps}}};
}

// ---- deadlines -------------------------------------------------------------------------------

std::chrono::milliseconds Supervisor::tick_unguarded() {
    reap_children();
    const auto now = Clock::now();
    auto next = now + std::chrono::milliseconds(500);
    if (shutting_down_) {
        // A shutdown that an error interrupted (e.g. out of memory half-way) goes on here, so
        // that `destroy` always ends in an exit.
        for (auto& [uuid, df] : dataflows_) {
            if (is_live(*df) && df->status != DataflowStatus::stopping) {
                begin_stop(*df, std::chrono::milliseconds(0));
            }
        }
        if (active_count() == 0 && !shutdown_waiters_.empty()) {
            for (auto conn : shutdown_waiters_) {
                replier_.reply(conn, protocol::ok_reply());
            }
            shutdown_waiters_.clear();
        }
    }
    std::vector<DataflowState*> live;
    for (auto& [uuid, df] : dataflows_) {
        if (is_live(*df) || df->status == DataflowStatus::failed) {
            live.push_back(df.get());
        }
    }
    if (live.empty() && !shutting_down_) {
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
                if (signal_node_tree(identity(*df, n), SIGKILL) == 0) {
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
                signal_node_tree(identity(*df, n), SIGKILL);
            } else if (df->term_at && now >= *df->term_at && !n.signalled_term) {
                n.signalled_term = true;
                log()->info("node {} of dataflow {} ignored Stop: SIGTERM", n.id, df->uuid);
                signal_node_tree(identity(*df, n), SIGTERM);
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

// ---- node output and process trees ---------------------------------------------------------

void Supervisor::on_output(const std::string& uuid, std::uint32_t index) noexcept {
    guarded("node output", [&] {
        const auto it = dataflows_.find(uuid);
        if (it != dataflows_.end() && index < it->second->nodes.size()) {
            read_output(it->second->nodes[index]);
        }
    });
}

void Supervisor::read_output(NodeState& n) {
    if (n.output < 0) {
        return;
    }
    // A bounded amount per call keeps the loop fair; epoll calls again while more is there.
    std::array<char, 65536> buffer{};
    for (int reads = 0; reads < 64; ++reads) {
        const auto got = ::read(n.output, buffer.data(), buffer.size());
        if (got > 0) {
            write_log(n, buffer.data(), static_cast<std::size_t>(got));
            if (n.lines) {
                n.lines->feed(buffer.data(), static_cast<std::size_t>(got));
            }
            continue;
        }
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n.lines) {
            n.lines->flush();
        }
        close_output(n); // EOF: the node and everything that shared its output are gone
        return;
    }
}

void Supervisor::write_log(NodeState& n, const char* data, std::size_t size) {
    while (size > 0 && n.log_fd >= 0) {
        if (n.log_size >= n.max_log_size) {
            // Rotate: keep one old file, so the node's log never takes more than twice
            // max_log_size on disk. `zeroflow logs` reads log_<id>.txt.1, then log_<id>.txt.
            ::close(n.log_fd);
            auto old = n.log_file;
            old += ".1";
            ::rename(n.log_file.c_str(), old.c_str());
            n.log_fd = ::open(n.log_file.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
            n.log_size = 0;
            continue;
        }
        const auto room =
            static_cast<std::size_t>(std::min<std::uint64_t>(n.max_log_size - n.log_size, size));
        const auto wrote = ::write(n.log_fd, data, room);
        if (wrote < 0 && errno == EINTR) {
            continue;
        }
        if (wrote <= 0) {
            return; // disk full or the like: the output is dropped, the node is not blocked
        }
        n.log_size += static_cast<std::uint64_t>(wrote);
        data += wrote;
        size -= static_cast<std::size_t>(wrote);
    }
}

void Supervisor::close_output(NodeState& n) {
    if (n.output >= 0) {
        loop_.unwatch(n.output);
        ::close(n.output);
        n.output = -1;
    }
    if (n.log_fd >= 0) {
        ::close(n.log_fd);
        n.log_fd = -1;
    }
}

NodeIdentity Supervisor::identity(const DataflowState& df, const NodeState& n) const {
    return NodeIdentity{n.pid, df.uuid, n.id, options_.runtime_dir.string(), n.cgroup};
}

void Supervisor::reap_children() {
    // We are the subreaper of every node's tree: orphans come to us and must be reaped. A
    // node's own status is kept for on_node_exit (its pidfd fires too).
    std::vector<std::pair<std::string, std::uint32_t>> exited;
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            break;
        }
        for (const auto& [uuid, df] : dataflows_) {
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

// ---- guarded entry points ------------------------------------------------------------------
// The loop calls these; whatever throws inside (an allocation, a JSON error) is logged and
// counted like a handler's internal error, and the daemon goes on serving.

template <typename F>
void Supervisor::guarded(const char* what, F&& body) noexcept {
    try {
        body();
    } catch (const std::exception& e) {
        ++internal_errors_;
        try {
            log()->error("internal error in {}: {}", what, e.what());
        } catch (...) { // no memory even to log: the count says it
        }
    } catch (...) {
        ++internal_errors_;
        try {
            log()->error("internal error in {} (unknown exception)", what);
        } catch (...) {
        }
    }
}

void Supervisor::on_disconnect(ConnId conn) noexcept {
    guarded("disconnect handling", [&] { on_disconnect_unguarded(conn); });
}

void Supervisor::on_node_exit(const std::string& uuid, std::uint32_t index) noexcept {
    guarded("node exit handling", [&] { on_node_exit_unguarded(uuid, index); });
}

void Supervisor::shutdown(std::optional<ConnId> conn, std::chrono::milliseconds grace) noexcept {
    guarded("shutdown", [&] { shutdown_unguarded(conn, grace); });
}

std::chrono::milliseconds Supervisor::tick() noexcept {
    std::chrono::milliseconds next(100);
    guarded("deadline handling", [&] { next = tick_unguarded(); });
    return next;
}

} // namespace zeroflow::daemon
