// Names of reply error kinds, and the protocol layer's codes among them.
#include <zeroflow/protocol/daemon_error.hpp>

namespace zeroflow::protocol {

std::string_view to_string(DaemonErrorKind kind) noexcept {
    switch (kind) {
    case DaemonErrorKind::frame_too_large:
        return "frame_too_large";
    case DaemonErrorKind::bad_frame:
        return "bad_frame";
    case DaemonErrorKind::bad_request:
        return "bad_request";
    case DaemonErrorKind::unknown_op:
        return "unknown_op";
    case DaemonErrorKind::io_error:
        return "io_error";
    case DaemonErrorKind::timeout:
        return "timeout";
    case DaemonErrorKind::closed:
        return "closed";
    case DaemonErrorKind::peer_refused:
        return "peer_refused";
    case DaemonErrorKind::protocol_mismatch:
        return "protocol_mismatch";
    case DaemonErrorKind::bad_dataflow:
        return "bad_dataflow";
    case DaemonErrorKind::name_taken:
        return "name_taken";
    case DaemonErrorKind::shared_memory:
        return "shared_memory";
    case DaemonErrorKind::resource_limit:
        return "resource_limit";
    case DaemonErrorKind::out_of_memory:
        return "out_of_memory";
    case DaemonErrorKind::start_failed:
        return "start_failed";
    case DaemonErrorKind::no_such_dataflow:
        return "no_such_dataflow";
    case DaemonErrorKind::ambiguous_dataflow:
        return "ambiguous_dataflow";
    case DaemonErrorKind::no_such_node:
        return "no_such_node";
    case DaemonErrorKind::node_not_dynamic:
        return "node_not_dynamic";
    case DaemonErrorKind::node_is_dynamic:
        return "node_is_dynamic";
    case DaemonErrorKind::ambiguous_node:
        return "ambiguous_node";
    case DaemonErrorKind::node_already_connected:
        return "node_already_connected";
    case DaemonErrorKind::dataflow_stopping:
        return "dataflow_stopping";
    case DaemonErrorKind::dataflow_not_running:
        return "dataflow_not_running";
    case DaemonErrorKind::no_such_output:
        return "no_such_output";
    case DaemonErrorKind::busy:
        return "busy";
    case DaemonErrorKind::shutting_down:
        return "shutting_down";
    case DaemonErrorKind::internal:
        return "internal";
    case DaemonErrorKind::remote_node:
        return "remote_node";
    case DaemonErrorKind::bad_reply:
        return "bad_reply";
    }
    return {};
}

std::optional<DaemonErrorKind> parse_daemon_error_kind(std::string_view name) noexcept {
    // The values are contiguous from 0 and to_string ends them with an empty name, so this walks
    // the one list above rather than a second one.
    for (std::uint8_t i = 0;; ++i) {
        const auto kind = static_cast<DaemonErrorKind>(i);
        const auto text = to_string(kind);
        if (text.empty()) {
            return std::nullopt;
        }
        if (text == name) {
            return kind;
        }
    }
}

DaemonErrorKind to_daemon_error_kind(ErrorCode code) noexcept {
    switch (code) {
    case ErrorCode::frame_too_large:
        return DaemonErrorKind::frame_too_large;
    case ErrorCode::bad_frame:
        return DaemonErrorKind::bad_frame;
    case ErrorCode::bad_request:
        return DaemonErrorKind::bad_request;
    case ErrorCode::unknown_op:
        return DaemonErrorKind::unknown_op;
    case ErrorCode::io_error:
        return DaemonErrorKind::io_error;
    case ErrorCode::timeout:
        return DaemonErrorKind::timeout;
    case ErrorCode::closed:
        return DaemonErrorKind::closed;
    case ErrorCode::peer_refused:
        return DaemonErrorKind::peer_refused;
    case ErrorCode::protocol_mismatch:
        return DaemonErrorKind::protocol_mismatch;
    }
    return DaemonErrorKind::internal;
}

} // namespace zeroflow::protocol
