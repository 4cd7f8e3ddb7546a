// Processes for two-process benchmarks: spawn a child of the same binary, pin to a CPU,
// wait/kill by pid, watch a child, and clean up children and shm names on signals.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace zeroflow::bench {

/// Online CPUs (sysconf(_SC_NPROCESSORS_ONLN)), at least 1.
[[nodiscard]] unsigned online_cpus() noexcept;

/// Pins the calling thread (and threads it creates later) to `cpu`. Does nothing and returns
/// false when the machine has fewer than 2 online CPUs, or when sched_setaffinity fails.
bool pin_to_cpu(unsigned cpu) noexcept;

/// Starts /proc/self/exe with `args` (argv[1..]) via posix_spawn; the child inherits the
/// environment, stdout and stderr. Returns the pid or the errno of the failure.
[[nodiscard]] std::expected<pid_t, int> spawn_self(const std::vector<std::string>& args);

/// Blocks until `pid` exits; returns its exit code, 128 + signal if killed, -1 on error.
int wait_pid(pid_t pid) noexcept;

/// Sends `sig` to `pid`; false if the pid is invalid or kill() failed.
bool kill_pid(pid_t pid, int sig) noexcept;

/// For children: get SIGTERM when the parent dies; exits at once if `parent` is gone already.
void die_with_parent(pid_t parent) noexcept;

/// Signal-safe cleanup registry (fixed capacity, async-signal-safe handler). The handler for
/// SIGINT/SIGTERM/SIGHUP sends SIGTERM to registered children, waits up to 5 s for them
/// (then SIGKILL), shm_unlinks registered shm names, unlinks registered files, and _exits
/// with 128 + signal. Register/forget from the main thread only.
void cleanup_add_child(pid_t pid) noexcept;
void cleanup_forget_child(pid_t pid) noexcept;
void cleanup_add_shm(const std::string& name) noexcept;
void cleanup_forget_shm(const std::string& name) noexcept;
void cleanup_add_file(const std::string& path) noexcept;
void cleanup_forget_file(const std::string& path) noexcept;
void install_signal_cleanup() noexcept;
/// Runs the same cleanup now (for fatal errors); does not exit.
void run_cleanup() noexcept;

/// Watches one child from a helper thread (pidfd + poll, so it costs nothing while waiting).
/// If the child exits before expect_exit() was called, or `deadline` passes, it prints
/// `what`, kills the child, runs the cleanup and _exits with status 3 — so a parent blocked
/// in a receive never hangs on a dead peer. Construct right after spawning.
class ChildWatch {
public:
    ChildWatch(pid_t pid, std::chrono::seconds deadline, std::string what);
    ChildWatch(const ChildWatch&) = delete;
    ChildWatch& operator=(const ChildWatch&) = delete;
    ~ChildWatch();

    /// The child may exit from now on (call before sending it the final stop message).
    void expect_exit() noexcept { expected_.store(true, std::memory_order_release); }

    /// Waits (up to 30 s, then SIGKILL) for the child to exit; returns wait_pid's status.
    int finish();

private:
    void watch();

    pid_t pid_;
    std::chrono::seconds deadline_;
    std::string what_;
    int pidfd_{-1};
    int eventfd_{-1};
    std::atomic<bool> expected_{false};
    int status_{-1};
    std::thread thread_;
};

} // namespace zeroflow::bench
