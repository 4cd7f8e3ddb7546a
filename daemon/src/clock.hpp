// The supervisor's seam to time: start timeouts, stop escalation (grace, SIGTERM, SIGKILL),
// restart backoff and restart_window all read it. SteadyClock is the real one; the supervisor's
// unit tests advance a fake.
#pragma once

#include <chrono>

namespace zeroflow::daemon {

using Clock = std::chrono::steady_clock;

/// Read from the supervisor thread only.
class ClockSource {
public:
    virtual ~ClockSource() = default;
    virtual Clock::time_point now() const = 0;
};

class SteadyClock final : public ClockSource {
public:
    Clock::time_point now() const override { return Clock::now(); }
};

} // namespace zeroflow::daemon
