// Latency percentiles over nanosecond samples, nearest-rank, for the benchmark harness.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace zeroflow::bench {

/// Percentiles of one measured point, in nanoseconds.
struct Percentiles {
    std::int64_t p50_ns{0};
    std::int64_t p90_ns{0};
    std::int64_t p99_ns{0};
    std::int64_t p999_ns{0};
    std::int64_t max_ns{0};
    std::size_t samples{0};
};

/// Nearest-rank percentile of an ascending, non-empty `sorted` range.
///
/// `per_100k` is the percentile in thousandths of a percent (p50 = 50'000, p99.9 = 99'900,
/// max = 100'000), so the rank is exact integer arithmetic:
///     rank = ceil(per_100k * n / 100'000), clamped to [1, n], 1-based;
/// the result is the smallest sample such that at least that share of samples are <= it.
/// With one sample every percentile is that sample. An empty range returns 0.
[[nodiscard]] std::int64_t nearest_rank(std::span<const std::int64_t> sorted,
                                        std::uint32_t per_100k) noexcept;

/// Sorts `samples` and returns p50, p90, p99, p99.9 and max (nearest rank, see above).
/// An empty vector gives all zeros and `samples == 0`.
[[nodiscard]] Percentiles compute_percentiles(std::vector<std::int64_t> samples);

} // namespace zeroflow::bench
