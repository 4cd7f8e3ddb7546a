// The `remote_parts` request: what zeroflow-bridge tells its local daemon about the other
// machines of a dataflow it started there (each machine, its state, its nodes), its one encoder
// and decoder, and the machine states (docs/design/machines.md, "What the daemon knows").
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zeroflow/protocol/common.hpp>

namespace zeroflow::protocol {

/// The request's `"op"`.
inline constexpr std::string_view kRemotePartsOp = "remote_parts";
/// At most this many other machines per dataflow, and node ids per request.
inline constexpr std::size_t kMaxRemoteMachines = 64;
inline constexpr std::size_t kMaxRemoteNodes = 4096;

/// A machine's state as its bridge announces it on the dataflow's control topic: `present`
/// reads as starting, `running`, `done`, `stop` as stopped, and a bridge whose DDS participant
/// is gone (its lease expired: the machine died or its link is down) as lost.
enum class RemoteState : std::uint8_t { starting, running, done, stopped, lost };

/// "starting", "running", "done", "stopped", "lost".
std::string_view to_string(RemoteState state) noexcept;
std::optional<RemoteState> parse_remote_state(std::string_view name) noexcept;

struct RemoteMachine {
    std::string machine;
    RemoteState state = RemoteState::starting;
    std::vector<std::string> nodes; ///< the dataflow's nodes placed on it
};

struct RemoteParts {
    std::string dataflow;                ///< the local dataflow (UUID) the bridge started
    std::vector<RemoteMachine> machines; ///< every other machine of the dataflow
    /// Local nodes that stand in for a remote node of the same id (subscribe pumps).
    std::vector<std::string> stand_ins;
};

/// `{"op": "remote_parts", "dataflow", "machines": [{"machine", "state", "nodes": [...]}],
/// "stand_ins": [...]}`.
Json to_json(const RemoteParts& parts);

/// The request's fields, checked for shape: every field present and of its type, machine
/// names and node ids non-empty (at most 128 characters), states known, no machine twice, no
/// node twice (on one machine or two), every stand-in one of the remote nodes, within the
/// limits above. The message says which field is wrong. What it names (the dataflow, clashes
/// with the local part) is the daemon's to check.
std::expected<RemoteParts, std::string> remote_parts_from_json(const Json& request);

} // namespace zeroflow::protocol
