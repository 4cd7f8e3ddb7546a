// Unix-socket transport: the blocking Client and the daemon's listening/accepting helpers.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zeroflow/protocol/environment.hpp>
#include <zeroflow/protocol/socket.hpp>

namespace zeroflow::protocol {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

std::unexpected<ProtocolError> failure(ErrorCode code, std::string message) {
    return std::unexpected(ProtocolError{code, std::move(message)});
}

std::unexpected<ProtocolError> sys_failure(const std::string& what, int err) {
    return failure(ErrorCode::io_error, what + ": " + std::system_category().message(err));
}

// Milliseconds left until `deadline`, rounded up, for poll(); 0 once it has passed.
int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
        return 0;
    }
    constexpr std::int64_t kMaxPoll = 1 << 30;
    return static_cast<int>(std::min<std::int64_t>(left.count(), kMaxPoll));
}

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
    return Clock::now() + std::max(timeout, std::chrono::milliseconds{0});
}

// Waits until `fd` reports one of `events` (or an error/hang-up) or the deadline passes.
// true: ready; false: timed out.
std::expected<bool, ProtocolError> wait_for(int fd, short events, Clock::time_point deadline) {
    while (true) {
        pollfd pfd{fd, events, 0};
        const int rc = ::poll(&pfd, 1, remaining_ms(deadline));
        if (rc > 0) {
            return true;
        }
        if (rc == 0) {
            if (Clock::now() >= deadline) {
                return false;
            }
            continue; // poll's millisecond rounding woke us early
        }
        if (errno != EINTR) {
            return sys_failure("poll", errno);
        }
    }
}

std::expected<sockaddr_un, ProtocolError> unix_address(const std::filesystem::path& socket) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string& path = socket.native();
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return failure(ErrorCode::io_error, "socket path '" + path + "' must be 1 to " +
                                                std::to_string(sizeof(addr.sun_path) - 1) +
                                                " bytes long; choose a shorter " + kRuntimeDirEnv);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

std::string ms_text(std::chrono::milliseconds timeout) {
    return std::to_string(timeout.count()) + " ms";
}

} // namespace

long send_with_fd(int socket, std::string_view bytes, int fd) noexcept {
    msghdr msg{};
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return static_cast<long>(::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT));
}

std::expected<void, ProtocolError> send_all(int fd, std::string_view bytes,
                                            std::chrono::milliseconds timeout) {
    const auto deadline = deadline_after(timeout);
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int err = errno;
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            auto ready = wait_for(fd, POLLOUT, deadline);
            if (!ready) {
                return std::unexpected(std::move(ready.error()));
            }
            if (!*ready) {
                return failure(ErrorCode::timeout,
                               "peer did not read for " + ms_text(timeout) + "; send abandoned");
            }
            continue;
        }
        if (err == EPIPE || err == ECONNRESET) {
            return failure(ErrorCode::closed, "peer closed the connection");
        }
        return sys_failure("send", err);
    }
    return {};
}

Client::Client(int fd, std::size_t max_frame) noexcept : fd_(fd), decoder_(max_frame) {}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), decoder_(std::move(other.decoder_)), fds_(other.fds_),
      fd_count_(std::exchange(other.fd_count_, 0)), abandoned_(std::move(other.abandoned_)) {}

Client& Client::operator=(Client&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        decoder_ = std::move(other.decoder_);
        fds_ = other.fds_;
        fd_count_ = std::exchange(other.fd_count_, 0);
        abandoned_ = std::move(other.abandoned_);
    }
    return *this;
}

Client::~Client() {
    close();
}

int Client::take_fd() noexcept {
    if (fd_count_ == 0) {
        return -1;
    }
    const int fd = fds_[0];
    std::copy(fds_.begin() + 1, fds_.begin() + static_cast<std::ptrdiff_t>(fd_count_),
              fds_.begin());
    --fd_count_;
    return fd;
}

void Client::close_fds() noexcept {
    for (std::size_t i = 0; i < fd_count_; ++i) {
        ::close(fds_[i]);
    }
    fd_count_ = 0;
}

void Client::keep_fds(const msghdr& msg) noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const auto count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fd_count_ < kMaxPendingFds) {
                fds_[fd_count_++] = fd;
            } else {
                ::close(fd);
            }
        }
    }
}

void Client::close() noexcept {
    close_fds();
    if (fd_ >= 0) {
        ::close(fd_); // not retried on EINTR: on Linux the descriptor is gone either way
        fd_ = -1;
    }
}

std::expected<void, ProtocolError> Client::check_usable() const {
    if (fd_ < 0) {
        return failure(ErrorCode::closed, "connection is closed");
    }
    if (abandoned_) {
        return failure(ErrorCode::closed,
                       "connection can no longer be used: " + abandoned_->message);
    }
    return {};
}

std::expected<Client, ProtocolError> Client::connect(const std::filesystem::path& socket,
                                                     std::chrono::milliseconds timeout,
                                                     std::size_t max_frame) {
    const auto addr = unix_address(socket);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return sys_failure("socket", errno);
    }
    Client client(fd, max_frame);
    const auto deadline = deadline_after(timeout);
    while (true) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) == 0) {
            return client;
        }
        const int err = errno;
        switch (err) {
        case EINTR:
            continue;
        case EAGAIN: // Unix sockets: the listener's backlog is full; it may drain
            if (Clock::now() >= deadline) {
                return failure(ErrorCode::timeout, "daemon at " + socket.string() +
                                                       " did not accept the connection within " +
                                                       ms_text(timeout));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
            continue;
        case EINPROGRESS: {
            auto ready = wait_for(fd, POLLOUT, deadline);
            if (!ready) {
                return std::unexpected(std::move(ready.error()));
            }
            if (!*ready) {
                return failure(ErrorCode::timeout, "connecting to " + socket.string() +
                                                       " took longer than " + ms_text(timeout));
            }
            int so_error = 0;
            socklen_t len = sizeof(so_error);
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
                return sys_failure("getsockopt(SO_ERROR)", errno);
            }
            if (so_error == 0) {
                return client;
            }
            errno = so_error;
            break;
        }
        default:
            break;
        }
        const int cause = errno;
        if (cause == ENOENT) {
            return failure(ErrorCode::peer_refused, "no daemon is running: " + socket.string() +
                                                        " does not exist (start zeroflowd)");
        }
        if (cause == ECONNREFUSED) {
            return failure(ErrorCode::peer_refused,
                           "no daemon listens at " + socket.string() +
                               " (connection refused; the socket may be left by a daemon that "
                               "died)");
        }
        if (cause == EACCES || cause == EPERM) {
            return failure(ErrorCode::peer_refused, "not allowed to connect to " + socket.string() +
                                                        ": " +
                                                        std::system_category().message(cause));
        }
        return sys_failure("connect to " + socket.string(), cause);
    }
}

std::expected<void, ProtocolError> Client::send(const Json& message,
                                                std::chrono::milliseconds timeout) {
    if (auto usable = check_usable(); !usable) {
        return usable;
    }
    const std::string frame = encode_frame(message);
    const std::size_t body = frame.size() - kFrameHeaderSize;
    if (body > decoder_.max_frame()) {
        return failure(ErrorCode::frame_too_large,
                       "message of " + std::to_string(body) + " bytes exceeds the frame limit of " +
                           std::to_string(decoder_.max_frame()) + " bytes; nothing was sent");
    }
    auto sent = send_all(fd_, frame, timeout);
    if (!sent) {
        abandoned_ = sent.error(); // part of the frame may be out: the stream is out of step
    }
    return sent;
}

std::expected<Json, ProtocolError> Client::receive(std::chrono::milliseconds timeout) {
    if (auto usable = check_usable(); !usable) {
        return std::unexpected(std::move(usable.error()));
    }
    const auto deadline = deadline_after(timeout);
    std::array<char, kReadChunk> buffer{};
    while (true) {
        auto frame = decoder_.next();
        if (!frame) {
            abandoned_ = frame.error();
            return std::unexpected(std::move(frame.error()));
        }
        if (frame->has_value()) {
            // NOLINTNEXTLINE(bugprone-unchecked-optional-access): checked just above
            return std::move(frame->value());
        }
        auto ready = wait_for(fd_, POLLIN, deadline);
        if (!ready) {
            abandoned_ = ready.error();
            return std::unexpected(std::move(ready.error()));
        }
        if (!*ready) {
            return failure(ErrorCode::timeout, "no reply within " + ms_text(timeout));
        }
        // recvmsg: a descriptor may come with the frame (SCM_RIGHTS). The kernel never merges
        // data sent with descriptors into one read with data sent before it.
        msghdr msg{};
        iovec iov{buffer.data(), buffer.size()};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxPendingFds)> control{};
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n >= 0) {
            keep_fds(msg);
        }
        if (n > 0) {
            decoder_.feed(std::span<const char>(buffer.data(), static_cast<std::size_t>(n)));
            continue;
        }
        if (n == 0 || errno == ECONNRESET) {
            abandoned_ = ProtocolError{
                ErrorCode::closed, decoder_.buffered() > 0
                                       ? "peer closed the connection in the middle of a frame (" +
                                             std::to_string(decoder_.buffered()) +
                                             " bytes of it received)"
                                       : std::string("peer closed the connection")};
            return std::unexpected(*abandoned_);
        }
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            auto error = sys_failure("recv", errno);
            abandoned_ = error.error();
            return error;
        }
    }
}

std::expected<Json, ProtocolError> Client::request(const Json& message,
                                                   std::chrono::milliseconds timeout) {
    const auto deadline = deadline_after(timeout);
    if (auto sent = send(message, timeout); !sent) {
        return std::unexpected(std::move(sent.error()));
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    auto reply = receive(std::max(left, std::chrono::milliseconds{0}));
    if (!reply && reply.error().code == ErrorCode::timeout) {
        std::string op = "request";
        if (const auto it = message.find("op"); it != message.end() && it->is_string()) {
            op = "'" + it->get<std::string>() + "'";
        }
        reply.error().message = "no reply to " + op + " within " + ms_text(timeout);
        abandoned_ = ProtocolError{ErrorCode::timeout,
                                   "a reply to an earlier request did not arrive in time"};
    }
    return reply;
}

std::expected<int, ProtocolError> listen_unix(const std::filesystem::path& socket) {
    const auto addr = unix_address(socket);
    if (!addr) {
        return std::unexpected(addr.error());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return sys_failure("socket", errno);
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EADDRINUSE) {
            return failure(ErrorCode::io_error,
                           "cannot listen at " + socket.string() +
                               ": address in use (another daemon, or the leftover of one)");
        }
        return sys_failure("bind " + socket.string(), err);
    }
    // The runtime directory (0700) already keeps others out; 0600 says so on the socket too.
    if (::chmod(socket.c_str(), 0600) != 0 || ::listen(fd, SOMAXCONN) != 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(socket.c_str());
        return sys_failure("listen at " + socket.string(), err);
    }
    return fd;
}

std::expected<int, ProtocolError> accept_unix(int listen_fd) {
    while (true) {
        const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            return fd;
        }
        const int err = errno;
        if (err == EINTR || err == ECONNABORTED) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            return failure(ErrorCode::timeout, "no pending connection");
        }
        return sys_failure("accept", err);
    }
}

std::expected<uid_t, ProtocolError> peer_uid(int fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return sys_failure("getsockopt(SO_PEERCRED)", errno);
    }
    return cred.uid;
}

std::expected<void, ProtocolError> check_same_user(int fd) {
    const auto uid = peer_uid(fd);
    if (!uid) {
        return std::unexpected(uid.error());
    }
    if (*uid != ::geteuid()) {
        return failure(ErrorCode::peer_refused, "peer runs as uid " + std::to_string(*uid) +
                                                    "; only uid " + std::to_string(::geteuid()) +
                                                    " may use this daemon");
    }
    return {};
}

} // namespace zeroflow::protocol
