// The registry: every dataflow the daemon knows (live ones and the last finished ones) by UUID,
// which connection is which node or observer tap, and the lookups every request goes through
// (a value or a typed error, nothing touched). Supervisor thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "request_error.hpp"
#include "state.hpp"

namespace zeroflow::daemon {

/// Where a connection is bound: a node (its index) or an observer tap (its index in `taps`).
struct Binding {
    std::string uuid;
    std::uint32_t index = 0;
};

/// The other machine that runs `df`'s node `node_id` (remote_parts: a stand-in's too), else
/// nullptr.
const protocol::RemoteMachine* remote_machine_of(const DataflowState& df,
                                                 const std::string& node_id);
/// The remote_node error of `df`'s node `node_id`, which runs on `machine`.
RequestError remote_node_error(const DataflowState& df, const protocol::RemoteMachine& machine,
                               const std::string& node_id);

/// "\n  <uuid> (<name>)" per dataflow: the list an ambiguity error shows.
std::string list_dataflows(const std::vector<DataflowState*>& dataflows);

class Registry {
public:
    using Map = std::map<std::string, std::unique_ptr<DataflowState>>;

    /// Adds a new dataflow (its uuid is its key); returns it.
    DataflowState& add(std::unique_ptr<DataflowState> df);
    /// By exact UUID, else nullptr.
    DataflowState* get(const std::string& uuid) noexcept;
    Map& dataflows() noexcept { return dataflows_; }
    const Map& dataflows() const noexcept { return dataflows_; }

    /// By UUID, name (a live one first, else the latest) or unique UUID prefix (4+ characters):
    /// no_such_dataflow or ambiguous_dataflow otherwise. `running_only`: live ones only.
    Outcome<DataflowState*> find_dataflow(const std::string& key, bool running_only);
    /// The one live dataflow: no_such_dataflow when none, ambiguous_dataflow when several.
    Outcome<DataflowState*> find_only_running();
    /// A node of `df` by id, else no_such_node.
    static Outcome<NodeState*> find_node(DataflowState& df, const std::string& node_id);
    /// The live dataflow named `name`, else nullptr.
    DataflowState* live_named(const std::string& name) noexcept;
    /// Live dataflows (starting, running, stopping), in UUID order.
    std::vector<DataflowState*> live();
    std::size_t active_count() const noexcept;
    /// A dataflow finished: it is kept for wait, logs and list among the last 32, then goes.
    void retire(const std::string& uuid);

    // Connections.
    void bind_node(ConnId conn, const std::string& uuid, std::uint32_t index);
    void bind_tap(ConnId conn, const std::string& uuid, std::uint32_t tap);
    std::optional<Binding> node_of(ConnId conn) const;
    std::optional<Binding> tap_of(ConnId conn) const;
    bool is_node(ConnId conn) const noexcept { return node_conns_.contains(conn); }
    bool is_tap(ConnId conn) const noexcept { return tap_conns_.contains(conn); }
    /// Forgets the connection's binding (node or tap); true when it had one.
    bool unbind(ConnId conn) noexcept;
    /// Dynamic nodes connected now, over every dataflow.
    std::size_t dynamic_connected() const;

private:
    Map dataflows_; ///< by UUID
    std::deque<std::string> finished_order_;
    std::map<ConnId, Binding> node_conns_;
    std::map<ConnId, Binding> tap_conns_;
};

} // namespace zeroflow::daemon
