// Ctrl-C (SIGINT) and SIGTERM for the CLI's long-running observers (topic hz/bw/echo, record,
// replay): while an InterruptScope lives, either signal only sets a flag that their loops
// check, so they end cleanly (a tap detached, a recording finished, a dataflow stopped).
#pragma once

#include <atomic>
#include <csignal>

namespace zeroflow::cli {

class InterruptScope {
public:
    InterruptScope() noexcept {
        flag().store(false, std::memory_order_relaxed);
        struct sigaction sa {};
        sa.sa_handler = [](int) { flag().store(true, std::memory_order_relaxed); };
        ::sigaction(SIGINT, &sa, &old_int_);
        ::sigaction(SIGTERM, &sa, &old_term_);
    }
    ~InterruptScope() {
        ::sigaction(SIGINT, &old_int_, nullptr);
        ::sigaction(SIGTERM, &old_term_, nullptr);
    }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

    /// True once SIGINT or SIGTERM arrived in this scope (or `interrupt()` was called).
    static bool interrupted() noexcept { return flag().load(std::memory_order_relaxed); }
    /// Ends the loops as a signal would.
    static void interrupt() noexcept { flag().store(true, std::memory_order_relaxed); }

private:
    static std::atomic<bool>& flag() noexcept {
        static std::atomic<bool> value{false};
        return value;
    }
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

} // namespace zeroflow::cli
