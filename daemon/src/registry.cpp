// The registry's lookups and bindings (registry.hpp).
#include "registry.hpp"

#include <algorithm>

namespace zeroflow::daemon {

const protocol::RemoteMachine* remote_machine_of(const DataflowState& df,
                                                 const std::string& node_id) {
    for (const auto& m : df.remote_machines) {
        if (std::find(m.nodes.begin(), m.nodes.end(), node_id) != m.nodes.end()) {
            return &m;
        }
    }
    return nullptr;
}

RequestError remote_node_error(const DataflowState& df, const protocol::RemoteMachine& machine,
                               const std::string& node_id) {
    const bool stand_in =
        std::find(df.stand_ins.begin(), df.stand_ins.end(), node_id) != df.stand_ins.end();
    return RequestError{
        protocol::DaemonErrorKind::remote_node,
        "node '" + node_id + "' of dataflow " + (df.name.empty() ? df.uuid : "'" + df.name + "'") +
            " runs on machine '" + machine.machine +
            "' (state: " + std::string(protocol::to_string(machine.state)) + "), not here" +
            (df.machine.empty() ? "" : " (machine '" + df.machine + "')") +
            (stand_in ? "; here it has only zeroflow-bridge's stand-in, which brings its outputs"
                      : "") +
            ": ask that machine's daemon (run the command on machine '" + machine.machine + "')"};
}
namespace {

/// Finished dataflows kept for wait, logs and list.
constexpr std::size_t kKeepFinished = 32;

} // namespace

std::string list_dataflows(const std::vector<DataflowState*>& dataflows) {
    std::string out;
    for (const auto* df : dataflows) {
        out += "\n  " + df->uuid + (df->name.empty() ? "" : " (" + df->name + ")");
    }
    return out;
}

DataflowState& Registry::add(std::unique_ptr<DataflowState> df) {
    auto* state = df.get();
    const auto key = state->uuid;
    dataflows_.emplace(key, std::move(df));
    return *state;
}

DataflowState* Registry::get(const std::string& uuid) noexcept {
    const auto it = dataflows_.find(uuid);
    return it == dataflows_.end() ? nullptr : it->second.get();
}

Outcome<DataflowState*> Registry::find_dataflow(const std::string& key, bool running_only) {
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
            return std::unexpected(RequestError{
                protocol::DaemonErrorKind::ambiguous_dataflow,
                "'" + key + "' is the start of several dataflows' IDs; give more of it:" +
                    list_dataflows(hits)});
        }
    }
    return std::unexpected(
        RequestError{protocol::DaemonErrorKind::no_such_dataflow,
                     "no running dataflow with ID, ID prefix or name '" + key + "'"});
}

Outcome<DataflowState*> Registry::find_only_running() {
    const auto live = this->live();
    if (live.empty()) {
        return std::unexpected(
            RequestError{protocol::DaemonErrorKind::no_such_dataflow, "no running dataflow"});
    }
    if (live.size() > 1) {
        return std::unexpected(RequestError{protocol::DaemonErrorKind::ambiguous_dataflow,
                                            "several dataflows are running; name one of them:" +
                                                list_dataflows(live)});
    }
    return live.front();
}

Outcome<NodeState*> Registry::find_node(DataflowState& df, const std::string& node_id) {
    for (auto& n : df.nodes) {
        if (n.id == node_id) {
            return &n;
        }
    }
    return std::unexpected(RequestError{protocol::DaemonErrorKind::no_such_node,
                                        "dataflow " + df.uuid + " has no node '" + node_id + "'"});
}

DataflowState* Registry::live_named(const std::string& name) noexcept {
    for (const auto& [uuid, df] : dataflows_) {
        if (is_live(*df) && df->name == name) {
            return df.get();
        }
    }
    return nullptr;
}

std::vector<DataflowState*> Registry::live() {
    std::vector<DataflowState*> out;
    for (auto& [uuid, df] : dataflows_) {
        if (is_live(*df)) {
            out.push_back(df.get());
        }
    }
    return out;
}

std::size_t Registry::active_count() const noexcept {
    return static_cast<std::size_t>(std::count_if(
        dataflows_.begin(), dataflows_.end(), [](const auto& kv) { return is_live(*kv.second); }));
}

void Registry::retire(const std::string& uuid) {
    finished_order_.push_back(uuid);
    while (finished_order_.size() > kKeepFinished) {
        dataflows_.erase(finished_order_.front());
        finished_order_.pop_front();
    }
}

void Registry::bind_node(ConnId conn, const std::string& uuid, std::uint32_t index) {
    node_conns_[conn] = Binding{uuid, index};
}

void Registry::bind_tap(ConnId conn, const std::string& uuid, std::uint32_t tap) {
    tap_conns_[conn] = Binding{uuid, tap};
}

std::optional<Binding> Registry::node_of(ConnId conn) const {
    const auto it = node_conns_.find(conn);
    return it == node_conns_.end() ? std::nullopt : std::optional<Binding>(it->second);
}

std::optional<Binding> Registry::tap_of(ConnId conn) const {
    const auto it = tap_conns_.find(conn);
    return it == tap_conns_.end() ? std::nullopt : std::optional<Binding>(it->second);
}

bool Registry::unbind(ConnId conn) noexcept {
    return node_conns_.erase(conn) + tap_conns_.erase(conn) > 0;
}

std::size_t Registry::dynamic_connected() const {
    std::size_t count = 0;
    for (const auto& [conn, where] : node_conns_) {
        const auto it = dataflows_.find(where.uuid);
        if (it != dataflows_.end() && it->second->nodes[where.index].dynamic) {
            ++count;
        }
    }
    return count;
}

} // namespace zeroflow::daemon
