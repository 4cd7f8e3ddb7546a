// Timer thread: absolute CLOCK_MONOTONIC deadlines (no drift), no bursts after a stall, and a
// futex wait that a stop request interrupts at once.
#include "timers.hpp"

#include <climits>
#include <cstring>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zeroflow::daemon {
namespace {

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Sleeps until `deadline_ns` (CLOCK_MONOTONIC, absolute) unless `word` is no longer 0.
void sleep_until(std::atomic<std::uint32_t>& word, std::int64_t deadline_ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
              FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
}

} // namespace

TimerThread::TimerThread(const shm::Segment& segment, std::vector<TimerOutput> timers) {
    for (const auto& t : timers) {
        auto sender = shm::OutputSender::attach(segment, t.output);
        if (sender) {
            senders_.push_back(std::move(*sender));
            periods_.push_back(t.period);
        }
    }
    thread_ = std::thread([this] { run(); });
}

TimerThread::~TimerThread() {
    stop_.store(1, std::memory_order_release);
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&stop_), FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
              INT_MAX, nullptr, nullptr, 0);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void TimerThread::run() {
    const auto start = now_ns();
    std::vector<std::int64_t> due(senders_.size());
    std::vector<std::uint64_t> ticks(senders_.size(), 0);
    for (std::size_t i = 0; i < due.size(); ++i) {
        due[i] = start + periods_[i].count();
    }
    while (stop_.load(std::memory_order_acquire) == 0 && !senders_.empty()) {
        auto next = due[0];
        for (const auto d : due) {
            next = std::min(next, d);
        }
        if (now_ns() < next) {
            sleep_until(stop_, next);
            continue; // re-check stop and the clock
        }
        const auto now = now_ns();
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
            const auto period = periods_[i].count();
            due[i] += period;
            if (due[i] <= now) {
                // Fell behind by more than a period (stalled machine): skip, do not burst.
                const auto behind = (now - due[i]) / period + 1;
                skipped_.fetch_add(static_cast<std::uint64_t>(behind), std::memory_order_relaxed);
                due[i] += period * behind;
            }
        }
    }
    for (auto& sender : senders_) {
        sender.close();
    }
}

} // namespace zeroflow::daemon
