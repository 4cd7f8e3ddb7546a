// The daemon's timer thread for one dataflow: it is the sender of every timer output and sends
// an 8-byte tick counter on each period. The only data-path work the daemon does.
#pragma once

#include <zeroflow/shm/sender.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace zeroflow::daemon {

struct TimerOutput {
    std::uint32_t output = 0; ///< index into the segment's outputs
    std::chrono::nanoseconds period{0};
};

class TimerThread {
public:
    /// Starts ticking at once. `segment` must outlive this object.
    TimerThread(const shm::Segment& segment, std::vector<TimerOutput> timers);
    ~TimerThread(); ///< stops and joins; closes the timer outputs
    TimerThread(const TimerThread&) = delete;
    TimerThread& operator=(const TimerThread&) = delete;

    /// Ticks that could not be sent (pool exhausted: receivers hold every chunk).
    std::uint64_t skipped() const noexcept { return skipped_.load(std::memory_order_relaxed); }

private:
    void run(const std::stop_token& stop);

    std::vector<shm::OutputSender> senders_;
    std::vector<std::chrono::nanoseconds> periods_;
    std::atomic<std::uint64_t> skipped_{0};
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

} // namespace zeroflow::daemon
