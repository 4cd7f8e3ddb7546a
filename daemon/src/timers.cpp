// Timer thread: absolute deadlines, no drift, no bursts after a stall.
#include "timers.hpp"

#include <cstring>

namespace zeroflow::daemon {

TimerThread::TimerThread(const shm::Segment& segment, std::vector<TimerOutput> timers) {
    for (const auto& t : timers) {
        auto sender = shm::OutputSender::attach(segment, t.output);
        if (sender) {
            senders_.push_back(std::move(*sender));
            periods_.push_back(t.period);
        }
    }
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

TimerThread::~TimerThread() {
    thread_.request_stop();
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void TimerThread::run(const std::stop_token& stop) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    std::vector<Clock::time_point> due(senders_.size());
    std::vector<std::uint64_t> ticks(senders_.size(), 0);
    for (std::size_t i = 0; i < due.size(); ++i) {
        due[i] = start + periods_[i];
    }
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested() && !senders_.empty()) {
        auto next = due[0];
        for (const auto& d : due) {
            next = std::min(next, d);
        }
        if (wake_.wait_until(lock, stop, next, [] { return false; }); stop.stop_requested()) {
            break;
        }
        const auto now = Clock::now();
        for (std::size_t i = 0; i < senders_.size(); ++i) {
            if (due[i] > now) {
                continue;
            }
            auto loan = senders_[i].loan(sizeof(std::uint64_t));
            if (loan) {
                ++ticks[i];
                std::memcpy(loan->data, &ticks[i], sizeof(std::uint64_t));
                if (!senders_[i].send(*loan, sizeof(std::uint64_t))) {
                    skipped_.fetch_add(1, std::memory_order_relaxed);
                }
            } else {
                skipped_.fetch_add(1, std::memory_order_relaxed);
            }
            due[i] += periods_[i];
            if (due[i] <= now) {
                // Fell behind by more than a period (stalled machine): skip, do not burst.
                const auto behind = (now - due[i]) / periods_[i] + 1;
                due[i] += periods_[i] * behind;
            }
        }
    }
    for (auto& sender : senders_) {
        sender.close();
    }
}

} // namespace zeroflow::daemon
