// Names of protocol error codes.
#include <zeroflow/protocol/common.hpp>

namespace zeroflow::protocol {

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
    case ErrorCode::frame_too_large:
        return "frame_too_large";
    case ErrorCode::bad_frame:
        return "bad_frame";
    case ErrorCode::bad_request:
        return "bad_request";
    case ErrorCode::unknown_op:
        return "unknown_op";
    case ErrorCode::io_error:
        return "io_error";
    case ErrorCode::timeout:
        return "timeout";
    case ErrorCode::closed:
        return "closed";
    case ErrorCode::peer_refused:
        return "peer_refused";
    case ErrorCode::protocol_mismatch:
        return "protocol_mismatch";
    }
    return "unknown_error";
}

} // namespace zeroflow::protocol
