// The one error type node code sees: a kind to branch on and a message that says what to do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace zeroflow {

/// New kinds go at the end: the values are the C API's status codes minus one (node.h).
enum class ErrorKind : std::uint8_t {
    invalid_argument,       ///< the call itself is wrong (unknown output, foreign sample, ...)
    message_too_large,      ///< loan above the output's max_message_size
    pool_exhausted,         ///< every chunk of the output is in flight
    no_space,               ///< /dev/shm is full
    closed,                 ///< the output or the dataflow is closed / finished
    daemon_unreachable,     ///< no daemon listens on the runtime directory's socket
    protocol_mismatch,      ///< library and daemon speak different protocol versions
    no_such_dataflow,       ///< no running dataflow with that ID or name
    no_such_node,           ///< the dataflow has no node of that ID
    node_not_dynamic,       ///< connect_dynamic on a node the daemon spawns
    ambiguous_node,         ///< several running dataflows have such a dynamic node
    node_already_connected, ///< another process is that node already
    missing_environment,    ///< from_env outside a node the daemon started
    shared_memory,          ///< the dataflow's segment could not be opened or is invalid
    timeout,                ///< the daemon did not answer in time
    internal,               ///< anything else; the message says what
    metadata_too_large,     ///< a message's parameters exceed the output's max_metadata_size
    node_is_dynamic,        ///< from_env as a node the dataflow declares dynamic
};

/// Stable snake_case name of a kind, e.g. "pool_exhausted".
std::string_view to_string(ErrorKind kind) noexcept;

class Error {
public:
    Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
    ErrorKind kind() const noexcept { return kind_; }
    const std::string& message() const noexcept { return message_; }

private:
    ErrorKind kind_;
    std::string message_;
};

} // namespace zeroflow
