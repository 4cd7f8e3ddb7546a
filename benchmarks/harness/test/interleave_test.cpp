// Interleaved rounds: medians across rounds, ratio to the adjacent floor rounds, the state-flip
// detector, the round order, CPU lists and the topology read from a fake /sys tree.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>

namespace zb = zeroflow::bench;
namespace fs = std::filesystem;

namespace {

zb::Round latency(std::string system, std::size_t sequence, double p50) {
    zb::Round r;
    r.system = std::move(system);
    r.sequence = sequence;
    r.latency_us = std::array<double, zb::kPercentiles>{p50, p50 * 2, p50 * 3, p50 * 4, p50 * 5};
    r.samples = 100;
    return r;
}

} // namespace

TEST(Interleave, RoundOrderAlternatesSystems) {
    EXPECT_EQ(zb::round_order(3, 2), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
    EXPECT_TRUE(zb::round_order(2, 0).empty());
}

TEST(Interleave, MedianAcrossRoundsAndRatioToAdjacentFloor) {
    // raw A raw A raw: A's rounds are 2x the floor next to them, although the floor moves.
    const std::vector<zb::Round> rounds = {latency("raw", 0, 1.0), latency("A", 1, 2.0),
                                           latency("raw", 2, 1.0), latency("A", 3, 3.0),
                                           latency("raw", 4, 2.0)};
    const auto s = zb::summarize(rounds, "raw");
    ASSERT_EQ(s.systems.size(), 2U);
    EXPECT_EQ(s.systems[0].system, "raw");
    EXPECT_FALSE(s.systems[0].ratio_to_floor);
    EXPECT_EQ(s.systems[0].rounds, 3U);
    EXPECT_EQ(s.systems[0].samples, 300U);
    EXPECT_DOUBLE_EQ((*s.systems[0].median_us)[0], 1.0);
    const auto& a = s.systems[1];
    EXPECT_EQ(a.rounds, 2U);
    EXPECT_DOUBLE_EQ((*a.median_us)[0], 2.5);  // median of 2 and 3
    EXPECT_DOUBLE_EQ((*a.median_us)[4], 12.5); // max: median of 10 and 15
    EXPECT_DOUBLE_EQ((*a.min_us)[0], 2.0);
    EXPECT_DOUBLE_EQ((*a.max_us)[0], 3.0);
    // Round 1: 2 / mean(1, 1) = 2; round 3: 3 / mean(1, 2) = 2.
    ASSERT_TRUE(a.ratio_to_floor);
    EXPECT_DOUBLE_EQ(*a.ratio_to_floor, 2.0);
    EXPECT_FALSE(s.flip); // 2.0 / 1.0 is not more than 2x
}

TEST(Interleave, FlipDetectedWhenFloorRoundsDisagreeByMoreThanTwice) {
    const std::vector<zb::Round> rounds = {latency("raw", 0, 0.1), latency("A", 1, 0.2),
                                           latency("raw", 2, 0.45), latency("A", 3, 0.7)};
    const auto s = zb::summarize(rounds, "raw");
    EXPECT_TRUE(s.flip);
    EXPECT_DOUBLE_EQ(*s.floor_min, 0.1);
    EXPECT_DOUBLE_EQ(*s.floor_max, 0.45);
}

TEST(Interleave, ThroughputRatioIsFloorOverSystem) {
    zb::Round raw;
    raw.system = "raw";
    raw.msgs_per_s = 40e6;
    zb::Round a;
    a.system = "A";
    a.sequence = 1;
    a.msgs_per_s = 10e6;
    const auto s = zb::summarize({raw, a}, "raw");
    ASSERT_TRUE(s.systems[1].ratio_to_floor);
    EXPECT_DOUBLE_EQ(*s.systems[1].ratio_to_floor, 4.0);
    EXPECT_FALSE(s.systems[1].median_us);
}

TEST(Interleave, NoFloorNoRatio) {
    const auto s = zb::summarize({latency("A", 0, 1.0)}, "raw");
    EXPECT_FALSE(s.systems[0].ratio_to_floor);
    EXPECT_FALSE(s.flip);
}

TEST(Interleave, SummaryLineCarriesTheInterleavedFields) {
    const auto s = zb::summarize({latency("raw", 0, 1.0), latency("A", 1, 3.0)}, "raw");
    zb::PointKey key{"busy", "transport", "pingpong", 8, "same-l3", {0, 1}, "", ""};
    const auto j = nlohmann::json::parse(zb::summary_line(key, s.systems[1], s));
    EXPECT_EQ(j["system"], "A");
    EXPECT_DOUBLE_EQ(j["p50_us"].get<double>(), 3.0);
    EXPECT_DOUBLE_EQ(j["ratio_to_floor"].get<double>(), 3.0);
    EXPECT_EQ(j["rounds"], 1);
    EXPECT_EQ(j["placement"], "same-l3");
    EXPECT_EQ(j["spread"]["p99"][1].get<double>(), 9.0);
    EXPECT_FALSE(j["flip"].get<bool>());
    EXPECT_TRUE(j["msgs_per_s"].is_null());
}

TEST(Interleave, ParseRoundsTakesPointLinesOnly) {
    const std::string out = "{\"type\":\"header\"}\nnoise\n"
                            "{\"system\":\"raw\",\"p50_us\":0.1,\"p90_us\":0.2,\"p99_us\":0.3,"
                            "\"p999_us\":0.4,\"max_us\":0.5,\"samples\":7,\"msgs_per_s\":null,"
                            "\"note\":\"shrunk\"}\n";
    std::string note;
    const auto rounds = zb::parse_rounds(out, 4, &note);
    ASSERT_EQ(rounds.size(), 1U);
    EXPECT_EQ(rounds[0].sequence, 4U);
    EXPECT_EQ(rounds[0].samples, 7U);
    EXPECT_DOUBLE_EQ((*rounds[0].latency_us)[3], 0.4);
    EXPECT_FALSE(rounds[0].msgs_per_s);
    EXPECT_EQ(note, "shrunk");
}

TEST(Interleave, CpuLists) {
    EXPECT_EQ(zb::parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(zb::parse_cpu_list("5"), (std::vector<int>{5}));
    EXPECT_EQ(zb::parse_cpu_list(""), std::vector<int>{});
    EXPECT_FALSE(zb::parse_cpu_list("3-1"));
    EXPECT_FALSE(zb::parse_cpu_list("a"));
    EXPECT_FALSE(zb::parse_cpu_list("1,,2"));
}

TEST(Interleave, TopologyFromFakeSysfs) {
    // Two packages; package 0 has two cores of two SMT threads sharing one L3; package 1 one
    // core without SMT and its own L3.
    const fs::path root = fs::temp_directory_path() / ("zf-topology-" + std::to_string(::getpid()));
    fs::remove_all(root);
    const auto write = [&](const fs::path& file, const std::string& text) {
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text << "\n";
    };
    write(root / "online", "0-4");
    const struct {
        int id;
        const char* smt;
        const char* l3;
        int package;
    } cpus[] = {{0, "0,2", "0-3", 0},
                {1, "1,3", "0-3", 0},
                {2, "0,2", "0-3", 0},
                {3, "1,3", "0-3", 0},
                {4, "4", "4", 1}};
    for (const auto& c : cpus) {
        const auto dir = root / ("cpu" + std::to_string(c.id));
        write(dir / "topology" / "thread_siblings_list", c.smt);
        write(dir / "topology" / "physical_package_id", std::to_string(c.package));
        write(dir / "cache" / "index0" / "level", "1");
        write(dir / "cache" / "index0" / "shared_cpu_list", c.smt);
        write(dir / "cache" / "index3" / "level", "3");
        write(dir / "cache" / "index3" / "shared_cpu_list", c.l3);
    }
    const auto t = zb::Topology::read(root);
    EXPECT_EQ(t.cpus(), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(t.classify(0, 2), zb::Placement::smt_siblings);
    EXPECT_EQ(t.classify(0, 1), zb::Placement::same_l3);
    EXPECT_EQ(t.classify(0, 4), zb::Placement::cross_package);
    EXPECT_EQ(t.classify(3, 3), zb::Placement::same_cpu);
    EXPECT_FALSE(t.classify(0, 9));
    const auto offers = t.offers();
    ASSERT_EQ(offers.size(), 4U);
    EXPECT_EQ(offers[0].first, zb::Placement::smt_siblings);
    EXPECT_EQ(offers[0].second, (std::pair<int, int>{0, 2}));
    EXPECT_EQ(offers[1].second, (std::pair<int, int>{0, 1}));
    EXPECT_FALSE(offers[2].second); // same package, different L3: not on this machine
    EXPECT_EQ(offers[3].second, (std::pair<int, int>{0, 4}));
    EXPECT_EQ(t.describe(), "5 CPUs, 3 cores (SMT), 2 L3s, 2 packages");
    fs::remove_all(root);
}
