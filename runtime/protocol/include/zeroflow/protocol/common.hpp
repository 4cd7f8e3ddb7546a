// Shared vocabulary of the control protocol: version, size limit, the JSON type, and the
// error type every protocol function returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace zeroflow::protocol {

/// Version of the wire protocol. Bumped on any incompatible change to framing or requests.
/// 2: chunk metadata; 3: segment fd by SCM_RIGHTS; 4: observer taps (segment layout 4)
inline constexpr std::uint32_t kProtocolVersion = 4;

/// Name of the request field that carries the sender's protocol version.
inline constexpr std::string_view kProtocolVersionField = "protocol_version";

/// Largest JSON body of one frame (the 4-byte length prefix is not counted).
inline constexpr std::size_t kDefaultMaxFrameSize = 1u << 20;

/// Deepest nesting of arrays/objects a frame may contain. Deeper frames are `bad_frame`: it
/// keeps recursive code (copies, dumps, handlers) on the receiving side safe from hostile input.
inline constexpr std::size_t kMaxNestingDepth = 128;

using Json = nlohmann::json;

/// Errors of the protocol layer itself (framing, transport, field access). Errors of requests
/// (`no_such_dataflow`, ...) belong to the daemon and travel as plain strings in replies.
enum class ErrorCode : std::uint8_t {
    frame_too_large,   ///< length prefix above the receiver's limit
    bad_frame,         ///< body is not valid UTF-8, not JSON, not an object, or nested too deep
    bad_request,       ///< a well-formed frame whose fields are missing or of the wrong type
    unknown_op,        ///< `"op"` names no request the receiver knows
    io_error,          ///< a system call failed
    timeout,           ///< nothing (or not enough) arrived before the deadline
    closed,            ///< the peer hung up, or this connection was abandoned
    peer_refused,      ///< no one listens at the socket, or the peer is another user
    protocol_mismatch, ///< the peer speaks another protocol version
};

/// The snake_case name of `code`, as used for `"error": {"kind": ...}` ("frame_too_large", ...).
std::string_view to_string(ErrorCode code) noexcept;

struct ProtocolError {
    ErrorCode code;
    std::string message; ///< what happened and, where possible, what to do; for people
};

} // namespace zeroflow::protocol
