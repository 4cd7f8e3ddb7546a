// A small epoll loop: file descriptors with callbacks, run on the supervisor thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

namespace zeroflow::daemon {

class Loop {
public:
    using Callback = std::function<void(std::uint32_t events)>;

    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    bool ok() const noexcept { return epoll_fd_ >= 0; }
    /// Watches `fd` for `events` (EPOLLIN, ...). Replaces an earlier watch of the same fd.
    bool watch(int fd, std::uint32_t events, Callback callback);
    bool modify(int fd, std::uint32_t events);
    void unwatch(int fd);
    /// Waits up to `timeout` and runs the callbacks of ready fds.
    void run_once(std::chrono::milliseconds timeout);

private:
    int epoll_fd_ = -1;
    std::unordered_map<int, std::shared_ptr<Callback>> callbacks_;
};

} // namespace zeroflow::daemon
