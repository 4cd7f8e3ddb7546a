// JSON-lines result writer: one header line describing the host, then one line per point.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include <zeroflow/bench/stats.hpp>

namespace zeroflow::bench {

/// The machine a run happened on.
struct HostInfo {
    std::string cpu;    ///< "model name" from /proc/cpuinfo ("unknown" if absent)
    unsigned cores{0};  ///< online CPUs (sysconf(_SC_NPROCESSORS_ONLN))
    std::string kernel; ///< uname -r
    std::string time;   ///< ISO-8601 UTC, e.g. 2024-05-01T12:00:00Z
    std::string idle;   ///< how idle CPUs wait (IdleState, interleave.hpp); empty: not read
};

/// Reads the current host's description.
[[nodiscard]] HostInfo read_host_info();

/// One measured point. Latency points carry `latency` (one-way, ns); throughput points carry
/// `msgs_per_s`. The absent one is written as JSON null.
struct PointResult {
    std::string system;  ///< raw, iceoryx, tcp, uds, zeroflow
    std::string mode;    ///< busy or blocking
    std::string touch;   ///< transport or full
    std::string pattern; ///< pingpong, oneway, throughput, fanout-N, chain-K
    std::uint64_t size{0};
    std::optional<Percentiles> latency;
    std::optional<double> msgs_per_s;
    std::uint64_t samples{0}; ///< latency samples, or messages counted for throughput
    std::string note;         ///< written only when non-empty
};

/// `{"type":"header","cpu":...,"cores":N,"kernel":...,"time":...}` without a newline.
[[nodiscard]] std::string header_line(const HostInfo& host);

/// One point: exactly `system, mode, touch, pattern, size, p50_us, p90_us, p99_us, p999_us,
/// max_us, samples, msgs_per_s` (+ `note` when non-empty), without a newline.
[[nodiscard]] std::string point_line(const PointResult& point);

/// Writes lines to a stream and flushes after each, so a killed run keeps what it measured.
class JsonlWriter {
public:
    explicit JsonlWriter(std::ostream& out) : out_(out) {}
    void header(const HostInfo& host) { write(header_line(host)); }
    void point(const PointResult& point) { write(point_line(point)); }

private:
    void write(const std::string& line);
    std::ostream& out_;
};

} // namespace zeroflow::bench
