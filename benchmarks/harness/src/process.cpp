// Spawning, pinning, waiting, watching and signal-time cleanup of benchmark processes.
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/bench/process.hpp>

extern char** environ;

namespace zeroflow::bench {

unsigned online_cpus() noexcept {
    const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1U;
}

bool pin_to_cpu(unsigned cpu) noexcept {
    if (online_cpus() < 2) {
        return false;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

std::expected<pid_t, int> spawn_self(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    std::string self = "/proc/self/exe";
    argv.push_back(self.data());
    std::vector<std::string> copy = args;
    for (auto& arg : copy) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
    if (rc != 0) {
        return std::unexpected(rc);
    }
    return pid;
}

int wait_pid(pid_t pid) noexcept {
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, 0);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

bool kill_pid(pid_t pid, int sig) noexcept {
    return pid > 0 && ::kill(pid, sig) == 0;
}

void die_with_parent(pid_t parent) noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
        ::_exit(1);
    }
}

// ---- cleanup registry: fixed arrays so the signal handler needs no allocation ----

namespace {

constexpr std::size_t kMaxEntries = 16;
constexpr std::size_t kMaxName = 256;

struct NameTable {
    std::array<std::array<char, kMaxName>, kMaxEntries> names{};
    std::array<volatile sig_atomic_t, kMaxEntries> used{};

    void add(const std::string& name) noexcept {
        for (std::size_t i = 0; i < kMaxEntries; ++i) {
            if (used[i] == 0) {
                std::snprintf(names[i].data(), kMaxName, "%s", name.c_str());
                used[i] = 1;
                return;
            }
        }
    }
    void forget(const std::string& name) noexcept {
        for (std::size_t i = 0; i < kMaxEntries; ++i) {
            if (used[i] != 0 && name == names[i].data()) {
                used[i] = 0;
            }
        }
    }
};

NameTable g_shm;
NameTable g_files;
std::array<volatile pid_t, kMaxEntries> g_children{};
std::atomic<bool> g_cleaning{false}; // set once cleanup starts: a dying child is expected then

void sleep_ms(long ms) noexcept {
    timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
    ::nanosleep(&ts, nullptr);
}

void on_signal(int sig) {
    run_cleanup();
    ::_exit(128 + sig);
}

} // namespace

void cleanup_add_child(pid_t pid) noexcept {
    for (auto& slot : g_children) {
        if (slot == 0) {
            slot = pid;
            return;
        }
    }
}

void cleanup_forget_child(pid_t pid) noexcept {
    for (auto& slot : g_children) {
        if (slot == pid) {
            slot = 0;
        }
    }
}

void cleanup_add_shm(const std::string& name) noexcept {
    g_shm.add(name);
}
void cleanup_forget_shm(const std::string& name) noexcept {
    g_shm.forget(name);
}
void cleanup_add_file(const std::string& path) noexcept {
    g_files.add(path);
}
void cleanup_forget_file(const std::string& path) noexcept {
    g_files.forget(path);
}

void run_cleanup() noexcept {
    g_cleaning.store(true);
    // Only async-signal-safe calls below: kill, waitpid, nanosleep, shm_unlink, unlink.
    for (const pid_t pid : g_children) {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
        }
    }
    for (auto& slot : g_children) {
        const pid_t pid = slot;
        if (pid <= 0) {
            continue;
        }
        bool gone = false;
        for (int i = 0; i < 500 && !gone; ++i) { // 5 s: RouDi needs time to tidy up
            const pid_t r = ::waitpid(pid, nullptr, WNOHANG);
            gone = r == pid || (r < 0 && errno == ECHILD);
            if (!gone) {
                sleep_ms(10);
            }
        }
        if (!gone) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        slot = 0;
    }
    for (std::size_t i = 0; i < kMaxEntries; ++i) {
        if (g_shm.used[i] != 0) {
            ::shm_unlink(g_shm.names[i].data());
            g_shm.used[i] = 0;
        }
        if (g_files.used[i] != 0) {
            ::unlink(g_files.names[i].data());
            g_files.used[i] = 0;
        }
    }
}

void install_signal_cleanup() noexcept {
    struct sigaction action {};
    action.sa_handler = on_signal;
    ::sigemptyset(&action.sa_mask);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
        ::sigaction(sig, &action, nullptr);
    }
}

// ---- ChildWatch ----

ChildWatch::ChildWatch(pid_t pid, std::chrono::seconds deadline, std::string what)
    : pid_(pid), deadline_(deadline), what_(std::move(what)) {
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    eventfd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { watch(); });
}

ChildWatch::~ChildWatch() {
    if (thread_.joinable()) {
        (void)finish();
    }
    if (pidfd_ >= 0) {
        ::close(pidfd_);
    }
    if (eventfd_ >= 0) {
        ::close(eventfd_);
    }
}

int ChildWatch::finish() {
    expect_exit();
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        (void)!::write(eventfd_, &one, sizeof one);
        thread_.join();
    }
    return status_;
}

void ChildWatch::watch() {
    const auto fatal = [this](const char* why, bool child_alive) {
        if (g_cleaning.load()) {
            return; // a signal handler is already tearing everything down
        }
        std::fprintf(stderr, "error: %s: %s\n", what_.c_str(), why);
        if (child_alive) {
            ::kill(pid_, SIGKILL);
        }
        run_cleanup();
        ::_exit(3);
    };
    if (pidfd_ < 0) { // no pidfd (old kernel): fall back to a plain wait at finish()
        std::uint64_t value = 0;
        (void)!::read(eventfd_, &value, sizeof value);
        status_ = wait_pid(pid_);
        cleanup_forget_child(pid_);
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + deadline_;
    bool finishing = false;
    for (;;) {
        std::array<pollfd, 2> fds{{{pidfd_, POLLIN, 0}, {eventfd_, POLLIN, 0}}};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            (finishing ? std::chrono::steady_clock::now() + std::chrono::seconds(30) : deadline) -
            std::chrono::steady_clock::now());
        const int n = ::poll(fds.data(), finishing ? 1 : 2,
                             static_cast<int>(std::max<long>(0, left.count())));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            if (finishing) {
                std::fprintf(stderr, "warning: %s: did not exit in 30 s, killing it\n",
                             what_.c_str());
                ::kill(pid_, SIGKILL);
                status_ = wait_pid(pid_);
                cleanup_forget_child(pid_);
                return;
            }
            fatal("point deadline passed (peer stuck?)", true);
            return;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            if (!expected_.load(std::memory_order_acquire)) {
                status_ = wait_pid(pid_);
                cleanup_forget_child(pid_);
                char why[64];
                std::snprintf(why, sizeof why, "exited early (status %d)", status_);
                fatal(why, false);
                return;
            }
            status_ = wait_pid(pid_);
            cleanup_forget_child(pid_);
            return;
        }
        if (!finishing && (fds[1].revents & POLLIN) != 0) {
            finishing = true;
        }
    }
}

} // namespace zeroflow::bench
