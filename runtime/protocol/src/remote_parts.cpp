// The `remote_parts` request's encoder and decoder (remote_parts.hpp).
#include <set>

#include <zeroflow/protocol/message.hpp>
#include <zeroflow/protocol/remote_parts.hpp>

namespace zeroflow::protocol {
namespace {

constexpr std::size_t kMaxName = 128;

std::expected<std::vector<std::string>, std::string> names(const Json& value,
                                                           const std::string& field) {
    if (!value.is_array()) {
        return std::unexpected("'" + field + "' must be an array of strings");
    }
    std::vector<std::string> out;
    for (const auto& item : value) {
        if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
            item.get_ref<const std::string&>().size() > kMaxName) {
            return std::unexpected("'" + field + "' must hold strings of 1.." +
                                   std::to_string(kMaxName) + " characters");
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

} // namespace

std::string_view to_string(RemoteState state) noexcept {
    switch (state) {
    case RemoteState::starting:
        return "starting";
    case RemoteState::running:
        return "running";
    case RemoteState::done:
        return "done";
    case RemoteState::stopped:
        return "stopped";
    case RemoteState::lost:
        return "lost";
    }
    return {};
}

std::optional<RemoteState> parse_remote_state(std::string_view name) noexcept {
    for (auto s : {RemoteState::starting, RemoteState::running, RemoteState::done,
                   RemoteState::stopped, RemoteState::lost}) {
        if (to_string(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

Json to_json(const RemoteParts& parts) {
    Json machines = Json::array();
    for (const auto& m : parts.machines) {
        machines.push_back(
            Json{{"machine", m.machine}, {"state", to_string(m.state)}, {"nodes", m.nodes}});
    }
    return Json{{"op", kRemotePartsOp},
                {"dataflow", parts.dataflow},
                {"machines", machines},
                {"stand_ins", parts.stand_ins}};
}

std::expected<RemoteParts, std::string> remote_parts_from_json(const Json& request) {
    RemoteParts parts;
    auto dataflow = get_string(request, "dataflow"); // a request that is no object fails here
    if (!dataflow) {
        return std::unexpected(dataflow.error().message);
    }
    if (dataflow->empty()) {
        return std::unexpected("'dataflow' must be the UUID (or name) of the local dataflow");
    }
    parts.dataflow = std::move(*dataflow);
    const auto machines = get_array(request, "machines");
    if (!machines) {
        return std::unexpected(machines.error().message);
    }
    if (machines->size() > kMaxRemoteMachines) {
        return std::unexpected("'machines' names more than " + std::to_string(kMaxRemoteMachines) +
                               " machines");
    }
    std::set<std::string> seen_machines;
    std::set<std::string> seen_nodes;
    for (const auto& m : *machines) {
        if (!m.is_object()) {
            return std::unexpected(
                "'machines' must be an array of {\"machine\", \"state\", \"nodes\"} objects");
        }
        RemoteMachine machine;
        auto name = get_string(m, "machine");
        if (!name || name->empty() || name->size() > kMaxName) {
            return std::unexpected("each machine's 'machine' must be a name of 1.." +
                                   std::to_string(kMaxName) + " characters");
        }
        machine.machine = std::move(*name);
        if (!seen_machines.insert(machine.machine).second) {
            return std::unexpected("machine '" + machine.machine + "' is named twice");
        }
        const auto state = get_string(m, "state");
        const auto parsed = state ? parse_remote_state(*state) : std::nullopt;
        if (!parsed) {
            return std::unexpected("machine '" + machine.machine +
                                   "': 'state' must be one of starting, running, done, stopped, "
                                   "lost");
        }
        machine.state = *parsed;
        const auto nodes = m.find("nodes");
        if (nodes == m.end()) {
            return std::unexpected("machine '" + machine.machine + "': missing field 'nodes'");
        }
        auto ids = names(*nodes, "nodes");
        if (!ids) {
            return std::unexpected("machine '" + machine.machine + "': " + ids.error());
        }
        for (const auto& id : *ids) {
            if (!seen_nodes.insert(id).second) {
                return std::unexpected("node '" + id + "' is named twice");
            }
            if (seen_nodes.size() > kMaxRemoteNodes) {
                return std::unexpected("more than " + std::to_string(kMaxRemoteNodes) +
                                       " remote nodes");
            }
        }
        machine.nodes = std::move(*ids);
        parts.machines.push_back(std::move(machine));
    }
    if (const auto stand_ins = request.find("stand_ins"); stand_ins != request.end()) {
        auto ids = names(*stand_ins, "stand_ins");
        if (!ids) {
            return std::unexpected(ids.error());
        }
        for (const auto& id : *ids) {
            if (!seen_nodes.contains(id)) {
                return std::unexpected("stand-in '" + id + "' is not a node of another machine");
            }
        }
        parts.stand_ins = std::move(*ids);
    }
    return parts;
}

} // namespace zeroflow::protocol
