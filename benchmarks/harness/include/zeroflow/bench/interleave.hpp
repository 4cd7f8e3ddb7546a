// Interleaved measurement: the rounds of one point (systems run in alternating short rounds,
// A B C A B C ...) summarised per system, with the ratio to the floor measured beside each
// round and a detector for the machine changing state in between; and where processes ran
// (CPU topology from /sys/devices/system/cpu). Plain C++ on purpose: `bench_interleave` and
// `zeroflow bench` both compile this file.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zeroflow::bench {

/// Index into the percentile arrays below: p50, p90, p99, p99.9, max.
inline constexpr std::size_t kPercentiles = 5;
inline constexpr std::array<std::string_view, kPercentiles> kPercentileNames = {"p50", "p90", "p99",
                                                                                "p999", "max"};

/// One round of one system at one point, as its program reported it.
struct Round {
    std::string system;
    std::size_t sequence{0}; ///< position in the point's run order
    std::optional<std::array<double, kPercentiles>> latency_us; ///< absent for throughput
    std::optional<double> msgs_per_s;                           ///< throughput points only
    std::uint64_t samples{0};
};

/// What the rounds of one system at one point say.
struct SystemSummary {
    std::string system;
    std::size_t rounds{0};
    std::uint64_t samples{0};                                  ///< summed over the rounds
    std::optional<std::array<double, kPercentiles>> median_us; ///< median across rounds, each
    std::optional<std::array<double, kPercentiles>> min_us;    ///< spread across rounds
    std::optional<std::array<double, kPercentiles>> max_us;
    std::optional<double> msgs_per_s; ///< median across rounds
    std::optional<double> msgs_min, msgs_max;
    /// Median over this system's rounds of (its p50 / the mean p50 of the floor rounds just
    /// before and after it); for throughput (floor msgs/s / its msgs/s), so > 1 is slower
    /// either way. Absent for the floor itself and when no floor round was measured.
    std::optional<double> ratio_to_floor;
};

struct PointSummary {
    std::vector<SystemSummary> systems; ///< in order of first appearance
    /// The floor's rounds disagree by more than kFlipFactor (max/min of their p50, or of
    /// msgs/s): the machine changed state during the point, and ratios across it mislead.
    bool flip{false};
    std::optional<double> floor_min, floor_max; ///< the floor's p50 (µs) or msgs/s range
};

inline constexpr double kFlipFactor = 2.0;

/// Median of `values` (mean of the middle two for an even count); 0 for none.
[[nodiscard]] double median(std::vector<double> values);

/// Summarises the rounds of one point; `floor` names the system that is the floor.
[[nodiscard]] PointSummary summarize(const std::vector<Round>& rounds, std::string_view floor);

/// The order of `rounds_per_system` rounds of `systems`: A B C A B C ... (system indices).
[[nodiscard]] std::vector<std::size_t> round_order(std::size_t systems,
                                                   std::size_t rounds_per_system);

/// The JSON point lines (those with a "system" field) in a program's output, as rounds with
/// `sequence`; `note` gets the first non-empty "note". Lines that do not parse are skipped.
[[nodiscard]] std::vector<Round> parse_rounds(std::string_view output, std::size_t sequence,
                                              std::string* note = nullptr);

/// What identifies a point in the output lines.
struct PointKey {
    std::string mode, touch, pattern;
    std::uint64_t size{0};
    std::string placement;     ///< to_string(Placement), or "unpinned"
    std::vector<int> cpus;     ///< where the two (first) processes ran
    std::string floor_pattern; ///< the floor's pattern when it differs from `pattern`
    std::string note;
};

/// One JSON line (no newline) for one system at one point: the results.jsonl schema
/// (docs/benchmarks.md), medians across rounds in the percentile fields, plus `rounds`,
/// `spread_us` ({"p50":[min,max],...}), `ratio_to_floor`, `flip`, `placement`, `cpus`.
[[nodiscard]] std::string summary_line(const PointKey& key, const SystemSummary& system,
                                       const PointSummary& point);

/// Runs argv[0] (PATH searched) with stdout captured; `started` gets the pid as soon as it
/// runs (to forward signals). Returns the exit status (128 + signal when killed, -1 when it
/// could not start) and what it printed.
struct Captured {
    int status{-1};
    std::string out;
};
[[nodiscard]] Captured run_captured(const std::vector<std::string>& argv,
                                    void (*started)(int pid) = nullptr);

/// How two CPUs relate. Ordered from nearest to furthest.
enum class Placement { same_cpu, smt_siblings, same_l3, same_package, cross_package };

[[nodiscard]] std::string_view to_string(Placement placement) noexcept;

/// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; nullopt if malformed.
[[nodiscard]] std::optional<std::vector<int>> parse_cpu_list(std::string_view text);

/// The CPU topology of this machine (or of a copy of /sys/devices/system/cpu, for tests).
class Topology {
public:
    /// Reads `root` (default /sys/devices/system/cpu). CPUs it cannot read are left out.
    static Topology read(const std::filesystem::path& root = "/sys/devices/system/cpu");

    [[nodiscard]] const std::vector<int>& cpus() const noexcept { return cpus_; }
    /// How `a` and `b` relate; nullopt if either is unknown.
    [[nodiscard]] std::optional<Placement> classify(int a, int b) const;
    /// One CPU pair for each placement two processes can have here (smt_siblings, same_l3,
    /// same_package, cross_package), nullopt where the machine has none.
    [[nodiscard]] std::vector<std::pair<Placement, std::optional<std::pair<int, int>>>>
    offers() const;
    /// "2 CPUs (0-1), no SMT, one L3, one package".
    [[nodiscard]] std::string describe() const;

private:
    struct Cpu {
        int id{0};
        std::vector<int> smt; ///< thread_siblings_list
        std::vector<int> l3;  ///< cache index3 shared_cpu_list (empty if none)
        int package{0};
    };
    [[nodiscard]] const Cpu* find(int id) const;
    std::vector<int> cpus_;
    std::vector<Cpu> info_;
};

/// How this machine's idle CPUs wait, which decides what waking a process asleep on another CPU
/// costs (every blocking hand-over). In a KVM guest with the haltpoll cpuidle driver an idle
/// virtual CPU polls up to guest_halt_poll_ns before it halts; once halted, a wake-up exits to
/// the hypervisor.
struct IdleState {
    std::string driver;                              ///< cpuidle's current_driver; empty: none
    std::optional<std::uint64_t> guest_halt_poll_ns; ///< with the haltpoll driver

    /// Reads `cpu_root`/cpuidle/current_driver and, for haltpoll, `haltpoll` (other paths for
    /// tests).
    static IdleState read(const std::filesystem::path& cpu_root = "/sys/devices/system/cpu",
                          const std::filesystem::path& haltpoll =
                              "/sys/module/haltpoll/parameters/guest_halt_poll_ns");
    /// "cpuidle haltpoll, guest_halt_poll_ns 200000", "cpuidle intel_idle", "no cpuidle driver".
    [[nodiscard]] std::string describe() const;
    /// Idle virtual CPUs halt at once (guest halt polling off): blocking latencies carry a
    /// hypervisor exit per hand-over.
    [[nodiscard]] bool halts_at_once() const noexcept {
        return driver == "haltpoll" && guest_halt_poll_ns == 0U;
    }
};

} // namespace zeroflow::bench
