// Nearest-rank percentiles on vectors whose answers are known by hand.
#include <numeric>

#include <gtest/gtest.h>

#include <zeroflow/bench/stats.hpp>

namespace zeroflow::bench {
namespace {

TEST(Percentiles, OneSampleIsEveryPercentile) {
    const auto sut = compute_percentiles({42});
    EXPECT_EQ(sut.samples, 1U);
    EXPECT_EQ(sut.p50_ns, 42);
    EXPECT_EQ(sut.p90_ns, 42);
    EXPECT_EQ(sut.p99_ns, 42);
    EXPECT_EQ(sut.p999_ns, 42);
    EXPECT_EQ(sut.max_ns, 42);
}

TEST(Percentiles, EmptyGivesZeros) {
    const auto sut = compute_percentiles({});
    EXPECT_EQ(sut.samples, 0U);
    EXPECT_EQ(sut.p50_ns, 0);
    EXPECT_EQ(sut.max_ns, 0);
}

TEST(Percentiles, EvenCountTakesTheLowerMiddle) {
    // n = 4: p50 rank = ceil(0.5 * 4) = 2 -> second smallest; no interpolation.
    const auto sut = compute_percentiles({40, 10, 30, 20});
    EXPECT_EQ(sut.p50_ns, 20);
    EXPECT_EQ(sut.p90_ns, 40); // ceil(3.6) = 4
    EXPECT_EQ(sut.max_ns, 40);
}

TEST(Percentiles, OddCountTakesTheMiddle) {
    const auto sut = compute_percentiles({5, 1, 3, 2, 4});
    EXPECT_EQ(sut.p50_ns, 3); // ceil(2.5) = 3
    EXPECT_EQ(sut.p90_ns, 5); // ceil(4.5) = 5
}

TEST(Percentiles, OneToThousandHitsExactRanks) {
    std::vector<std::int64_t> samples(1000);
    std::iota(samples.rbegin(), samples.rend(), 1); // unsorted on purpose: 1000 .. 1
    const auto sut = compute_percentiles(samples);
    EXPECT_EQ(sut.p50_ns, 500);
    EXPECT_EQ(sut.p90_ns, 900);
    EXPECT_EQ(sut.p99_ns, 990);
    EXPECT_EQ(sut.p999_ns, 999); // exact integer rank, no floating-point round-up to 1000
    EXPECT_EQ(sut.max_ns, 1000);
    EXPECT_EQ(sut.samples, 1000U);
}

TEST(Percentiles, TenSamplesP999IsTheMax) {
    std::vector<std::int64_t> samples(10);
    std::iota(samples.begin(), samples.end(), 1);
    const auto sut = compute_percentiles(samples);
    EXPECT_EQ(sut.p99_ns, 10);
    EXPECT_EQ(sut.p999_ns, 10);
}

} // namespace
} // namespace zeroflow::bench
