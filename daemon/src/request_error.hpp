// A request's typed error (its reply's error kind and message) and the replies made of one.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include <zeroflow/protocol/protocol.hpp>

namespace zeroflow::daemon {

using Json = protocol::Json;

/// A typed request error: the reply's error kind and message (and for `resource_limit`, the
/// limit's name and value, sent as error.limit and error.limit_value).
struct RequestError {
    RequestError(protocol::DaemonErrorKind kind_, std::string message_, std::string limit_ = {},
                 std::uint64_t limit_value_ = 0)
        : kind(kind_), message(std::move(message_)), limit(std::move(limit_)),
          limit_value(limit_value_) {}
    protocol::DaemonErrorKind kind;
    std::string message;
    std::string limit;
    std::uint64_t limit_value = 0;
};

/// The `resource_limit` error for limit `name` (a Limits field) of `value`.
RequestError limit_error(std::string_view name, std::uint64_t value, const std::string& what);
/// Its reply: {"ok": false, "error": {"kind": "resource_limit", "message", "limit",
/// "limit_value"}}.
Json limit_reply(std::string_view name, std::uint64_t value, const std::string& what);
Json error_reply(const RequestError& error);
/// The error of a malformed request field (bad_request, protocol_mismatch, ...).
RequestError bad_request(const protocol::ProtocolError& e);

template <typename T>
using Outcome = std::expected<T, RequestError>;

} // namespace zeroflow::daemon
