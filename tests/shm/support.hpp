// Multi-process shm tests: this binary re-executes itself with `--role NAME` to play a sender or
// a receiver node, while the test process plays the daemon (creates the segment, kills, marks,
// revives, closes). Children report one `key=value` line per figure on fd 3.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::shm::mp {

/// What both sides need to rebuild the same LayoutSpec: node 0 owns output 0, which feeds
/// node i + 1 through a queue of queues[i] slots.
struct Params {
    std::array<std::uint8_t, 16> uuid{};
    std::uint64_t max_message = 64;
    std::uint32_t chunks = 0; ///< per class; 0: the layout's default
    std::vector<std::uint32_t> queues{16};

    LayoutSpec spec() const;
    std::string encode() const;
    static Params decode(const std::string& text);
    static Params fresh(std::uint64_t max_message, std::uint32_t chunks,
                        std::vector<std::uint32_t> queues);
};

/// A child process of this binary; killed (SIGKILL) and reaped on destruction if still there.
class Child {
public:
    Child() = default;
    Child(const std::string& role, const std::vector<std::string>& args);
    Child(Child&& other) noexcept;
    Child& operator=(Child&& other) noexcept;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child();

    pid_t pid() const noexcept { return pid_; }
    /// Waits at most `limit`; returns the raw wait status, or -1 on timeout (child killed then).
    int wait(std::chrono::milliseconds limit);
    void kill_now() noexcept;
    /// Waits until the child wrote `ready=1` (it attached), at most `limit`.
    bool wait_ready(std::chrono::milliseconds limit);
    /// What the child wrote on fd 3 (complete once it exited).
    std::map<std::string, std::uint64_t> results();

private:
    void reset() noexcept;
    pid_t pid_ = -1;
    int pipe_ = -1;
    std::string text_;
};

/// True when the wait status says the child exited with 0.
bool exited_ok(int status) noexcept;
bool killed_by(int status, int signal) noexcept;
std::string describe(int status);

/// Scales a full-size count for sanitizer builds (or ZEROFLOW_SHM_TEST_SCALE_PERCENT).
std::uint64_t scaled(std::uint64_t full, std::uint64_t sanitized);

/// Entry point of the child roles (roles.cpp).
int run_role(int argc, char** argv);

/// Processes of this uid (this one included) that still map or hold the segment `name`
/// (a "/memfd:<name>" line in /proc/<pid>/maps or link in /proc/<pid>/fd).
std::vector<pid_t> processes_holding(const std::string& name);

} // namespace zeroflow::shm::mp
