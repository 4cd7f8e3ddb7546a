// Starts across machines: a `start` whose dataflow places nodes on other machines is handed to
// the machine agent (zeroflow-bridge --agent, run beside `zeroflow daemon --machine-id`), which
// waits here with a `machine_agent` request; its `machine_agent_result` answers the start
// (docs/design/machines.md#who-coordinates-a-start, the ops: protocol/machine_agent.hpp).
#include <algorithm>

#include <zeroflow/protocol/machine_agent.hpp>

#include "log.hpp"
#include "supervisor.hpp"

namespace zeroflow::daemon {

namespace {

/// How long a start across machines waits for an agent to take it: the agent connects within
/// moments of the daemon's start and comes back within moments of each start it took.
constexpr std::chrono::seconds kAgentWait{5};

} // namespace

void Supervisor::hand_to_agent(ConnId conn, std::string kind, Json payload) {
    const auto ticket = next_ticket_++;
    payload["ticket"] = ticket;
    log()->debug("{} (ticket {}) goes to the machine agent", kind, ticket);
    agent_queue_.push_back(
        AgentStart{ticket, conn, std::move(kind), std::move(payload), clock_.now()});
    feed_agent();
}

Outcome<std::optional<Json>> Supervisor::handle_forward(ConnId conn, const Json& req) {
    auto machine = protocol::get_string(req, "machine");
    auto request = protocol::get_object(req, "request");
    if (!machine || !request) {
        return std::unexpected(bad_request(!machine ? machine.error() : request.error()));
    }
    auto op = protocol::get_op(*request);
    if (!op) {
        return std::unexpected(bad_request(op.error()));
    }
    const auto& allowed = protocol::kForwardableOps;
    if (std::find(allowed.begin(), allowed.end(), *op) == allowed.end()) {
        std::string names;
        for (const auto name : allowed) {
            names += (names.empty() ? "" : ", ") + std::string(name);
        }
        return std::unexpected(RequestError{
            protocol::DaemonErrorKind::bad_request,
            "'" + *op + "' cannot be sent to another machine (those that can: " + names + ")"});
    }
    if (options_.machine_id.empty()) {
        return std::unexpected(RequestError{
            protocol::DaemonErrorKind::bad_request,
            "this daemon has no machine id, so it reaches no other machine: run it as zeroflow "
            "daemon --machine-id NAME"});
    }
    if (*machine == options_.machine_id) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "machine '" + *machine +
                                                "' is this daemon's own: send the request "
                                                "without forward"});
    }
    if (shutting_down_) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::shutting_down, "the daemon is shutting down"});
    }
    hand_to_agent(conn, "forward", Json{{"machine", *machine}, {"request", std::move(*request)}});
    return std::nullopt; // answered with the other daemon's reply, as it is
}

void Supervisor::feed_agent() {
    if (!agent_conn_ || agent_queue_.empty()) {
        return;
    }
    auto next = std::move(agent_queue_.front());
    agent_queue_.erase(agent_queue_.begin());
    const auto conn = *agent_conn_;
    agent_conn_.reset(); // it comes back with a new machine_agent request
    // A bound on every handed request, whatever happens to the agent: a start may take its
    // start timeout plus the machines' barrier; a forward its forward_timeout (10 s, a stop its
    // grace more), and its way back.
    const auto start_timeout = protocol::start_timeout_of(next.payload);
    const auto bound =
        next.kind == "start"
            ? std::chrono::milliseconds(static_cast<std::int64_t>(start_timeout * 1000) + 60000)
            : protocol::forward_timeout(next.payload.value("request", Json::object())) +
                  std::chrono::milliseconds(20000);
    agent_in_flight_[next.ticket] = AgentInFlight{next.client, next.kind, clock_.now() + bound};
    replier_.reply(conn, protocol::ok_reply({{next.kind, std::move(next.payload)}}));
}

Outcome<std::optional<Json>> Supervisor::handle_machine_agent(ConnId conn, const Json& req) {
    auto machine = protocol::get_string(req, "machine");
    if (!machine) {
        return std::unexpected(bad_request(machine.error()));
    }
    if (shutting_down_) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::shutting_down, "the daemon is shutting down"});
    }
    if (*machine != options_.machine_id || options_.machine_id.empty()) {
        return std::unexpected(RequestError{
            protocol::DaemonErrorKind::bad_request,
            "a machine agent for machine '" + *machine + "' does not belong to this daemon (" +
                (options_.machine_id.empty() ? std::string("it has no machine id")
                                             : "machine '" + options_.machine_id + "'") +
                ")"});
    }
    if (agent_conn_ && *agent_conn_ != conn) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "a machine agent already waits on this daemon"});
    }
    agent_conn_ = conn;
    feed_agent();
    return std::nullopt; // answered when a start is handed over
}

Outcome<std::optional<Json>> Supervisor::handle_machine_agent_result(ConnId, const Json& req) {
    auto ticket = protocol::get_uint(req, "ticket");
    auto uuid = protocol::get_optional_string(req, "uuid");
    auto error = protocol::get_optional_string(req, "error");
    auto name = protocol::get_optional_string(req, "name");
    for (const auto* field : {&uuid, &error, &name}) {
        if (!*field) {
            return std::unexpected(bad_request(field->error()));
        }
    }
    if (!ticket) {
        return std::unexpected(bad_request(ticket.error()));
    }
    // A forwarded request's answer: the other daemon's whole reply, passed on as it is.
    const auto reply = req.find("reply");
    const bool has_reply = reply != req.end();
    if (has_reply &&
        (!reply->is_object() || !reply->contains("ok") || !(*reply)["ok"].is_boolean())) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::bad_request,
                                            "field 'reply' must be a reply object (with ok)"});
    }
    if (int{uuid->has_value()} + int{error->has_value()} + int{has_reply} != 1) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::bad_request,
                         "a machine_agent_result has one of uuid, error, reply"});
    }
    const auto it = agent_in_flight_.find(*ticket);
    if (it == agent_in_flight_.end()) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::bad_request,
                         "no request waits for ticket " + std::to_string(*ticket) +
                             " (answered already, or handed out by an earlier daemon)"});
    }
    const auto client = it->second.client;
    agent_in_flight_.erase(it);
    if (has_reply) {
        replier_.reply(client, *reply);
    } else if (uuid->has_value()) {
        log()->info("start across machines (ticket {}) runs here as {}", *ticket, **uuid);
        replier_.reply(client,
                       protocol::ok_reply({{"uuid", **uuid}, {"name", name->value_or("")}}));
    } else {
        log()->warn("start across machines (ticket {}) failed: {}", *ticket, **error);
        replier_.reply(client,
                       error_reply(RequestError{protocol::DaemonErrorKind::start_failed, **error}));
    }
    return Json::object();
}

std::optional<Clock::time_point> Supervisor::agent_deadlines(Clock::time_point now) {
    std::optional<Clock::time_point> next;
    auto sooner = [&next](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (auto it = agent_in_flight_.begin(); it != agent_in_flight_.end();) {
        if (now < it->second.deadline) {
            sooner(it->second.deadline);
            ++it;
            continue;
        }
        log()->warn("{} (ticket {}) got no answer from the machine agent in time", it->second.kind,
                    it->first);
        replier_.reply(it->second.client,
                       error_reply(RequestError{
                           it->second.kind == "start" ? protocol::DaemonErrorKind::start_failed
                                                      : protocol::DaemonErrorKind::timeout,
                           "the machine agent did not answer this " + it->second.kind +
                               " in time; see agent.log in the daemon's runtime directory"}));
        it = agent_in_flight_.erase(it);
    }
    std::vector<AgentStart> late;
    std::erase_if(agent_queue_, [&](AgentStart& s) {
        if (now - s.queued < kAgentWait) {
            return false;
        }
        late.push_back(std::move(s));
        return true;
    });
    for (const auto& s : late) {
        replier_.reply(
            s.client,
            error_reply(RequestError{
                s.kind == "start" ? protocol::DaemonErrorKind::start_failed
                                  : protocol::DaemonErrorKind::timeout,
                "no machine agent took this request for other machines within " +
                    std::to_string(kAgentWait.count()) +
                    " s: zeroflow daemon --machine-id runs zeroflow-bridge --agent beside itself "
                    "(it must be installed beside zeroflow, or named by ZEROFLOW_BRIDGE); see "
                    "the daemon's log and agent.log in its runtime directory"}));
    }
    if (!agent_queue_.empty()) {
        sooner(agent_queue_.front().queued + kAgentWait);
    }
    return next;
}

void Supervisor::agent_disconnected(ConnId conn) {
    if (agent_conn_ == conn) {
        // The agent comes back with a new request right after each reply: a waiting request
        // that closes means the agent is gone, and so is every start it had taken.
        agent_conn_.reset();
        log()->warn("the machine agent's connection closed: its starts fail");
        for (const auto& [ticket, in_flight] : agent_in_flight_) {
            replier_.reply(in_flight.client,
                           error_reply(RequestError{
                               protocol::DaemonErrorKind::start_failed,
                               "the machine agent (zeroflow-bridge --agent) ended during this "
                               "request for other machines; see agent.log in the daemon's "
                               "runtime directory"}));
        }
        agent_in_flight_.clear();
    }
    std::erase_if(agent_queue_, [conn](const AgentStart& s) { return s.client == conn; });
}

void Supervisor::fail_agent_starts(protocol::DaemonErrorKind kind, const std::string& why) {
    for (const auto& s : agent_queue_) {
        replier_.reply(s.client, error_reply(RequestError{kind, why}));
    }
    agent_queue_.clear();
    for (const auto& [ticket, in_flight] : agent_in_flight_) {
        replier_.reply(in_flight.client, error_reply(RequestError{kind, why}));
    }
    agent_in_flight_.clear();
    if (agent_conn_) {
        replier_.reply(*agent_conn_, error_reply(RequestError{kind, why}));
        agent_conn_.reset();
    }
}

} // namespace zeroflow::daemon
