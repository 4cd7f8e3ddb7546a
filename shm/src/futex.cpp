// Raw futex syscalls on words in shared memory (no FUTEX_PRIVATE_FLAG: other processes wait too).
#include <cerrno>
#include <climits>
#include <ctime>
#include <limits>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <zeroflow/shm/futex.hpp>

namespace zeroflow::shm {

bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout.count() >= 0) {
        ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
        tsp = &ts;
    }
    const long rc = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT,
                              expected, tsp, nullptr, 0);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr,
              nullptr, 0);
}

namespace {

// futex_waitv(2), Linux 5.16: the same number on every architecture (the unified table).
// The struct and flags are spelled out here so that older kernel headers build too.
constexpr long kSysFutexWaitv = 449;
constexpr std::uint32_t kFutex2Size32 = 0x02; // FUTEX2_SIZE_U32; no FUTEX2_PRIVATE: shared

struct FutexWaitv {
    std::uint64_t val;
    std::uint64_t uaddr;
    std::uint32_t flags;
    std::uint32_t reserved;
};

// 0: not probed yet, 1: supported, 2: not.
std::atomic<int> g_waitv_support{0};

bool unsupported_errno(int e) noexcept {
    return e == ENOSYS || e == EPERM;
}

} // namespace

bool futex_wait_any_supported() noexcept {
    auto known = g_waitv_support.load(std::memory_order_relaxed);
    if (known == 0) {
        // No words: a kernel that has the call answers EINVAL; one without it, ENOSYS (qemu-user
        // and seccomp filters answer ENOSYS or EPERM).
        const long rc = ::syscall(kSysFutexWaitv, nullptr, 0U, 0U, nullptr, CLOCK_MONOTONIC);
        known = rc == -1 && unsupported_errno(errno) ? 2 : 1;
        g_waitv_support.store(known, std::memory_order_relaxed);
    }
    return known == 1;
}

WaitAnyResult futex_wait_any(std::span<const FutexWaitItem> items,
                             std::uint64_t deadline_ns) noexcept {
    if (items.empty() || items.size() > kMaxFutexWaitItems || !futex_wait_any_supported()) {
        return WaitAnyResult::unsupported;
    }
    FutexWaitv waits[kMaxFutexWaitItems];
    for (std::size_t i = 0; i < items.size(); ++i) {
        waits[i] = FutexWaitv{items[i].expected, reinterpret_cast<std::uint64_t>(items[i].word),
                              kFutex2Size32, 0};
    }
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline_ns != std::numeric_limits<std::uint64_t>::max()) {
        ts.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
        tsp = &ts;
    }
    const long rc = ::syscall(kSysFutexWaitv, waits, static_cast<unsigned>(items.size()), 0U, tsp,
                              CLOCK_MONOTONIC);
    if (rc >= 0) {
        return WaitAnyResult::woken;
    }
    switch (errno) {
    case ETIMEDOUT:
        return WaitAnyResult::timed_out;
    case EAGAIN: // a word already differed
    case EINTR:
        return WaitAnyResult::woken;
    default:
        // EFAULT, EINVAL or a filter: do not use the call again, the caller falls back.
        g_waitv_support.store(2, std::memory_order_relaxed);
        return WaitAnyResult::unsupported;
    }
}

} // namespace zeroflow::shm
