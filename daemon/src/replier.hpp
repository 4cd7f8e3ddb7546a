// How the supervisor answers requests: implemented by the server (daemon.cpp) and, in the
// supervisor's unit tests, by a fake that records every reply.
#pragma once

#include <cstdint>
#include <string_view>

#include <zeroflow/protocol/common.hpp>

namespace zeroflow::daemon {

using ConnId = std::uint64_t;

/// How the supervisor answers: implemented by the server.
class Replier {
public:
    virtual ~Replier() = default;
    virtual void reply(ConnId conn, const protocol::Json& message) = 0;
    /// Replies with `fd` attached to the frame (SCM_RIGHTS; a dup is sent, `fd` stays ours).
    /// False when no dup could be made (nothing sent then).
    virtual bool reply_with_fd(ConnId conn, const protocol::Json& message, int fd) = 0;
    /// Sends an already encoded frame without allocating where the connection's output is
    /// empty (the out-of-memory reply). Never throws; drops the connection if it cannot.
    virtual void reply_encoded(ConnId conn, std::string_view frame) noexcept = 0;
    virtual void close_connection(ConnId conn) = 0;
};

} // namespace zeroflow::daemon
