// Raw shared (non-private) futex calls on a 32-bit word that lives in shared memory.
// std::atomic::wait in GCC 12 uses private futexes and hangs across processes; these do not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace zeroflow::shm {

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
              std::atomic<std::uint32_t>::is_always_lock_free);

/// Sleeps while `word` equals `expected`, at most `timeout` (negative: no limit).
/// Returns false on timeout, true otherwise (woken, value changed, or interrupted).
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout) noexcept;

/// Wakes every waiter sleeping on `word`, in any process.
void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept;

} // namespace zeroflow::shm
