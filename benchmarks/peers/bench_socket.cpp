// bench_socket: the copying baseline. TCP over 127.0.0.1 (TCP_NODELAY) and a Unix domain
// stream socket; every message is length-prefixed and copied through the kernel. Blocking
// reads in blocking mode, non-blocking sockets spun on EAGAIN in busy mode.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <zeroflow/bench/peer.hpp>
#include <zeroflow/bench/process.hpp>
#include <zeroflow/bench/raw_ring.hpp>

namespace zb = zeroflow::bench;

namespace {

constexpr std::size_t kFrameHeader = 8;        // uint64 payload length
constexpr std::size_t kReadBuffer = 64 * 1024; // small frames arrive with one read()

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "error: %s: %s\n", what, std::strerror(errno));
    zb::run_cleanup();
    std::exit(1);
}

/// One connected socket seen as a message endpoint.
class SocketEndpoint {
public:
    SocketEndpoint(int fd, zb::Mode mode) : fd_(fd), busy_(mode == zb::Mode::busy) {
        if (busy_) {
            ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
        }
        in_.resize(kReadBuffer);
    }
    SocketEndpoint(const SocketEndpoint&) = delete;
    SocketEndpoint& operator=(const SocketEndpoint&) = delete;
    ~SocketEndpoint() { ::close(fd_); }

    std::span<std::byte> loan(std::size_t n) {
        if (tx_.size() < kFrameHeader + n) {
            tx_.resize(kFrameHeader + n);
        }
        const std::uint64_t length = n;
        std::memcpy(tx_.data(), &length, sizeof length);
        return {tx_.data() + kFrameHeader, n};
    }

    void send(std::span<std::byte> message) {
        write_all(tx_.data(), kFrameHeader + message.size());
    }

    std::span<const std::byte> receive() {
        std::uint64_t length = 0;
        read_exact(reinterpret_cast<std::byte*>(&length), sizeof length);
        if (length > (1ULL << 32)) {
            std::fprintf(stderr, "error: frame of %llu bytes\n",
                         static_cast<unsigned long long>(length));
            std::exit(1);
        }
        if (rx_.size() < length) {
            rx_.resize(length);
        }
        read_exact(rx_.data(), length);
        return {rx_.data(), length};
    }

    void release() {}

private:
    void write_all(const std::byte* p, std::size_t n) {
        while (n > 0) {
            const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
            if (w > 0) {
                p += w;
                n -= static_cast<std::size_t>(w);
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                zb::raw::cpu_relax();
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else {
                die("send");
            }
        }
    }

    /// Reads exactly n bytes: first from the buffer, then straight into `dst` for big
    /// frames, or through the buffer (one read() for many small frames).
    void read_exact(std::byte* dst, std::size_t n) {
        const std::size_t buffered = std::min(n, end_ - pos_);
        std::memcpy(dst, in_.data() + pos_, buffered);
        pos_ += buffered;
        dst += buffered;
        n -= buffered;
        while (n > 0) {
            if (n >= kReadBuffer) {
                const std::size_t got = read_some(dst, n);
                dst += got;
                n -= got;
                continue;
            }
            pos_ = 0;
            end_ = read_some(in_.data(), kReadBuffer);
            const std::size_t take = std::min(n, end_);
            std::memcpy(dst, in_.data(), take);
            pos_ = take;
            dst += take;
            n -= take;
        }
    }

    std::size_t read_some(std::byte* dst, std::size_t n) {
        for (;;) {
            const ssize_t r = ::recv(fd_, dst, n, 0);
            if (r > 0) {
                return static_cast<std::size_t>(r);
            }
            if (r == 0) {
                std::fprintf(stderr, "error: peer closed the connection\n");
                std::exit(1);
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                zb::raw::cpu_relax();
            } else if (errno != EINTR) {
                die("recv");
            }
        }
    }

    int fd_;
    bool busy_;
    std::vector<std::byte> tx_;
    std::vector<std::byte> rx_;
    std::vector<std::byte> in_;
    std::size_t pos_{0};
    std::size_t end_{0};
};

void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// Listens on 127.0.0.1:0 (tcp) or an abstract Unix name (uds, leaves no file behind).
/// Returns the listening fd and the address string for the child ("tcp:PORT", "uds:NAME").
std::pair<int, std::string> listen_on(const std::string& transport, int index) {
    if (transport == "tcp") {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        socklen_t len = sizeof addr;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd, 1) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            die("tcp listen");
        }
        return {fd, "tcp:" + std::to_string(ntohs(addr.sin_port))};
    }
    const std::string name = "zfbench-" + std::to_string(::getpid()) + "-" + std::to_string(index);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size()); // abstract namespace
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd, 1) != 0) {
        die("uds listen");
    }
    return {fd, "uds:" + name};
}

int connect_to(const std::string& where) {
    if (where.rfind("tcp:", 0) == 0) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(where.c_str() + 4)));
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            die("tcp connect");
        }
        set_nodelay(fd);
        return fd;
    }
    const std::string name = where.substr(4);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), std::min(name.size(), sizeof addr.sun_path - 1));
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        die("uds connect");
    }
    return fd;
}

int run_child(const zb::Options& options) {
    const zb::PointSpec point = zb::child_setup(options);
    const auto it = options.extra.find("connect");
    if (it == options.extra.end()) {
        std::fprintf(stderr, "error: child needs --connect\n");
        return 2;
    }
    SocketEndpoint ep(connect_to(it->second), point.mode);
    zb::run_child(ep, point);
    return 0;
}

int run_parent(const zb::Options& options) {
    std::vector<std::string> transports{"tcp", "uds"};
    if (const auto it = options.extra.find("transports"); it != options.extra.end()) {
        transports = zb::split_list(it->second);
    }
    for (const auto& t : transports) {
        if (t != "tcp" && t != "uds") {
            std::fprintf(stderr, "error: --transports takes tcp,uds (got '%s')\n", t.c_str());
            return 2;
        }
    }
    zb::JsonlWriter writer(std::cout);
    zb::parent_setup(options, writer);
    int index = 0;
    for (const auto& transport : transports) {
        for (const auto& point : zb::expand_points(options)) {
            const auto [listener, where] = listen_on(transport, index++);
            const auto pid = zb::spawn_self(zb::child_args(point, {{"connect", where}}));
            if (!pid) {
                std::fprintf(stderr, "error: cannot spawn child: %s\n", std::strerror(pid.error()));
                return 1;
            }
            zb::cleanup_add_child(*pid);
            zb::Measured measured;
            {
                zb::ChildWatch watch(*pid, zb::point_deadline(point), "bench_socket child");
                const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) {
                    die("accept");
                }
                ::close(listener);
                if (transport == "tcp") {
                    set_nodelay(fd);
                }
                SocketEndpoint ep(fd, point.mode);
                measured = zb::run_parent(ep, point, watch);
                if (const int status = watch.finish(); status != 0) {
                    std::fprintf(stderr, "warning: bench_socket child exited with %d\n", status);
                }
            }
            writer.point(zb::make_result(transport, point, std::move(measured)));
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    auto options = zb::parse_options(argc, argv);
    if (!options) {
        if (options.error() != "help") {
            std::fprintf(stderr, "error: %s\n", options.error().c_str());
        }
        std::fputs(zb::options_usage("bench_socket").c_str(), stderr);
        std::fputs("       [--transports tcp,uds]\n", stderr);
        return options.error() == "help" ? 0 : 2;
    }
    return options->role == "child" ? run_child(*options) : run_parent(*options);
}
