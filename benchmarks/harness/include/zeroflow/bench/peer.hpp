// Plumbing shared by the peer programs' main(): child arguments, deadlines, turning what a
// parent measured into a JSON line, and the child's start-up (pinning, parent-death signal).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <zeroflow/bench/driver.hpp>
#include <zeroflow/bench/point.hpp>
#include <zeroflow/bench/report.hpp>

namespace zeroflow::bench {

/// CPU of the measuring parent and of the spawned child (when the machine has >= 2), unless
/// `--cpus PARENT,CHILD` says otherwise (bench_interleave measures each placement that way).
inline constexpr unsigned kParentCpu = 0;
inline constexpr unsigned kChildCpu = 1;

/// Arguments for the child of `point`: --role child --point ... --cpu CHILD --parent <pid>,
/// then each of `extra` as --key value.
[[nodiscard]] std::vector<std::string>
child_args(const PointSpec& point, const std::vector<std::pair<std::string, std::string>>& extra);

/// How long a point may take before its ChildWatch declares the peer stuck.
[[nodiscard]] std::chrono::seconds point_deadline(const PointSpec& point) noexcept;

/// The JSON record of a measured point (percentiles for latency, msgs/s for throughput).
[[nodiscard]] PointResult make_result(std::string_view system, const PointSpec& point,
                                      Measured measured);

/// Child start-up: dies with the parent named by --parent, pins to --cpu. Exits 2 on a bad
/// --point. Returns the decoded point.
[[nodiscard]] PointSpec child_setup(const Options& options);

/// Parent start-up: signal cleanup, pinning to kParentCpu (or --cpus' first); prints the
/// header if asked. Exits 2 on a malformed --cpus.
void parent_setup(const Options& options, JsonlWriter& writer);

} // namespace zeroflow::bench
