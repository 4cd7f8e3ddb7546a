// The control server: runtime-directory lock, leftovers of a dead daemon, the Unix socket,
// connections and frames. Requests go to the Supervisor; a bad frame closes only its connection.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zeroflow/daemon/daemon.hpp>

#include "log.hpp"
#include "loop.hpp"
#include "supervisor.hpp"

namespace zeroflow::daemon {
namespace {

constexpr std::size_t kMaxPendingOutput = 16U << 20;

} // namespace

struct Daemon::Impl final : Replier {
    struct PendingFd {
        std::size_t offset = 0; ///< in `out`: the first byte of the frame it goes with
        int fd = -1;            ///< ours (a dup); closed once sent or dropped
    };
    struct Connection {
        int fd = -1;
        protocol::FrameDecoder decoder;
        std::string out;
        std::deque<PendingFd> fds;
        bool closing = false; ///< close once `out` is flushed
        explicit Connection(std::size_t max_frame) : decoder(max_frame) {}
        Connection(const Connection&) = delete;
        Connection& operator=(const Connection&) = delete;
        ~Connection() {
            for (const auto& p : fds) {
                ::close(p.fd);
            }
        }
    };

    Options options;
    std::filesystem::path socket;
    int lock_fd = -1;
    int listen_fd = -1;
    int wake_fd = -1;
    Loop loop;
    std::unique_ptr<ProcessSpawner> spawner; ///< the supervisor's seams: real processes
    SteadyClock clock;                       ///< and real time
    std::unique_ptr<Supervisor> supervisor;
    std::map<ConnId, std::unique_ptr<Connection>> connections;
    std::map<int, ConnId> by_fd;
    ConnId next_id = 1;
    bool shutdown_started = false;

    ~Impl() override {
        supervisor.reset();
        spawner.reset();
        for (auto& [id, c] : connections) {
            ::close(c->fd);
        }
        if (listen_fd >= 0) {
            ::close(listen_fd);
            std::error_code ec;
            std::filesystem::remove(socket, ec);
        }
        if (wake_fd >= 0) {
            ::close(wake_fd);
        }
        if (lock_fd >= 0) {
            ::close(lock_fd); // releases the lock
        }
    }

    void reply(ConnId conn, const Json& message) override {
        const auto it = connections.find(conn);
        if (it == connections.end()) {
            return; // the requester left; nothing to answer
        }
        it->second->out += protocol::encode_frame(message);
        flush(conn);
    }

    bool reply_with_fd(ConnId conn, const Json& message, int fd) override {
        const auto it = connections.find(conn);
        if (it == connections.end()) {
            return true; // the requester left; nothing to answer
        }
        auto frame = protocol::encode_frame(message);
        const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            return false;
        }
        auto& c = *it->second;
        try {
            c.fds.push_back(PendingFd{c.out.size(), copy});
        } catch (...) {
            ::close(copy);
            throw;
        }
        c.out += frame;
        flush(conn);
        return true;
    }

    void reply_encoded(ConnId conn, std::string_view frame) noexcept override {
        const auto it = connections.find(conn);
        if (it == connections.end()) {
            return;
        }
        auto& c = *it->second;
        if (c.out.empty()) {
            // Straight to the socket: no buffer to grow while memory is short.
            while (!frame.empty()) {
                const auto n =
                    ::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                    frame.remove_prefix(static_cast<std::size_t>(n));
                } else if (n < 0 && errno == EINTR) {
                    continue;
                } else {
                    break;
                }
            }
            if (frame.empty()) {
                return;
            }
        }
        try {
            c.out.append(frame);
            flush(conn);
        } catch (...) {
            drop(conn); // cannot even queue the answer: this connection goes, the daemon stays
        }
    }

    void close_connection(ConnId conn) override {
        const auto it = connections.find(conn);
        if (it == connections.end()) {
            return;
        }
        it->second->closing = true;
        flush(conn);
    }

    void drop(ConnId conn) {
        const auto it = connections.find(conn);
        if (it == connections.end()) {
            return;
        }
        const int fd = it->second->fd;
        loop.unwatch(fd);
        ::close(fd);
        by_fd.erase(fd);
        connections.erase(it);
        supervisor->on_disconnect(conn);
    }

    void flush(ConnId conn) {
        auto& c = *connections.at(conn);
        while (!c.out.empty()) {
            // A descriptor goes with the first byte of its frame; bytes before it go first, and
            // no send covers two descriptors' frames.
            std::string_view bytes = c.out;
            ssize_t n = 0;
            const bool with_fd = !c.fds.empty() && c.fds.front().offset == 0;
            if (c.fds.size() > (with_fd ? 1U : 0U)) {
                bytes = bytes.substr(0, c.fds[with_fd ? 1 : 0].offset);
            }
            if (with_fd) {
                n = protocol::send_with_fd(c.fd, bytes, c.fds.front().fd);
                if (n > 0) {
                    ::close(c.fds.front().fd);
                    c.fds.pop_front();
                }
            } else {
                n = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            if (n > 0) {
                c.out.erase(0, static_cast<std::size_t>(n));
                for (auto& p : c.fds) {
                    p.offset -= static_cast<std::size_t>(n);
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (c.out.size() > kMaxPendingOutput) {
                    log()->warn("client does not read its replies: closing its connection");
                    drop(conn);
                    return;
                }
                loop.modify(c.fd, EPOLLIN | EPOLLOUT);
                return;
            }
            drop(conn); // the peer is gone
            return;
        }
        if (c.closing) {
            drop(conn);
            return;
        }
        loop.modify(c.fd, EPOLLIN);
    }

    void on_readable(ConnId conn) {
        auto it = connections.find(conn);
        if (it == connections.end()) {
            return;
        }
        auto& c = *it->second;
        char buffer[65536];
        for (int reads = 0; reads < 16; ++reads) {
            const auto n = ::recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
            if (n == 0) {
                drop(conn);
                return;
            }
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }
                drop(conn);
                return;
            }
            c.decoder.feed(std::span<const char>(buffer, static_cast<std::size_t>(n)));
            if (c.closing) {
                continue; // discard what a closing client still sends
            }
            for (;;) {
                auto frame = c.decoder.next();
                if (!frame) {
                    // Framing is lost: answer once, then close this connection only.
                    log()->info("closing a connection: {}", frame.error().message);
                    reply(conn, protocol::error_reply(frame.error()));
                    if (connections.contains(conn)) {
                        close_connection(conn);
                    }
                    return;
                }
                if (!*frame) {
                    break;
                }
                supervisor->handle(conn, **frame);
                if (!connections.contains(conn)) {
                    return;
                }
            }
        }
    }

    const std::string& connection_limit_frame() {
        if (connection_limit_frame_.empty()) {
            connection_limit_frame_ = protocol::encode_frame(
                limit_reply("max_connections", options.limits.max_connections,
                            "the daemon serves " + std::to_string(options.limits.max_connections) +
                                " connections at once; this one is closed"));
        }
        return connection_limit_frame_;
    }
    std::string connection_limit_frame_;

    void on_accept() {
        for (int accepted = 0; accepted < 64; ++accepted) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    log()->warn("accept: {}", std::strerror(errno));
                }
                return;
            }
            auto uid = protocol::peer_uid(fd);
            if (!uid || *uid != ::geteuid()) {
                log()->warn(
                    "refused a connection from uid {} (only uid {} may talk to this daemon)",
                    uid ? std::to_string(*uid) : "?", ::geteuid());
                const auto frame = protocol::encode_frame(
                    protocol::error_reply(protocol::DaemonErrorKind::peer_refused,
                                          "this zeroflow daemon serves another user"));
                [[maybe_unused]] auto n =
                    ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                ::close(fd);
                continue;
            }
            if (connections.size() >= options.limits.max_connections) {
                log()->warn("too many connections ({}): refusing one", connections.size());
                const auto& frame = connection_limit_frame();
                [[maybe_unused]] auto n =
                    ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                ::close(fd);
                continue;
            }
            const ConnId id = next_id++;
            connections.emplace(id, std::make_unique<Connection>(options.max_frame));
            connections[id]->fd = fd;
            by_fd[fd] = id;
            loop.watch(fd, EPOLLIN, [this, id](std::uint32_t events) {
                if ((events & EPOLLOUT) != 0 && connections.contains(id)) {
                    flush(id);
                }
                if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
                    on_readable(id);
                }
            });
        }
    }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

const std::filesystem::path& Daemon::socket_path() const noexcept {
    return impl_->socket;
}

Limits Limits::resolved() const noexcept {
    Limits out = *this;
    const auto pages = ::sysconf(_SC_PHYS_PAGES);
    const auto page = ::sysconf(_SC_PAGESIZE);
    const std::uint64_t ram =
        pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                              : (4ULL << 30);
    // Segments are sparse (pages are taken when chunks are first lent), so these bound
    // address space more than memory: 16 x RAM for one, 64 x RAM for all.
    if (out.max_segment_bytes == 0) {
        out.max_segment_bytes = 16 * ram;
    }
    if (out.max_total_segment_bytes == 0) {
        out.max_total_segment_bytes = 64 * ram;
    }
    return out;
}

std::expected<std::unique_ptr<Daemon>, std::string> Daemon::create(const Options& given) {
    auto impl = std::make_unique<Impl>();
    Options options = given;
    options.limits = given.limits.resolved();
    impl->options = options;
    if (!impl->loop.ok()) {
        return std::unexpected(std::string("epoll_create1: ") + std::strerror(errno));
    }
    if (auto ok = protocol::ensure_runtime_dir(options.runtime_dir); !ok) {
        return std::unexpected(ok.error().message);
    }
    const auto lock_path = protocol::lock_path(options.runtime_dir);
    impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (impl->lock_fd < 0) {
        return std::unexpected("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    }
    if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        std::string pid;
        std::ifstream(lock_path) >> pid;
        return std::unexpected("a zeroflow daemon already serves " + options.runtime_dir.string() +
                               (pid.empty() ? "" : " (pid " + pid + ")") +
                               "; stop it with `zeroflow destroy`, or use another " +
                               protocol::kRuntimeDirEnv);
    }
    if (::ftruncate(impl->lock_fd, 0) == 0) {
        const auto pid = std::to_string(::getpid()) + "\n";
        [[maybe_unused]] auto n = ::pwrite(impl->lock_fd, pid.data(), pid.size(), 0);
    }
    // We hold the lock: whatever a previous daemon of this directory left is dead. Segments
    // are memfds that vanish with their last user, so there is none to sweep; a stale-segment
    // marker folder of an older version goes.
    std::error_code ec;
    std::filesystem::remove_all(protocol::segments_dir(options.runtime_dir), ec);
    // Orphans of our nodes' trees (setsid, double fork) re-parent to us, not to init: we can
    // find, signal and reap them. And what a dead daemon's nodes left running ends now.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    end_leftover_nodes(options.runtime_dir);
    impl->socket = protocol::socket_path(options.runtime_dir);
    std::filesystem::remove(impl->socket, ec);
    auto listener = protocol::listen_unix(impl->socket);
    if (!listener) {
        return std::unexpected("cannot listen on " + impl->socket.string() + ": " +
                               listener.error().message);
    }
    impl->listen_fd = *listener;
    impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (impl->wake_fd < 0) {
        return std::unexpected(std::string("eventfd: ") + std::strerror(errno));
    }
    impl->spawner = std::make_unique<ProcessSpawner>();
    impl->supervisor =
        std::make_unique<Supervisor>(impl->loop, *impl, options, *impl->spawner, impl->clock);
    auto* raw = impl.get();
    impl->loop.watch(impl->listen_fd, EPOLLIN, [raw](std::uint32_t) { raw->on_accept(); });
    impl->loop.watch(impl->wake_fd, EPOLLIN, [raw](std::uint32_t) {
        std::uint64_t value = 0;
        [[maybe_unused]] auto n = ::read(raw->wake_fd, &value, sizeof(value));
        if (!raw->shutdown_started) {
            raw->shutdown_started = true;
            raw->supervisor->shutdown(std::nullopt, raw->options.shutdown_grace);
        }
    });
    log()->info("zeroflowd {} serving {}", ::getpid(), impl->socket.string());
    return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

void Daemon::request_shutdown() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(impl_->wake_fd, &one, sizeof(one));
}

int Daemon::run() {
    auto& impl = *impl_;
    std::chrono::milliseconds timeout(0);
    for (;;) {
        impl.loop.run_once(timeout);
        timeout = impl.supervisor->tick();
        if (impl.supervisor->done()) {
            // Answer what is pending (the destroy request), then stop listening.
            for (auto& [id, c] : impl.connections) {
                if (!c->out.empty()) {
                    ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
                }
            }
            log()->info("zeroflowd {} exiting", ::getpid());
            return 0;
        }
    }
}

} // namespace zeroflow::daemon
