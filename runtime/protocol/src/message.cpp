// Reply builders and typed request-field access.
#include <cmath>
#include <utility>

#include <zeroflow/protocol/message.hpp>

namespace zeroflow::protocol {
namespace {

std::unexpected<ProtocolError> bad_request(std::string message) {
    return std::unexpected(ProtocolError{ErrorCode::bad_request, std::move(message)});
}

// "a string", "an object", ... for "must be X, not Y" messages.
std::string_view describe(const Json& value) noexcept {
    switch (value.type()) {
    case Json::value_t::null:
        return "null";
    case Json::value_t::object:
        return "an object";
    case Json::value_t::array:
        return "an array";
    case Json::value_t::string:
        return "a string";
    case Json::value_t::boolean:
        return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
        return "a number";
    default:
        return "a value of another kind";
    }
}

std::string quoted(std::string_view field) {
    return "'" + std::string(field) + "'";
}

// The field's value; nullptr when `req` has no such field.
// An error when `req` itself is not an object.
std::expected<const Json*, ProtocolError> find_field(const Json& req, std::string_view field) {
    if (!req.is_object()) {
        return bad_request("request must be a JSON object, not " + std::string(describe(req)));
    }
    const auto it = req.find(std::string(field));
    if (it == req.end()) {
        return nullptr;
    }
    return &*it;
}

// Shared shape of every getter: look the field up, convert it or explain the expected type.
// `null` counts as absent for optional fields and as a wrong type for required ones.
template <typename T, typename Convert>
std::expected<std::optional<T>, ProtocolError> get_field(const Json& req, std::string_view field,
                                                         std::string_view expected, Convert convert,
                                                         bool optional = true) {
    auto found = find_field(req, field);
    if (!found) {
        return std::unexpected(std::move(found.error()));
    }
    const Json* value = *found;
    if (value == nullptr || (optional && value->is_null())) {
        return std::optional<T>{};
    }
    std::optional<T> converted = convert(*value);
    if (!converted) {
        std::string message = "field " + quoted(field) + " must be " + std::string(expected);
        if (value->is_number()) {
            message += ", not " + value->dump(-1, ' ', false, Json::error_handler_t::replace);
        } else {
            message += ", not " + std::string(describe(*value));
        }
        return bad_request(std::move(message));
    }
    return converted;
}

template <typename T, typename Convert>
std::expected<T, ProtocolError> require_field(const Json& req, std::string_view field,
                                              std::string_view expected, Convert convert) {
    auto result = get_field<T>(req, field, expected, convert, false);
    if (!result) {
        return std::unexpected(std::move(result.error()));
    }
    if (!result->has_value()) {
        return bad_request("missing field " + quoted(field) + " (" + std::string(expected) + ")");
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked above, through expected
    return std::move(result->value());
}

std::optional<std::string> as_string(const Json& v) {
    if (!v.is_string()) {
        return std::nullopt;
    }
    return v.get<std::string>();
}

std::optional<double> as_number(const Json& v) {
    if (!v.is_number()) {
        return std::nullopt;
    }
    return v.get<double>();
}

std::optional<std::uint64_t> as_uint(const Json& v) {
    if (v.is_number_unsigned()) {
        return v.get<std::uint64_t>();
    }
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (i < 0) {
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(i);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        // 2^64 is exactly representable; everything below it that is integral converts.
        if (std::isfinite(d) && d >= 0.0 && d < 18446744073709551616.0 && std::trunc(d) == d) {
            return static_cast<std::uint64_t>(d);
        }
    }
    return std::nullopt;
}

std::optional<bool> as_bool(const Json& v) {
    if (!v.is_boolean()) {
        return std::nullopt;
    }
    return v.get<bool>();
}

std::optional<Json> as_object(const Json& v) {
    if (!v.is_object()) {
        return std::nullopt;
    }
    return v;
}

std::optional<Json> as_array(const Json& v) {
    if (!v.is_array()) {
        return std::nullopt;
    }
    return v;
}

constexpr std::string_view kString = "a string";
constexpr std::string_view kNumber = "a number";
constexpr std::string_view kUint = "a non-negative integer";
constexpr std::string_view kBool = "a boolean";

} // namespace

Json ok_reply(Json fields) {
    Json reply = Json::object();
    if (fields.is_object()) {
        reply = std::move(fields);
    } else if (!fields.is_null()) {
        reply["result"] = std::move(fields);
    }
    reply["ok"] = true;
    return reply;
}

Json error_reply(DaemonErrorKind kind, std::string_view message) {
    return Json{{"ok", false}, {"error", {{"kind", to_string(kind)}, {"message", message}}}};
}

Json error_reply(const ProtocolError& error) {
    return error_reply(to_daemon_error_kind(error.code), error.message);
}

std::expected<Json, RemoteError> unwrap_reply(const Json& reply) {
    const std::string bad_reply(to_string(DaemonErrorKind::bad_reply));
    if (!reply.is_object()) {
        return std::unexpected(RemoteError{bad_reply, "reply is not a JSON object"});
    }
    const auto ok = reply.find("ok");
    if (ok == reply.end() || !ok->is_boolean()) {
        return std::unexpected(RemoteError{bad_reply, "reply has no boolean field 'ok'"});
    }
    if (ok->get<bool>()) {
        return reply;
    }
    RemoteError error{bad_reply, "error reply without an 'error' object"};
    if (const auto e = reply.find("error"); e != reply.end() && e->is_object()) {
        if (const auto kind = e->find("kind"); kind != e->end() && kind->is_string()) {
            error.kind = kind->get<std::string>();
            error.message.clear();
        }
        if (const auto message = e->find("message"); message != e->end() && message->is_string()) {
            error.message = message->get<std::string>();
        }
    }
    return std::unexpected(std::move(error));
}

std::expected<std::string, ProtocolError> get_string(const Json& req, std::string_view field) {
    return require_field<std::string>(req, field, kString, as_string);
}

std::expected<std::optional<std::string>, ProtocolError>
get_optional_string(const Json& req, std::string_view field) {
    return get_field<std::string>(req, field, kString, as_string);
}

std::expected<double, ProtocolError> get_number(const Json& req, std::string_view field) {
    return require_field<double>(req, field, kNumber, as_number);
}

std::expected<std::optional<double>, ProtocolError> get_optional_number(const Json& req,
                                                                        std::string_view field) {
    return get_field<double>(req, field, kNumber, as_number);
}

std::expected<std::uint64_t, ProtocolError> get_uint(const Json& req, std::string_view field) {
    return require_field<std::uint64_t>(req, field, kUint, as_uint);
}

std::expected<std::optional<std::uint64_t>, ProtocolError>
get_optional_uint(const Json& req, std::string_view field) {
    return get_field<std::uint64_t>(req, field, kUint, as_uint);
}

std::expected<bool, ProtocolError> get_bool(const Json& req, std::string_view field) {
    return require_field<bool>(req, field, kBool, as_bool);
}

std::expected<std::optional<bool>, ProtocolError> get_optional_bool(const Json& req,
                                                                    std::string_view field) {
    return get_field<bool>(req, field, kBool, as_bool);
}

std::expected<Json, ProtocolError> get_object(const Json& req, std::string_view field) {
    return require_field<Json>(req, field, "an object", as_object);
}

std::expected<Json, ProtocolError> get_array(const Json& req, std::string_view field) {
    return require_field<Json>(req, field, "an array", as_array);
}

std::expected<std::string, ProtocolError> get_op(const Json& req) {
    auto op = get_string(req, "op");
    if (op && op->empty()) {
        return bad_request("field 'op' must be a non-empty string");
    }
    return op;
}

std::expected<void, ProtocolError> check_protocol_version(const Json& msg) {
    const auto version = get_uint(msg, kProtocolVersionField);
    if (!version) {
        return std::unexpected(version.error());
    }
    if (*version != kProtocolVersion) {
        return std::unexpected(
            ProtocolError{ErrorCode::protocol_mismatch,
                          "peer speaks protocol version " + std::to_string(*version) +
                              ", this side speaks " + std::to_string(kProtocolVersion) +
                              "; use a zeroflow library and daemon of the same release"});
    }
    return {};
}

} // namespace zeroflow::protocol
