// The raw floor: a bare single-producer/single-consumer ring of uint32 indices living in a
// caller-provided (shared-memory) region, with busy-wait and futex-wait helpers.
//
// Header-only and dependency-free (C++20 standard library + Linux headers) so that both the
// latency harness and Google Benchmark micro benchmarks can include it as their floor.
//
// Layout inside the region (every line 64 bytes, one writer per line):
//
//   +0    head                  written by the producer only (free-running uint32)
//   +64   tail                  written by the consumer only (free-running uint32)
//   +128  data_ready.seq        futex word, bumped by the producer (blocking mode)
//   +192  data_ready.waiters    written by the consumer while it sleeps
//   +256  space_ready.seq       futex word, bumped by the consumer (blocking mode)
//   +320  space_ready.waiters   written by the producer while it sleeps
//   +384  slots[capacity]       uint32 values; slot (i & mask) written by the producer
//
// Each side keeps its own index and the capacity privately and caches the other side's
// index, re-reading it from shared memory only when the cached value says full/empty
// (rigtorp's SPSCQueue trick): in steady state a push or pop touches one shared line.
//
// Trust: this is a benchmark floor, not the product queue. The peer is trusted; a value read
// from the other side is clamped to the capacity so a scribble cannot index out of bounds,
// but it may make the ring report garbage. The product ring lives in shm/.
//
// Futexes: the raw `futex` syscall with FUTEX_WAIT/FUTEX_WAKE *without* FUTEX_PRIVATE_FLAG,
// because the two sides are different processes. (GCC 12's std::atomic::wait uses private
// futexes and a per-process waiter table: it hangs across processes.)
#pragma once

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <new>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zeroflow::bench::raw {

inline constexpr std::size_t kCacheLine = 64;

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

/// Tells the CPU we are spinning (pause / yield), so the sibling hyperthread gets the core.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

/// Sleeps while `*word == expected` (shared futex; spurious wake-ups possible).
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) noexcept {
    // The atomic is layout-compatible with uint32 (checked above); the kernel compares it.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, nullptr,
              nullptr, 0);
}

/// Wakes up to `count` sleepers on `word` (shared futex).
inline void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count, nullptr,
              nullptr, 0);
}

/// A wake-up event in shared memory: a sequence word (the futex) bumped by the notifier, and
/// a waiter count written by the (single) waiter. Neither field is written by both sides.
///
/// Protocol (all seq_cst so that either the waiter sees the new state or the notifier sees
/// the waiter): waiter: waiters++, s = seq, re-check its condition, futex_wait(seq, s),
/// waiters--. Notifier: change state, seq++, if waiters != 0 then futex_wake.
struct FutexEvent {
    alignas(kCacheLine) std::atomic<std::uint32_t> seq{0};
    alignas(kCacheLine) std::atomic<std::uint32_t> waiters{0};

    /// Called by the notifying side after it changed the state the waiter checks.
    void notify() noexcept {
        seq.fetch_add(1, std::memory_order_seq_cst);
        if (waiters.load(std::memory_order_seq_cst) != 0) {
            futex_wake(&seq, INT_MAX);
        }
    }

    /// Called by the waiting side: returns once `ready()` is true, sleeping in the kernel
    /// between checks. `ready` must read state that the notifier changes before `notify()`.
    template <class Ready>
    void wait_until(Ready&& ready) noexcept {
        while (!ready()) {
            waiters.fetch_add(1, std::memory_order_seq_cst);
            const std::uint32_t observed = seq.load(std::memory_order_seq_cst);
            if (!ready()) {
                futex_wait(&seq, observed);
            }
            waiters.fetch_sub(1, std::memory_order_seq_cst);
        }
    }
};

/// The shared part of a ring (followed in memory by the slots).
struct RingHeader {
    alignas(kCacheLine) std::atomic<std::uint32_t> head{0}; ///< producer writes
    alignas(kCacheLine) std::atomic<std::uint32_t> tail{0}; ///< consumer writes
    FutexEvent data_ready;                                  ///< producer -> consumer
    FutexEvent space_ready;                                 ///< consumer -> producer
};

static_assert(sizeof(RingHeader) == 6 * kCacheLine);

/// True when `capacity` is a usable ring capacity (a power of two, 2 .. 2^30).
[[nodiscard]] constexpr bool valid_capacity(std::uint32_t capacity) noexcept {
    return capacity >= 2 && capacity <= (1U << 30) && (capacity & (capacity - 1)) == 0;
}

/// Bytes a ring of `capacity` slots needs, a multiple of the cache line.
[[nodiscard]] constexpr std::size_t ring_bytes(std::uint32_t capacity) noexcept {
    const std::size_t raw = sizeof(RingHeader) + std::size_t{capacity} * sizeof(std::uint32_t);
    return (raw + kCacheLine - 1) / kCacheLine * kCacheLine;
}

/// Constructs an empty ring in `memory` (64-byte aligned, `ring_bytes(capacity)` long).
/// Call once, before either side attaches (e.g. before spawning the peer process).
inline void ring_init(void* memory, std::uint32_t capacity) noexcept {
    auto* header = new (memory) RingHeader{};
    auto* slots = reinterpret_cast<std::uint32_t*>(header + 1);
    for (std::uint32_t i = 0; i < capacity; ++i) {
        slots[i] = 0;
    }
}

/// How a side waits when the ring is full (producer) or empty (consumer).
enum class WaitMode { busy, futex };

/// The producing side. Exactly one object per ring, in one thread at a time.
class Producer {
public:
    /// Attaches to an initialised ring; `capacity` must equal the one given to ring_init
    /// (it is kept privately, never re-read from shared memory).
    Producer(void* memory, std::uint32_t capacity) noexcept
        : header_(static_cast<RingHeader*>(memory)),
          slots_(reinterpret_cast<std::uint32_t*>(header_ + 1)), mask_(capacity - 1),
          capacity_(capacity), head_(header_->head.load(std::memory_order_relaxed)),
          cached_tail_(header_->tail.load(std::memory_order_acquire)) {}

    /// True when a push would succeed now (refreshes the cached tail if needed).
    [[nodiscard]] bool has_space() noexcept {
        if (head_ - cached_tail_ < capacity_) {
            return true;
        }
        cached_tail_ = header_->tail.load(std::memory_order_acquire);
        // Clamp: a tail ahead of head (scribbled) must not make us overrun the consumer.
        if (head_ - cached_tail_ > capacity_) {
            cached_tail_ = head_ - capacity_;
        }
        return head_ - cached_tail_ < capacity_;
    }

    /// Pushes `value` if there is room; never blocks.
    [[nodiscard]] bool try_push(std::uint32_t value) noexcept {
        if (!has_space()) {
            return false;
        }
        slots_[head_ & mask_] = value;
        ++head_;
        header_->head.store(head_, std::memory_order_release);
        return true;
    }

    /// Waits (spinning or on the futex) until there is room. Returns at once if there is.
    void wait_for_space(WaitMode mode) noexcept {
        if (mode == WaitMode::busy) {
            while (!has_space()) {
                cpu_relax();
            }
        } else {
            header_->space_ready.wait_until([this] { return has_space(); });
        }
    }

    /// Waits for room, pushes `value`, and in futex mode wakes a sleeping consumer.
    void push(std::uint32_t value, WaitMode mode) noexcept {
        wait_for_space(mode);
        (void)try_push(value);
        if (mode == WaitMode::futex) {
            header_->data_ready.notify();
        }
    }

    /// How many elements the consumer has popped so far (free-running), read fresh from
    /// shared memory. Lets a producer that owns buffers named by the values reuse the one
    /// released last (hot in cache) instead of cycling through all of them.
    [[nodiscard]] std::uint32_t consumed() noexcept {
        const std::uint32_t tail = header_->tail.load(std::memory_order_acquire);
        if (head_ - tail <= capacity_) { // ignore a scribbled tail
            cached_tail_ = tail;
        }
        return cached_tail_;
    }

    [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }

private:
    RingHeader* header_;
    std::uint32_t* slots_;
    std::uint32_t mask_;
    std::uint32_t capacity_;
    std::uint32_t head_;
    std::uint32_t cached_tail_;
};

/// The consuming side. Exactly one object per ring, in one thread at a time.
class Consumer {
public:
    /// Attaches to an initialised ring; `capacity` must equal the one given to ring_init.
    Consumer(void* memory, std::uint32_t capacity) noexcept
        : header_(static_cast<RingHeader*>(memory)),
          slots_(reinterpret_cast<std::uint32_t*>(header_ + 1)), mask_(capacity - 1),
          capacity_(capacity), tail_(header_->tail.load(std::memory_order_relaxed)),
          cached_head_(header_->head.load(std::memory_order_acquire)) {}

    /// True when an element is available (refreshes the cached head if needed).
    [[nodiscard]] bool has_data() noexcept {
        if (cached_head_ != tail_) {
            return true;
        }
        cached_head_ = header_->head.load(std::memory_order_acquire);
        if (cached_head_ - tail_ > capacity_) { // scribbled head: never read past capacity
            cached_head_ = tail_ + capacity_;
        }
        return cached_head_ != tail_;
    }

    /// Reads the oldest element without removing it; false when empty. The producer cannot
    /// overwrite it until pop(), so the caller may keep using what the value refers to.
    [[nodiscard]] bool try_front(std::uint32_t& value) noexcept {
        if (!has_data()) {
            return false;
        }
        value = slots_[tail_ & mask_];
        return true;
    }

    /// Waits (spinning or on the futex) for an element and returns it without removing it.
    [[nodiscard]] std::uint32_t front(WaitMode mode) noexcept {
        if (mode == WaitMode::busy) {
            while (!has_data()) {
                cpu_relax();
            }
        } else {
            header_->data_ready.wait_until([this] { return has_data(); });
        }
        return slots_[tail_ & mask_];
    }

    /// Removes the oldest element (call only after try_front/front succeeded) and, in futex
    /// mode, wakes a producer waiting for room.
    void pop(WaitMode mode) noexcept {
        ++tail_;
        header_->tail.store(tail_, std::memory_order_release);
        if (mode == WaitMode::futex) {
            header_->space_ready.notify();
        }
    }

    /// try_front + pop in one call (busy mode semantics: never sleeps).
    [[nodiscard]] bool try_pop(std::uint32_t& value) noexcept {
        if (!try_front(value)) {
            return false;
        }
        pop(WaitMode::busy);
        return true;
    }

    [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }

private:
    RingHeader* header_;
    std::uint32_t* slots_;
    std::uint32_t mask_;
    std::uint32_t capacity_;
    std::uint32_t tail_;
    std::uint32_t cached_head_;
};

} // namespace zeroflow::bench::raw
