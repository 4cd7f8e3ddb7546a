// The machine agent (zeroflow-bridge --agent): what lets `zeroflow start` on one machine's daemon
// start a dataflow on every machine (docs/design/machines.md#who-coordinates-a-start).
//
// `zeroflow daemon --machine-id M` runs one beside itself. It waits on its daemon with a
// `machine_agent` request (protocol/machine_agent.hpp); a start across machines comes back as
// its answer. For it the agent writes a StartRequest on the DDS topic "zeroflow/starts" and runs
// a bridge for this machine's part whose report (--report-fd) answers the start. Every other
// machine's agent that hosts a node of that dataflow runs a bridge for its own part; from there
// on the bridges coordinate as they always do (the control topic), so a machine that is not
// there fails the start everywhere, naming it.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <expected>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <dds/dds.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/daemon/exec_strings.hpp>
#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/protocol/environment.hpp>
#include <zeroflow/protocol/machine_agent.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>
#include <zeroflow/protocol/socket.hpp>

#include "bridge.hpp"
#include "commands/client.hpp"
#include "commands/interrupt.hpp"
#include "part.hpp"
#include "zeroflow_bridge.h"

namespace zeroflow::bridge {

namespace {

using namespace std::chrono_literals;
using protocol::Json;
using Clock = std::chrono::steady_clock;

/// A descriptor larger than this is not sent over DDS (the daemon's own default limit).
constexpr std::size_t kMaxDescriptorBytes = 1U << 20;
/// The live agents (machines) read in one domain when looking for a duplicate machine id.
constexpr std::uint32_t kMaxAgents = 1024;

std::string now_text() {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::array<char, 32> text{};
    std::strftime(text.data(), text.size(), "%F %T", std::gmtime(&t));
    return text.data();
}

/// The agent's log lines (its stderr is agent.log in the daemon's runtime directory).
class Log {
public:
    Log(std::ostream& err, std::string machine) : err_(err), machine_(std::move(machine)) {}
    void line(const std::string& text) {
        const std::lock_guard lock(mutex_);
        err_ << "[" << now_text() << "] zeroflow-bridge --agent (machine '" << machine_
             << "'): " << text << std::endl;
    }

private:
    std::ostream& err_;
    std::string machine_;
    std::mutex mutex_;
};

/// The machines `descriptor` places nodes on, nodes that name none counted on `origin`.
std::vector<std::string> machines_of(dataflow::Descriptor descriptor, const std::string& origin) {
    place_unplaced_nodes(descriptor, origin);
    return descriptor.machines();
}

std::string list(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) {
        text += (text.empty() ? "'" : ", '") + n + "'";
    }
    return text;
}

/// A file's whole text, regular files up to kMaxDescriptorBytes only.
std::expected<std::string, std::string> read_descriptor(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return std::unexpected(path.string() + " is not a regular file");
    }
    if (std::filesystem::file_size(path, ec) > kMaxDescriptorBytes) {
        return std::unexpected(path.string() + " is larger than 1 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        return std::unexpected("cannot read " + path.string());
    }
    return text.str();
}

struct Bridge {
    pid_t pid = -1;
    std::string flow;
    std::filesystem::path remove_after; ///< the received descriptor written for it; empty: none
};

class Agent {
public:
    Agent(const AgentOptions& options, std::ostream& err)
        : o_(options), log_(err, options.machine) {
        std::error_code ec;
        self_ = std::filesystem::read_symlink("/proc/self/exe", ec);
        runtime_dir_ = protocol::runtime_dir();
    }

    int run() {
        participant_ = dds_create_participant(o_.dds_domain, nullptr, nullptr);
        if (participant_ < 0) {
            log_.line(std::string("cannot create the DDS participant: ") +
                      dds_strretcode(participant_) + " (check CYCLONEDDS_URI)");
            return 1;
        }
        const dds_entity_t topic = dds_create_topic(
            participant_, &zeroflow_bridge_StartRequest_desc, "zeroflow/starts", nullptr, nullptr);
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 32);
        writer_ = topic < 0 ? topic : dds_create_writer(participant_, topic, qos, nullptr);
        reader_ = topic < 0 ? topic : dds_create_reader(participant_, topic, qos, nullptr);
        dds_delete_qos(qos);
        if (writer_ < 0 || reader_ < 0 || !create_rpc()) {
            log_.line("cannot create the DDS topics zeroflow/starts, requests, replies");
            dds_delete(participant_);
            return 1;
        }
        if (!announce_presence()) {
            log_.line("cannot create the DDS topic zeroflow/agents");
            dds_delete(participant_);
            return 1;
        }
        log_.line("up on DDS domain " + std::to_string(o_.dds_domain) + ", daemon in " +
                  runtime_dir_.string());
        std::thread([this] { serve_daemon(); }).detach();
        while (!cli::InterruptScope::interrupted() && !daemon_gone_.load() &&
               (o_.parent == 0 || ::getppid() == o_.parent)) {
            check_presence();
            take_requests();
            take_rpc();
            reap(false);
            std::this_thread::sleep_for(50ms);
        }
        log_.line(daemon_gone_.load() ? "the daemon is gone: ending" : "ending");
        end_bridges();
        dds_delete(participant_);
        return 0;
    }

private:
    /// Waits on the daemon for its starts across machines, one request after the other.
    void serve_daemon() {
        for (;;) {
            auto reply =
                cli::daemon_call(Json{{"op", protocol::kMachineAgentOp}, {"machine", o_.machine}},
                                 std::chrono::hours(24 * 365));
            if (!reply) {
                // Only a daemon that shuts down ends the agent here (a dead one ends it through
                // its parent check); anything else (a full connection limit, a slow connect)
                // is tried again.
                log_.line("the daemon answered: " + reply.error().message);
                if (reply.error().kind == protocol::DaemonErrorKind::shutting_down) {
                    daemon_gone_.store(true);
                    return;
                }
                std::this_thread::sleep_for(1s);
                continue;
            }
            // Each on its own thread: this one is back waiting on the daemon at once.
            if (reply->contains("start")) {
                std::thread([this, start = (*reply)["start"]] { start_here(start); }).detach();
            } else if (reply->contains("forward")) {
                std::thread([this, f = (*reply)["forward"]] { forward(f); }).detach();
            }
        }
    }

    void answer(std::uint64_t ticket, const Json& outcome) {
        Json request{{"op", protocol::kMachineAgentResultOp}, {"ticket", ticket}};
        for (const auto& [key, value] : outcome.items()) {
            request[key] = value;
        }
        // A reply too large for a frame (1 MiB) is answered by an error that says so.
        if (request.dump(-1, ' ', false, Json::error_handler_t::replace).size() >
            protocol::kDefaultMaxFrameSize - 4096) {
            request = Json{{"op", protocol::kMachineAgentResultOp},
                           {"ticket", ticket},
                           {"reply",
                            {{"ok", false},
                             {"error",
                              {{"kind", "frame_too_large"},
                               {"message", "the other machine's reply is larger than a frame "
                                           "(1 MiB)"}}}}}};
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto reply = cli::daemon_call(request, 10s);
            if (reply || reply.error().kind == protocol::DaemonErrorKind::bad_request) {
                return; // answered, or nothing waits for it any more
            }
            log_.line("could not answer request " + std::to_string(ticket) + ": " +
                      reply.error().message);
            std::this_thread::sleep_for(500ms);
        }
    }

    /// A start on this machine's daemon: announce it to the other machines, run this machine's
    /// part, and answer the daemon with what the bridge reports.
    void start_here(const Json& start) {
        const auto ticket = start.value("ticket", std::uint64_t{0});
        const std::filesystem::path path = start.value("path", std::string());
        const auto fail = [&](const std::string& why) {
            log_.line("start " + std::to_string(ticket) + " of " + path.string() + ": " + why);
            answer(ticket, Json{{"error", why}});
        };
        if (const auto c = conflict(); !c.empty()) {
            return fail(c);
        }
        auto text = read_descriptor(path);
        if (!text) {
            return fail(text.error());
        }
        const auto parsed = dataflow::parse_file(path);
        if (!parsed.ok()) {
            return fail(path.string() + " is not a valid dataflow");
        }
        // A machine that hosts none of its nodes runs a watching part (docs/design/machines.md).
        const auto machines = machines_of(*parsed.descriptor, o_.machine);
        const std::string flow = start.contains("name") && start["name"].is_string()
                                     ? start["name"].get<std::string>()
                                     : path.stem().string();
        if (!is_valid_dataflow_name(flow)) {
            return fail("the dataflow's name '" + flow +
                        "' names its DDS topics across machines: use only letters, digits, '_' "
                        "and '-' (zeroflow start --name NAME)");
        }
        // `zeroflow start --start-timeout` (the daemon checked it): every machine's part's.
        const double start_timeout = protocol::start_timeout_of(start);
        // The other machines' agents must hear it: wait (a little) until they are matched.
        const auto others = static_cast<std::size_t>(
            std::count_if(machines.begin(), machines.end(),
                          [&](const std::string& m) { return m != o_.machine; }));
        const auto deadline = Clock::now() + 3s;
        dds_publication_matched_status_t matched{};
        while (dds_get_publication_matched_status(writer_, &matched) == DDS_RETCODE_OK &&
               matched.current_count < others + 1 && Clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        const auto id =
            o_.machine + "-" + std::to_string(::getpid()) + "-" + std::to_string(ticket);
        const auto directory = path.parent_path().string();
        const auto file_name = path.filename().string();
        zeroflow_bridge_StartRequest request{};
        request.id = const_cast<char*>(id.c_str());
        request.origin = const_cast<char*>(o_.machine.c_str());
        request.name = const_cast<char*>(flow.c_str());
        request.directory = const_cast<char*>(directory.c_str());
        request.file_name = const_cast<char*>(file_name.c_str());
        request.descriptor = const_cast<char*>(text->c_str());
        request.peer_timeout_s = 10;
        request.start_timeout_s = start_timeout;
        if (const auto rc = dds_write(writer_, &request); rc != DDS_RETCODE_OK) {
            return fail(std::string("cannot announce the start on DDS: ") + dds_strretcode(rc));
        }
        dds_wait_for_acks(writer_, DDS_SECS(2));
        log_.line("start " + std::to_string(ticket) + ": dataflow '" + flow + "' on machines " +
                  list(machines) + " (" + std::to_string(matched.current_count - 1) +
                  " other agents heard it)");
        std::array<int, 2> report{-1, -1};
        if (::pipe2(report.data(), O_CLOEXEC) != 0) {
            return fail(std::string("pipe: ") + std::strerror(errno));
        }
        const pid_t pid = spawn({self_.string(), path.string(), "--machine", o_.machine, "--name",
                                 flow, "--dds-domain", std::to_string(o_.dds_domain),
                                 "--default-machine", o_.machine, "--run", id, "--start-timeout",
                                 std::to_string(start_timeout), "--report-fd", "3"},
                                flow, report[1]);
        ::close(report[1]);
        if (pid < 0) {
            ::close(report[0]);
            return fail("cannot run zeroflow-bridge for this machine's part: " +
                        std::string(std::strerror(errno)));
        }
        add(Bridge{pid, flow, {}});
        // The report comes once the whole dataflow runs (or failed): read it on its own thread,
        // so that this one waits on the daemon for the next start meanwhile.
        std::thread([this, fd = report[0], ticket, flow] {
            std::string line;
            std::array<char, 4096> buffer{};
            for (;;) {
                const auto n = ::read(fd, buffer.data(), buffer.size());
                if (n > 0) {
                    line.append(buffer.data(), static_cast<std::size_t>(n));
                } else if (n == 0 || errno != EINTR) {
                    break;
                }
            }
            ::close(fd);
            auto outcome = Json::parse(line, nullptr, false);
            if (outcome.is_discarded() || !outcome.is_object() ||
                !(outcome.contains("uuid") || outcome.contains("error"))) {
                outcome = Json{{"error", "zeroflow-bridge for dataflow '" + flow +
                                             "' ended before it reported; see " +
                                             log_path(flow).string()}};
            }
            answer(ticket, outcome);
        }).detach();
    }

    bool create_rpc() {
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 64);
        const auto requests = dds_create_topic(participant_, &zeroflow_bridge_RemoteRequest_desc,
                                               "zeroflow/requests", nullptr, nullptr);
        const auto replies = dds_create_topic(participant_, &zeroflow_bridge_RemoteReply_desc,
                                              "zeroflow/replies", nullptr, nullptr);
        if (requests > 0 && replies > 0) {
            request_writer_ = dds_create_writer(participant_, requests, qos, nullptr);
            request_reader_ = dds_create_reader(participant_, requests, qos, nullptr);
            reply_writer_ = dds_create_writer(participant_, replies, qos, nullptr);
            reply_reader_ = dds_create_reader(participant_, replies, qos, nullptr);
        }
        dds_delete_qos(qos);
        return request_writer_ > 0 && request_reader_ > 0 && reply_writer_ > 0 && reply_reader_ > 0;
    }

    /// A request of this machine's daemon for machine `to`: over DDS to its agent, which asks
    /// its daemon; that daemon's whole reply answers it (or a timeout after
    /// protocol::forward_timeout: 10 s, a stop's grace more).
    void forward(const Json& f) {
        const auto ticket = f.value("ticket", std::uint64_t{0});
        const auto to = f.value("machine", std::string());
        if (const auto c = conflict(); !c.empty()) {
            answer(ticket,
                   Json{{"reply",
                         {{"ok", false}, {"error", {{"kind", "bad_request"}, {"message", c}}}}}});
            return;
        }
        const auto id =
            o_.machine + "-" + std::to_string(::getpid()) + "-f" + std::to_string(ticket);
        const auto forwarded = f.value("request", Json::object());
        const auto text = forwarded.dump(-1, ' ', false, Json::error_handler_t::replace);
        const auto wait = protocol::forward_timeout(forwarded);
        {
            const std::lock_guard lock(rpc_mutex_);
            rpc_replies_[id]; // waited for
        }
        zeroflow_bridge_RemoteRequest request{};
        request.id = const_cast<char*>(id.c_str());
        request.from_machine = const_cast<char*>(o_.machine.c_str());
        request.to_machine = const_cast<char*>(to.c_str());
        request.request = const_cast<char*>(text.c_str());
        // A reader matched besides our own: some other agent listens (maybe not `to`'s).
        const auto deadline = Clock::now() + wait;
        const auto listeners_by = Clock::now() + 3s;
        dds_publication_matched_status_t matched{};
        while (dds_get_publication_matched_status(request_writer_, &matched) == DDS_RETCODE_OK &&
               matched.current_count < 2 && Clock::now() < listeners_by) {
            std::this_thread::sleep_for(20ms);
        }
        dds_write(request_writer_, &request);
        std::unique_lock lock(rpc_mutex_);
        rpc_ready_.wait_until(lock, deadline, [&] { return !rpc_replies_[id].empty(); });
        auto reply = Json::parse(rpc_replies_[id], nullptr, false);
        rpc_replies_.erase(id);
        lock.unlock();
        if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok")) {
            reply = Json{{"ok", false},
                         {"error",
                          {{"kind", "timeout"},
                           {"message", "machine '" + to + "' did not answer within " +
                                           std::to_string(wait.count() / 1000) +
                                           " s: no zeroflow "
                                           "daemon --machine-id " +
                                           to +
                                           " (with its machine agent) "
                                           "is reachable in DDS domain " +
                                           std::to_string(o_.dds_domain)}}}};
        }
        answer(ticket, Json{{"reply", reply}});
    }

    /// Requests for this machine's daemon from other machines' agents, and replies to ours.
    void take_rpc() {
        std::array<void*, 8> samples{};
        std::array<dds_sample_info_t, 8> infos{};
        dds_return_t n = dds_take(request_reader_, samples.data(), infos.data(), 8, 8);
        for (dds_return_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const auto* r = static_cast<const zeroflow_bridge_RemoteRequest*>(samples[k]);
            if (infos[k].valid_data && r->id != nullptr && r->from_machine != nullptr &&
                r->to_machine != nullptr && r->request != nullptr && o_.machine == r->to_machine) {
                std::thread([this, id = std::string(r->id), from = std::string(r->from_machine),
                             text = std::string(r->request)] {
                    serve_remote(id, from, text);
                }).detach();
            }
        }
        if (n > 0) {
            dds_return_loan(request_reader_, samples.data(), n);
        }
        n = dds_take(reply_reader_, samples.data(), infos.data(), 8, 8);
        for (dds_return_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const auto* r = static_cast<const zeroflow_bridge_RemoteReply*>(samples[k]);
            if (infos[k].valid_data && r->id != nullptr && r->to_machine != nullptr &&
                r->reply != nullptr && o_.machine == r->to_machine) {
                const std::lock_guard lock(rpc_mutex_);
                if (const auto it = rpc_replies_.find(r->id); it != rpc_replies_.end()) {
                    it->second = r->reply;
                    rpc_ready_.notify_all();
                }
            }
        }
        if (n > 0) {
            dds_return_loan(reply_reader_, samples.data(), n);
        }
    }

    /// Asks this machine's daemon what another machine's agent forwarded; replies over DDS.
    void serve_remote(const std::string& id, const std::string& from, const std::string& text) {
        auto refused = [](const std::string& kind, const std::string& message) {
            return Json{{"ok", false}, {"error", {{"kind", kind}, {"message", message}}}};
        };
        Json reply;
        const auto request = Json::parse(text, nullptr, false);
        const auto op = request.is_object() ? request.value("op", std::string()) : std::string();
        const auto& allowed = protocol::kForwardableOps;
        if (std::find(allowed.begin(), allowed.end(), op) == allowed.end()) {
            reply = refused("bad_request", "'" + op + "' cannot be sent to another machine");
        } else if (const auto c = conflict(); !c.empty()) {
            reply = refused("bad_request", c);
        } else if (auto client = protocol::Client::connect(protocol::socket_path(runtime_dir_), 2s);
                   !client) {
            reply = refused("closed", "machine '" + o_.machine + "': its daemon does not answer: " +
                                          client.error().message);
        } else if (auto answer = client->request(request, protocol::forward_timeout(request));
                   !answer) {
            reply = refused("timeout", "machine '" + o_.machine + "': its daemon did not answer: " +
                                           answer.error().message);
        } else {
            reply = std::move(*answer);
        }
        const auto reply_text = reply.dump(-1, ' ', false, Json::error_handler_t::replace);
        zeroflow_bridge_RemoteReply r{};
        r.id = const_cast<char*>(id.c_str());
        r.to_machine = const_cast<char*>(from.c_str());
        r.reply = const_cast<char*>(reply_text.c_str());
        dds_write(reply_writer_, &r);
    }

    /// Says on "zeroflow/agents" that this agent is machine M (while it lives).
    bool announce_presence() {
        const auto topic = dds_create_topic(participant_, &zeroflow_bridge_AgentPresence_desc,
                                            "zeroflow/agents", nullptr, nullptr);
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
        dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 1);
        presence_writer_ = topic < 0 ? topic : dds_create_writer(participant_, topic, qos, nullptr);
        // An agent that is gone (its writer lost: ended, or Cyclone's lease) leaves the reader
        // at once, so that only live agents are read below.
        dds_qset_reader_data_lifecycle(qos, 0, DDS_INFINITY);
        presence_reader_ = topic < 0 ? topic : dds_create_reader(participant_, topic, qos, nullptr);
        dds_delete_qos(qos);
        if (presence_writer_ < 0 || presence_reader_ < 0) {
            return false;
        }
        std::array<char, 256> host{};
        ::gethostname(host.data(), host.size() - 1);
        host_ = host.data();
        std::random_device random;
        token_ =
            (std::uint64_t{random()} << 32) ^ random() ^ static_cast<std::uint64_t>(::getpid());
        zeroflow_bridge_AgentPresence p{};
        p.machine = const_cast<char*>(o_.machine.c_str());
        p.token = token_;
        p.host = const_cast<char*>(host_.c_str());
        p.pid = ::getpid();
        return dds_write(presence_writer_, &p) == DDS_RETCODE_OK;
    }

    /// Machine ids are unique in a domain: another live agent of this id is a conflict, and
    /// while it lasts this agent refuses every start and request (both agents do), saying so.
    /// Reads every live agent, up to kMaxAgents (loaned samples: nothing copied).
    void check_presence() {
        presence_samples_.assign(kMaxAgents, nullptr);
        presence_infos_.resize(kMaxAgents);
        auto& samples = presence_samples_;
        auto& infos = presence_infos_;
        const dds_return_t n =
            dds_read_mask(presence_reader_, samples.data(), infos.data(), kMaxAgents, kMaxAgents,
                          DDS_ANY_SAMPLE_STATE | DDS_ANY_VIEW_STATE | DDS_ALIVE_INSTANCE_STATE);
        std::string found;
        for (dds_return_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const auto* p = static_cast<const zeroflow_bridge_AgentPresence*>(samples[k]);
            if (infos[k].valid_data && infos[k].instance_state == DDS_IST_ALIVE &&
                p->machine != nullptr && o_.machine == p->machine && p->token != token_) {
                found = "machine id '" + o_.machine + "' is claimed by two daemons in DDS domain " +
                        std::to_string(o_.dds_domain) + " (this one, pid " +
                        std::to_string(o_.parent) + " on host " + host_ + ", and another on host " +
                        (p->host != nullptr ? p->host : "?") + ", its agent's pid " +
                        std::to_string(p->pid) +
                        "): give each machine its own zeroflow daemon --machine-id; until then "
                        "this machine starts nothing across machines and answers no request";
            }
        }
        if (n > 0) {
            dds_return_loan(presence_reader_, samples.data(), n);
        }
        const std::lock_guard lock(conflict_mutex_);
        if (found != conflict_) {
            log_.line(found.empty() ? "machine id conflict over" : found);
            conflict_ = found;
        }
    }

    std::string conflict() {
        const std::lock_guard lock(conflict_mutex_);
        return conflict_;
    }

    /// StartRequests from the other machines' agents: a bridge for this machine's part.
    void take_requests() {
        std::array<void*, 8> samples{};
        std::array<dds_sample_info_t, 8> infos{};
        const dds_return_t n = dds_take(reader_, samples.data(), infos.data(), 8, 8);
        for (dds_return_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const auto* r = static_cast<const zeroflow_bridge_StartRequest*>(samples[k]);
            if (infos[k].valid_data && r->id != nullptr && r->origin != nullptr &&
                r->name != nullptr && r->directory != nullptr && r->file_name != nullptr &&
                r->descriptor != nullptr) {
                start_remote(*r);
            }
        }
        if (n > 0) {
            dds_return_loan(reader_, samples.data(), n);
        }
    }

    void start_remote(const zeroflow_bridge_StartRequest& r) {
        const std::string origin = r.origin;
        if (origin == o_.machine || !seen_.insert(r.id).second) {
            return; // our own announcement, or one heard already
        }
        if (const auto c = conflict(); !c.empty()) {
            log_.line("start of dataflow '" + std::string(r.name) + "' from machine '" + origin +
                      "' not run here: " + c);
            return;
        }
        const std::string flow = r.name;
        const std::filesystem::path directory = r.directory;
        const std::filesystem::path file_name = r.file_name;
        auto refuse = [&](const std::string& why) {
            log_.line("start of dataflow '" + flow + "' from machine '" + origin +
                      "' not run here: " + why);
        };
        std::error_code ec;
        if (!is_valid_dataflow_name(flow) || !is_valid_dataflow_name(origin)) {
            return refuse("invalid name or origin");
        }
        if (!directory.is_absolute() || !std::filesystem::is_directory(directory, ec)) {
            return refuse("its directory " + directory.string() +
                          " is not a directory here (a dataflow's files are expected at the same "
                          "path on every machine)");
        }
        if (file_name.empty() || file_name.has_parent_path() ||
            std::strlen(r.descriptor) > kMaxDescriptorBytes) {
            return refuse("malformed request");
        }
        // The file as origin read it, beside where it lives there: its relative paths resolve
        // as on origin. Removed once the bridge ends.
        const auto file =
            directory / ("." + file_name.stem().string() + ".from-" + origin + "-" +
                         std::to_string(::getpid()) + "-" + std::to_string(++received_) + ".yml");
        {
            std::ofstream out(file, std::ios::trunc);
            out << r.descriptor;
            if (!out) {
                return refuse("cannot write " + file.string());
            }
        }
        const auto parsed = dataflow::parse_file(file);
        const auto machines =
            parsed.ok() ? machines_of(*parsed.descriptor, origin) : std::vector<std::string>{};
        if (std::find(machines.begin(), machines.end(), o_.machine) == machines.end()) {
            std::filesystem::remove(file, ec);
            return; // no node of it runs here (or it does not parse here: origin tells why)
        }
        const auto timeout =
            r.peer_timeout_s > 0 && r.peer_timeout_s < 3600 ? r.peer_timeout_s : 10;
        const auto start_timeout =
            r.start_timeout_s > 0 && r.start_timeout_s <= 86400 ? r.start_timeout_s : 60;
        const pid_t pid =
            spawn({self_.string(), file.string(), "--machine", o_.machine, "--name", flow,
                   "--dds-domain", std::to_string(o_.dds_domain), "--default-machine", origin,
                   "--run", std::string(r.id), "--peer-timeout", std::to_string(timeout),
                   "--start-timeout", std::to_string(start_timeout)},
                  flow, -1);
        if (pid < 0) {
            std::filesystem::remove(file, ec);
            return refuse(std::string("cannot run zeroflow-bridge: ") + std::strerror(errno));
        }
        log_.line("dataflow '" + flow + "' from machine '" + origin + "': bridge " +
                  std::to_string(pid) +
                  " runs this machine's part (log: " + log_path(flow).string() + ")");
        add(Bridge{pid, flow, file});
    }

    std::filesystem::path log_path(const std::string& flow) const {
        return runtime_dir_ / ("bridge-" + flow + ".log");
    }

    /// Runs zeroflow-bridge with `args` (output appended to its log); `report_fd` becomes its
    /// descriptor 3 when >= 0. The pid, or -1 (errno set).
    pid_t spawn(const std::vector<std::string>& args, const std::string& flow, int report_fd) {
        daemon::ExecStrings argv(args);
        auto env = daemon::ExecStrings::current_environment();
        const auto log_file = log_path(flow).string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        int moved = -1;
        if (report_fd >= 0) {
            // dup2 onto itself would keep close-on-exec: move it above 3 first.
            moved = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 10);
            if (moved < 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -1;
            }
            posix_spawn_file_actions_adddup2(&actions, moved, 3);
        }
        pid_t pid = -1;
        const int rc =
            ::posix_spawn(&pid, self_.c_str(), &actions, nullptr, argv.data(), env.data());
        posix_spawn_file_actions_destroy(&actions);
        if (moved >= 0) {
            ::close(moved);
        }
        if (rc != 0) {
            errno = rc;
            return -1;
        }
        return pid;
    }

    void add(Bridge bridge) {
        const std::lock_guard lock(mutex_);
        bridges_.push_back(std::move(bridge));
    }

    /// Collects the bridges that ended (all of them, waiting, when `block`).
    void reap(bool block) {
        const std::lock_guard lock(mutex_);
        std::erase_if(bridges_, [&](const Bridge& b) {
            int status = 0;
            if (::waitpid(b.pid, &status, block ? 0 : WNOHANG) != b.pid) {
                return false;
            }
            std::error_code ec;
            if (!b.remove_after.empty()) {
                std::filesystem::remove(b.remove_after, ec);
            }
            log_.line("bridge " + std::to_string(b.pid) + " of dataflow '" + b.flow + "' ended (" +
                      (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                         : "signal " + std::to_string(WTERMSIG(status))) +
                      ")");
            return true;
        });
    }

    /// SIGTERM to every bridge (each stops its part and tells the other machines), then waits
    /// for them: at most 15 s, then SIGKILL.
    void end_bridges() {
        {
            const std::lock_guard lock(mutex_);
            for (const auto& b : bridges_) {
                ::kill(b.pid, SIGTERM);
            }
        }
        const auto deadline = Clock::now() + 10s; // below the daemon's 15 s for this agent
        for (;;) {
            reap(false);
            const std::lock_guard lock(mutex_);
            if (bridges_.empty()) {
                return;
            }
            if (Clock::now() >= deadline) {
                for (const auto& b : bridges_) {
                    ::kill(b.pid, SIGKILL);
                }
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        reap(true);
    }

    const AgentOptions& o_;
    Log log_;
    std::filesystem::path self_;
    std::filesystem::path runtime_dir_;
    dds_entity_t participant_ = 0;
    dds_entity_t writer_ = 0;
    dds_entity_t reader_ = 0;
    dds_entity_t presence_writer_ = 0;
    dds_entity_t presence_reader_ = 0;
    std::uint64_t token_ = 0;
    std::vector<void*> presence_samples_;           ///< check_presence's loan
    std::vector<dds_sample_info_t> presence_infos_; ///< and its sample infos
    std::string host_;
    std::mutex conflict_mutex_;
    std::string conflict_; ///< why this machine id is claimed twice; empty: it is not
    dds_entity_t request_writer_ = 0;
    dds_entity_t request_reader_ = 0;
    dds_entity_t reply_writer_ = 0;
    dds_entity_t reply_reader_ = 0;
    std::mutex rpc_mutex_;
    std::condition_variable rpc_ready_;
    std::map<std::string, std::string> rpc_replies_; ///< id -> reply text (empty: none yet)
    std::atomic<bool> daemon_gone_{false};
    std::set<std::string> seen_;
    std::uint64_t received_ = 0;
    std::mutex mutex_;
    std::vector<Bridge> bridges_;
};

} // namespace

int run_agent(const AgentOptions& options, std::ostream& err) {
    // The daemon's child: it ends with the daemon, however the daemon ends. (An older daemon
    // may have left SIGTERM blocked: unblocked, for this and for the bridges it runs.)
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    ::pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (options.parent != 0 && ::getppid() != options.parent) {
        err << "zeroflow-bridge --agent: the daemon " << options.parent << " is gone\n";
        return 1;
    }
    cli::InterruptScope interrupts;
    Agent agent(options, err);
    const int rc = agent.run();
    // The thread waiting on the daemon may still block in its request: end without joining it.
    err.flush();
    std::_Exit(rc);
}

} // namespace zeroflow::bridge
