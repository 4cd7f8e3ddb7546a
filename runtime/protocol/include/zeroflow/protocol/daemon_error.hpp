// The one list of error kinds a reply's `"error": {"kind"}` may carry: the daemon names its
// errors with it, clients (node library, CLI) read them back with it (docs/errors.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <zeroflow/protocol/common.hpp>

namespace zeroflow::protocol {

/// Every kind of an error reply. The protocol layer's own kinds (ErrorCode) come first, under
/// the same names; then the daemon's request errors; then `bad_reply`, which only a client
/// makes (unwrap_reply of a reply without a usable shape). Values are contiguous from 0: add a
/// kind at the end, and map it where clients switch over this enum (the compiler's -Wswitch
/// names every such place).
enum class DaemonErrorKind : std::uint8_t {
    // ErrorCode's kinds, same order and names.
    frame_too_large,
    bad_frame,
    bad_request,
    unknown_op,
    io_error,
    timeout,
    closed,
    peer_refused,
    protocol_mismatch,
    // The daemon's request errors.
    bad_dataflow,           ///< `start` of a file that does not validate (every diagnostic)
    name_taken,             ///< `start --name N` while a running dataflow is named N
    shared_memory,          ///< the segment cannot be created or passed
    resource_limit,         ///< a daemon limit (the reply names it: `limit`, `limit_value`)
    out_of_memory,          ///< the daemon ran out of memory on this request (it serves on)
    start_failed,           ///< a node could not be spawned, exited early or did not register
    no_such_dataflow,       ///< no running (or known) dataflow of that UUID, prefix or name
    ambiguous_dataflow,     ///< several dataflows match (or run, when none was named)
    no_such_node,           ///< the dataflow has no node of that id
    node_not_dynamic,       ///< `connect_dynamic` to a node the daemon spawns
    node_is_dynamic,        ///< `register` (from_env) as a dynamic node
    ambiguous_node,         ///< several running dataflows have that dynamic node
    node_already_connected, ///< a second process for a node that has one
    dataflow_stopping,      ///< `register`/`connect_dynamic` to a dataflow being stopped
    dataflow_not_running,   ///< `attach_tap` to a dataflow that is not running
    no_such_output,         ///< `attach_tap` names an output the dataflow does not have
    busy,                   ///< a previous connection is still being reclaimed: retry
    shutting_down,          ///< `start` while the daemon is exiting
    internal,               ///< a bug caught at a handler's boundary
    remote_node,            ///< the node runs on another machine (zeroflow-bridge said so)
    // Made by clients only.
    bad_reply, ///< a reply without a boolean `ok` or without an `error` object
};

/// The wire name of `kind` ("no_such_dataflow", ...). Empty for a value outside the enum.
std::string_view to_string(DaemonErrorKind kind) noexcept;

/// The kind named `name`; nullopt for a name this side does not know (e.g. a newer daemon's).
std::optional<DaemonErrorKind> parse_daemon_error_kind(std::string_view name) noexcept;

/// The reply kind of a protocol-layer error (the same name).
DaemonErrorKind to_daemon_error_kind(ErrorCode code) noexcept;

} // namespace zeroflow::protocol
