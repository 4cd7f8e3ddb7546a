// Building replies and reading request fields with typed, user-readable errors.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/daemon_error.hpp>

namespace zeroflow::protocol {

/// `{"ok": true, ...fields}`. A non-object `fields` (e.g. an array) goes under `"result"`.
/// `"ok"` is always true, whatever `fields` held.
Json ok_reply(Json fields = Json::object());

/// `{"ok": false, "error": {"kind": to_string(kind), "message": message}}`.
Json error_reply(DaemonErrorKind kind, std::string_view message);
/// The error reply for a protocol-layer error (the kind of the same name).
Json error_reply(const ProtocolError& error);

/// An error reply as a client sees it: the daemon's kind and message. The kind stays text (a
/// newer daemon may name one this side does not know): parse_daemon_error_kind reads it.
struct RemoteError {
    std::string kind;
    std::string message;
    /// Whether the reply's kind is `k`.
    bool is(DaemonErrorKind k) const noexcept { return parse_daemon_error_kind(kind) == k; }
};

/// Splits a reply: `"ok": true` → the reply; `"ok": false` → its error; anything else →
/// RemoteError{"bad_reply", ...}.
std::expected<Json, RemoteError> unwrap_reply(const Json& reply);

// Typed field access for request handlers. Errors are bad_request with a message naming the
// field and the expected type, e.g. "field 'grace_s' must be a number, not a string".
// A missing field: "missing field 'name' (a string)". Optional getters treat a missing field
// and `null` alike (nullopt). A `req` that is not an object is bad_request too.

std::expected<std::string, ProtocolError> get_string(const Json& req, std::string_view field);
std::expected<std::optional<std::string>, ProtocolError>
get_optional_string(const Json& req, std::string_view field);

std::expected<double, ProtocolError> get_number(const Json& req, std::string_view field);
std::expected<std::optional<double>, ProtocolError> get_optional_number(const Json& req,
                                                                        std::string_view field);

/// Non-negative integer; an integral float such as 5.0 is accepted, 5.5 or -1 are not.
std::expected<std::uint64_t, ProtocolError> get_uint(const Json& req, std::string_view field);
std::expected<std::optional<std::uint64_t>, ProtocolError>
get_optional_uint(const Json& req, std::string_view field);

std::expected<bool, ProtocolError> get_bool(const Json& req, std::string_view field);
std::expected<std::optional<bool>, ProtocolError> get_optional_bool(const Json& req,
                                                                    std::string_view field);

/// The field's object or array, copied.
std::expected<Json, ProtocolError> get_object(const Json& req, std::string_view field);
std::expected<Json, ProtocolError> get_array(const Json& req, std::string_view field);

/// The request's `"op"`: missing, non-string or empty → bad_request.
std::expected<std::string, ProtocolError> get_op(const Json& req);

/// Checks `"protocol_version"` of a message: missing or not an integer → bad_request;
/// another version → protocol_mismatch (the message names both versions).
std::expected<void, ProtocolError> check_protocol_version(const Json& msg);

} // namespace zeroflow::protocol
