// Raw shared (non-private) futex calls on a 32-bit word that lives in shared memory.
// std::atomic::wait in GCC 12 uses private futexes and hangs across processes; these do not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace zeroflow::shm {

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
              std::atomic<std::uint32_t>::is_always_lock_free);

/// Sleeps while `word` equals `expected`, at most `timeout` (negative: no limit).
/// Returns false on timeout, true otherwise (woken, value changed, or interrupted).
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept;

/// Wakes every waiter sleeping on `word`, in any process.
void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept;

/// One word of a futex_wait_any: sleep while `*word == expected`.
struct FutexWaitItem {
    std::atomic<std::uint32_t>* word = nullptr;
    std::uint32_t expected = 0;
};

/// The kernel's limit on the words of one futex_wait_any (FUTEX_WAITV_MAX).
inline constexpr std::size_t kMaxFutexWaitItems = 128;

enum class WaitAnyResult : std::uint8_t {
    woken,       ///< a word was woken, or already differed from its expected value, or a signal
    timed_out,   ///< `deadline_ns` passed
    unsupported, ///< the kernel (or qemu-user, or a seccomp filter) has no futex_waitv
};

/// Whether futex_wait_any works here (Linux >= 5.16; probed once, then cached).
bool futex_wait_any_supported() noexcept;

/// Sleeps until any of `items` (at most kMaxFutexWaitItems, shared futexes) is woken or no
/// longer holds its expected value, or until `deadline_ns` on CLOCK_MONOTONIC (absolute;
/// UINT64_MAX: no limit). One futex_waitv(2) call.
WaitAnyResult futex_wait_any(std::span<const FutexWaitItem> items,
                             std::uint64_t deadline_ns) noexcept;

} // namespace zeroflow::shm
