// The measurement loops shared by every peer, written once over an "endpoint" concept, so
// raw shm, iceoryx and sockets are measured by exactly the same code.
//
// An endpoint is one side of a two-way link between the parent (which measures) and the
// spawned child. It provides:
//   std::span<std::byte> loan(std::size_t n);   buffer for the next outgoing n-byte message
//   void send(std::span<std::byte> message);    publish the loaned buffer
//   std::span<const std::byte> receive();       wait (busy or blocking) for the next message
//   void release();                             done with the last received message
//
// Message format: the first 8 bytes carry an int64 header (a CLOCK_MONOTONIC send timestamp
// in ns, a counter, or kStopMessage); the rest is payload. The child exits only after it
// received kStopMessage from the parent, so the parent's ChildWatch can tell a crash from
// the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <vector>

#include <zeroflow/bench/point.hpp>
#include <zeroflow/bench/process.hpp>

namespace zeroflow::bench {

inline constexpr std::int64_t kStopMessage = -1;
inline constexpr std::size_t kControlSize = 8; ///< acks and stop messages

/// CLOCK_MONOTONIC in nanoseconds (the same clock in every process of the machine).
inline std::int64_t now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// Writes a message: with Touch::full every byte is written (memset with `fill`), then the
/// 8-byte header; with Touch::transport only the header. `message` is at least 8 bytes.
void write_message(std::span<std::byte> message, std::int64_t header, Touch touch,
                   std::uint8_t fill) noexcept;

/// Reads a message's header; with Touch::full also sums every byte into a volatile sink so
/// the compiler cannot drop the reads.
std::int64_t read_message(std::span<const std::byte> message, Touch touch) noexcept;

/// What a parent measured for one point.
struct Measured {
    std::vector<std::int64_t> samples_ns; ///< one-way latencies (latency patterns)
    double msgs_per_s{0.0};               ///< throughput pattern
    std::uint64_t messages{0};            ///< messages counted (throughput)
    std::string note;                     ///< e.g. why samples were reduced
};

/// Points of at least this size may get fewer samples than asked, to fit their budget.
inline constexpr std::uint64_t kBudgetMinSize = 16ULL << 20;

namespace detail {
/// For points of at least kBudgetMinSize bytes: shrinks warm-up and samples when
/// `per_iteration_ns` says the point would exceed its budget; records what it did in `note`.
void fit_budget(const PointSpec& point, double per_iteration_ns, std::uint64_t& warmup,
                std::uint64_t& samples, std::string& note);
} // namespace detail

/// Parent side of a latency or throughput point. `watch` is told before the stop message.
template <class Endpoint>
Measured run_parent(Endpoint& ep, const PointSpec& point, ChildWatch& watch) {
    Measured out;
    const Touch touch = point.touch;
    if (point.pattern == Pattern::throughput) {
        // Clock reads only at the first message and at the stop: a clock_gettime per
        // message would cost more than the transport at 8 B.
        const auto first = ep.receive();
        (void)read_message(first, touch);
        ep.release();
        const std::int64_t start = now_ns();
        std::uint64_t count = 0;
        for (;;) {
            const auto in = ep.receive();
            const std::int64_t header = read_message(in, touch);
            ep.release();
            if (header == kStopMessage) {
                break;
            }
            ++count;
        }
        const std::int64_t end = now_ns();
        watch.expect_exit();
        auto stop = ep.loan(kControlSize);
        write_message(stop, kStopMessage, Touch::transport, 0);
        ep.send(stop);
        out.messages = count;
        out.msgs_per_s =
            end > start ? static_cast<double>(count) * 1e9 / static_cast<double>(end - start) : 0.0;
        return out;
    }

    std::uint64_t warmup = point.warmup;
    std::uint64_t samples = point.samples;
    // Budget probe: time iterations [kProbeFrom, kProbeTo) (the first ones pay page faults)
    // and shrink the point if the whole of it would not fit its budget.
    constexpr std::uint64_t kProbeFrom = 2;
    constexpr std::uint64_t kProbeTo = 12;
    out.samples_ns.reserve(samples);
    std::int64_t probe_start = 0;
    for (std::uint64_t i = 0; i < warmup + samples; ++i) {
        if (i == kProbeFrom) {
            probe_start = now_ns();
        } else if (i == kProbeTo && warmup >= kProbeTo) {
            detail::fit_budget(point,
                               static_cast<double>(now_ns() - probe_start) /
                                   static_cast<double>(kProbeTo - kProbeFrom),
                               warmup, samples, out.note);
        }
        const bool last = i + 1 == warmup + samples;
        const auto fill = static_cast<std::uint8_t>(i);
        if (point.pattern == Pattern::pingpong) {
            const std::int64_t t0 = now_ns();
            auto msg = ep.loan(point.size);
            write_message(msg, t0, touch, fill);
            ep.send(msg);
            const auto in = ep.receive();
            (void)read_message(in, touch);
            ep.release();
            const std::int64_t t1 = now_ns();
            if (i >= warmup) {
                out.samples_ns.push_back((t1 - t0 + 1) / 2);
            }
        } else { // oneway: the child sends, we take the latency from its timestamp, then ack
            const auto in = ep.receive();
            const std::int64_t sent = read_message(in, touch);
            const std::int64_t t1 = now_ns();
            ep.release();
            if (i >= warmup) {
                out.samples_ns.push_back(t1 - sent);
            }
            if (last) {
                break; // the stop below is the last ack
            }
            auto ack = ep.loan(kControlSize);
            write_message(ack, 0, Touch::transport, 0);
            ep.send(ack);
        }
    }
    watch.expect_exit();
    auto stop = ep.loan(kControlSize);
    write_message(stop, kStopMessage, Touch::transport, 0);
    ep.send(stop);
    return out;
}

/// Child side: echoes (pingpong), sends paced by acks (oneway) or floods (throughput), and
/// returns after the parent's stop message.
template <class Endpoint>
void run_child(Endpoint& ep, const PointSpec& point) {
    const Touch touch = point.touch;
    if (point.pattern == Pattern::pingpong) {
        for (std::uint64_t i = 0;; ++i) {
            const auto in = ep.receive();
            const std::int64_t header = read_message(in, touch);
            ep.release();
            if (header == kStopMessage) {
                return;
            }
            auto out = ep.loan(point.size);
            write_message(out, header, touch, static_cast<std::uint8_t>(i));
            ep.send(out);
        }
    }
    if (point.pattern == Pattern::oneway) {
        for (std::uint64_t i = 0;; ++i) {
            const std::int64_t t0 = now_ns();
            auto out = ep.loan(point.size);
            write_message(out, t0, touch, static_cast<std::uint8_t>(i));
            // The timestamp is taken before the payload is written, as in pingpong.
            ep.send(out);
            const auto in = ep.receive();
            const std::int64_t header = read_message(in, Touch::transport);
            ep.release();
            if (header == kStopMessage) {
                return;
            }
        }
    }
    // throughput
    const auto duration = static_cast<std::int64_t>(point.seconds * 1e9);
    const std::int64_t end = now_ns() + duration;
    for (std::uint64_t i = 0;; ++i) {
        if ((i & 63U) == 0 && now_ns() >= end) {
            break;
        }
        auto out = ep.loan(point.size);
        write_message(out, static_cast<std::int64_t>(i), touch, static_cast<std::uint8_t>(i));
        ep.send(out);
    }
    auto stop = ep.loan(kControlSize);
    write_message(stop, kStopMessage, Touch::transport, 0);
    ep.send(stop);
    for (;;) { // wait for the parent's stop so the parent knows we ended on purpose
        const auto in = ep.receive();
        const std::int64_t header = read_message(in, Touch::transport);
        ep.release();
        if (header == kStopMessage) {
            return;
        }
    }
}

} // namespace zeroflow::bench
