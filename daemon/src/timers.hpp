// The daemon's timer thread for one dataflow: it is the sender of every timer output and sends
// an 8-byte tick counter on each period. The only data-path work the daemon does, so it costs
// one futex wait per tick and nothing else (no condition variable, no allocation).
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <zeroflow/shm/sender.hpp>

namespace zeroflow::daemon {

struct TimerOutput {
    std::uint32_t output = 0; ///< index into the segment's outputs
    std::chrono::nanoseconds period{0};
};

class TimerThread {
public:
    /// Starts ticking at once. `segment` must outlive this object.
    TimerThread(const shm::Segment& segment, std::vector<TimerOutput> timers);
    ~TimerThread(); ///< stops and joins at once (whatever the period); closes the timer outputs
    TimerThread(const TimerThread&) = delete;
    TimerThread& operator=(const TimerThread&) = delete;

    /// Ticks that could not be sent (pool exhausted: receivers hold every chunk) or were
    /// skipped because the thread fell more than a period behind.
    std::uint64_t skipped() const noexcept { return skipped_.load(std::memory_order_relaxed); }

private:
    void run();

    std::vector<shm::OutputSender> senders_;
    std::vector<std::chrono::nanoseconds> periods_;
    std::atomic<std::uint64_t> skipped_{0};
    std::atomic<std::uint32_t> stop_{0}; ///< futex word: 1 ends the thread
    std::thread thread_;
};

} // namespace zeroflow::daemon
