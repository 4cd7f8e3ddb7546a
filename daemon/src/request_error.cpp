// Typed request errors and their replies (request_error.hpp).
#include "request_error.hpp"

#include <algorithm>

namespace zeroflow::daemon {
namespace {

std::string dashed(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

} // namespace

RequestError bad_request(const protocol::ProtocolError& e) {
    return {protocol::to_daemon_error_kind(e.code), e.message};
}

RequestError limit_error(std::string_view name, std::uint64_t value, const std::string& what) {
    return RequestError{protocol::DaemonErrorKind::resource_limit,
                        what + " (limit " + std::string(name) + " = " + std::to_string(value) +
                            "; zeroflowd --" + dashed(name) + " raises it)",
                        std::string(name), value};
}

Json limit_reply(std::string_view name, std::uint64_t value, const std::string& what) {
    return error_reply(limit_error(name, value, what));
}

Json error_reply(const RequestError& error) {
    auto reply = protocol::error_reply(error.kind, error.message);
    if (!error.limit.empty()) {
        reply["error"]["limit"] = error.limit;
        reply["error"]["limit_value"] = error.limit_value;
    }
    return reply;
}

} // namespace zeroflow::daemon
