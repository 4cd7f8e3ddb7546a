// epoll loop of the supervisor thread.
#include "loop.hpp"

#include <array>
#include <cerrno>
#include <exception>

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace zeroflow::daemon {

Loop::Loop() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {}

Loop::~Loop() {
    if (epoll_fd_ >= 0) {
        ::close(epoll_fd_);
    }
}

bool Loop::watch(int fd, std::uint32_t events, Callback callback) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    const bool known = callbacks_.contains(fd);
    if (::epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
        return false;
    }
    callbacks_[fd] = std::make_shared<Callback>(std::move(callback));
    return true;
}

bool Loop::modify(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Loop::unwatch(int fd) {
    if (callbacks_.erase(fd) > 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    }
}

void Loop::run_once(std::chrono::milliseconds timeout) {
    std::array<epoll_event, 64> events{};
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(timeout.count()));
    for (int i = 0; i < n; ++i) {
        // A callback may unwatch other fds (even close them): look each one up afresh and keep
        // the callback alive while it runs.
        const auto it = callbacks_.find(events[static_cast<std::size_t>(i)].data.fd);
        if (it == callbacks_.end()) {
            continue;
        }
        const auto callback = it->second;
        try {
            (*callback)(events[static_cast<std::size_t>(i)].events);
        } catch (const std::exception& e) {
            // Last line of defence: one connection's or one child's trouble never ends the loop
            // (not even when there is no memory left to log it).
            try {
                spdlog::error("internal error in an event callback: {}", e.what());
            } catch (...) {
            }
        } catch (...) {
            try {
                spdlog::error("internal error in an event callback (unknown exception)");
            } catch (...) {
            }
        }
    }
}

} // namespace zeroflow::daemon
