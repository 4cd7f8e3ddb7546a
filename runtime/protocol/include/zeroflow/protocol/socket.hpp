// Unix-socket transport of the control protocol: the blocking Client used by the CLI and the
// node library, and the server-side helpers the daemon builds its event loop on.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <expected>
#include <filesystem>
#include <optional>
#include <string_view>

#include <sys/types.h>

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/frame.hpp>

namespace zeroflow::protocol {

inline constexpr std::chrono::milliseconds kDefaultSendTimeout{5000};
inline constexpr std::size_t kMaxPendingFds = 4;

/// A blocking connection to a daemon. Move-only; closes its socket on destruction. Not
/// thread-safe: one thread uses it at a time (another may poll() fd() for readability).
/// All waits are poll()-based with the given timeout; EINTR is retried; no SIGPIPE is raised.
class Client {
public:
    /// Connects to the Unix socket at `socket`. peer_refused when no one listens there
    /// (missing socket file or connection refused); timeout when the listener's backlog stays
    /// full; io_error otherwise. `max_frame` limits frames in both directions.
    static std::expected<Client, ProtocolError>
    connect(const std::filesystem::path& socket, std::chrono::milliseconds timeout,
            std::size_t max_frame = kDefaultMaxFrameSize);

    /// Sends one frame and waits for one reply frame, `timeout` covering both. After a
    /// timeout the connection is abandoned (a late reply would be taken for the next one's):
    /// later calls fail with `closed`.
    std::expected<Json, ProtocolError> request(const Json& message,
                                               std::chrono::milliseconds timeout);

    /// Sends one frame without awaiting a reply. frame_too_large (nothing sent) when the
    /// encoded body exceeds max_frame; timeout when the peer does not read for `timeout`
    /// (the connection is then abandoned, as part of a frame may be out).
    std::expected<void, ProtocolError>
    send(const Json& message, std::chrono::milliseconds timeout = kDefaultSendTimeout);

    /// Waits up to `timeout` for the next frame. `closed` when the peer hung up (the message
    /// says whether it did so in the middle of a frame); a decoding error closes the client.
    std::expected<Json, ProtocolError> receive(std::chrono::milliseconds timeout);

    /// The oldest descriptor that came with a received frame (SCM_RIGHTS; the daemon attaches
    /// a dataflow's segment to the register / connect_dynamic reply), or -1 when none did. The
    /// caller owns it. Descriptors not taken are closed with the client; at most
    /// kMaxPendingFds are kept, later ones are closed on arrival.
    int take_fd() noexcept;

    /// The socket, for poll() by a background thread; -1 once closed.
    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    void close() noexcept;

    Client(Client&& other) noexcept;
    Client& operator=(Client&& other) noexcept;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client();

private:
    Client(int fd, std::size_t max_frame) noexcept;
    std::expected<void, ProtocolError> check_usable() const;

    void keep_fds(const struct msghdr& msg) noexcept;
    void close_fds() noexcept;

    int fd_ = -1;
    FrameDecoder decoder_;
    std::array<int, kMaxPendingFds> fds_{}; // received with frames, oldest first
    std::size_t fd_count_ = 0;
    std::optional<ProtocolError> abandoned_; // why the connection may no longer be used
};

/// A listening socket at `socket`: socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK),
/// bind, chmod 0600, listen. Never removes an existing file (io_error "address in use"):
/// removing a dead daemon's socket is the daemon's job, under its lock. The caller owns the fd.
std::expected<int, ProtocolError> listen_unix(const std::filesystem::path& socket);

/// Accepts one pending connection (non-blocking, close-on-exec). timeout when none is pending.
std::expected<int, ProtocolError> accept_unix(int listen_fd);

/// The effective uid of the process at the other end of a Unix socket (SO_PEERCRED).
std::expected<uid_t, ProtocolError> peer_uid(int fd);

/// peer_refused unless the peer runs under our effective uid.
std::expected<void, ProtocolError> check_same_user(int fd);

/// One non-blocking sendmsg of `bytes` with `fd` attached (SCM_RIGHTS) to their first byte:
/// the receiver gets the descriptor with the recvmsg that reads that byte. Returns what send()
/// would (bytes sent, or -1 with errno). MSG_NOSIGNAL | MSG_DONTWAIT.
long send_with_fd(int socket, std::string_view bytes, int fd) noexcept;

/// Writes all of `bytes` to a (blocking or non-blocking) socket, waiting with poll() for up
/// to `timeout` in total. MSG_NOSIGNAL; EINTR retried; `closed` when the peer is gone.
std::expected<void, ProtocolError> send_all(int fd, std::string_view bytes,
                                            std::chrono::milliseconds timeout);

} // namespace zeroflow::protocol
