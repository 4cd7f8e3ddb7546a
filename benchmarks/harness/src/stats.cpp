// Nearest-rank percentiles.
#include <algorithm>

#include <zeroflow/bench/stats.hpp>

namespace zeroflow::bench {

std::int64_t nearest_rank(std::span<const std::int64_t> sorted, std::uint32_t per_100k) noexcept {
    const std::size_t n = sorted.size();
    if (n == 0) {
        return 0;
    }
    // rank = ceil(per_100k * n / 100000) in integers, so p99.9 of 1000 samples is rank 999.
    std::size_t rank = (std::size_t{per_100k} * n + 99'999) / 100'000;
    rank = std::clamp<std::size_t>(rank, 1, n);
    return sorted[rank - 1];
}

Percentiles compute_percentiles(std::vector<std::int64_t> samples) {
    Percentiles out;
    out.samples = samples.size();
    if (samples.empty()) {
        return out;
    }
    std::sort(samples.begin(), samples.end());
    const std::span<const std::int64_t> sorted{samples};
    out.p50_ns = nearest_rank(sorted, 50'000);
    out.p90_ns = nearest_rank(sorted, 90'000);
    out.p99_ns = nearest_rank(sorted, 99'000);
    out.p999_ns = nearest_rank(sorted, 99'900);
    out.max_ns = sorted.back();
    return out;
}

} // namespace zeroflow::bench
