// The JSON-lines writer's output, parsed back and checked field by field.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <zeroflow/bench/interleave.hpp>
#include <zeroflow/bench/report.hpp>

namespace zeroflow::bench {
namespace {

TEST(Report, HeaderLineHasHostFields) {
    std::ostringstream out;
    JsonlWriter sut(out);
    sut.header(HostInfo{"Some CPU @ 2.0GHz", 2, "6.1.0", "2024-01-02T03:04:05Z",
                        "cpuidle haltpoll, guest_halt_poll_ns 0"});
    const auto text = out.str();
    ASSERT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "exactly one line";
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j.at("type"), "header");
    EXPECT_EQ(j.at("cpu"), "Some CPU @ 2.0GHz");
    EXPECT_EQ(j.at("cores"), 2);
    EXPECT_EQ(j.at("kernel"), "6.1.0");
    EXPECT_EQ(j.at("time"), "2024-01-02T03:04:05Z");
    EXPECT_EQ(j.at("idle"), "cpuidle haltpoll, guest_halt_poll_ns 0");
    EXPECT_EQ(j.size(), 6U);
}

TEST(Report, IdleStateNamesTheDriverAndGuestHaltPolling) {
    namespace fs = std::filesystem;
    const auto root = fs::temp_directory_path() / ("zf-idle-" + std::to_string(::getpid()));
    const auto write = [](const fs::path& file, const std::string& text) {
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text << "\n";
    };
    const auto cpu = root / "cpu";
    const auto poll = root / "haltpoll" / "guest_halt_poll_ns";
    const auto read = [&] { return IdleState::read(cpu, poll); };
    EXPECT_EQ(read().describe(), "no cpuidle driver"); // nothing there
    write(cpu / "cpuidle" / "current_driver", "intel_idle");
    write(poll, "0"); // a parameter of another driver: not named
    EXPECT_EQ(read().describe(), "cpuidle intel_idle");
    EXPECT_FALSE(read().halts_at_once());
    write(cpu / "cpuidle" / "current_driver", "haltpoll");
    EXPECT_EQ(read().describe(), "cpuidle haltpoll, guest_halt_poll_ns 0");
    EXPECT_TRUE(read().halts_at_once());
    write(poll, "200000");
    EXPECT_EQ(read().describe(), "cpuidle haltpoll, guest_halt_poll_ns 200000");
    EXPECT_FALSE(read().halts_at_once());
    fs::remove_all(root);
}

TEST(Report, RealHostInfoIsFilled) {
    const auto host = read_host_info();
    EXPECT_FALSE(host.cpu.empty());
    EXPECT_GE(host.cores, 1U);
    EXPECT_FALSE(host.kernel.empty());
    ASSERT_EQ(host.time.size(), 20U);
    EXPECT_EQ(host.time.back(), 'Z');
}

TEST(Report, LatencyPointHasExactlyTheFields) {
    PointResult point;
    point.system = "raw";
    point.mode = "busy";
    point.touch = "full";
    point.pattern = "pingpong";
    point.size = 4096;
    point.latency = Percentiles{1500, 2000, 3000, 4000, 5000, 10000};
    point.samples = 10000;
    std::ostringstream out;
    JsonlWriter sut(out);
    sut.point(point);
    const auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j.at("system"), "raw");
    EXPECT_EQ(j.at("mode"), "busy");
    EXPECT_EQ(j.at("touch"), "full");
    EXPECT_EQ(j.at("pattern"), "pingpong");
    EXPECT_EQ(j.at("size"), 4096);
    EXPECT_DOUBLE_EQ(j.at("p50_us").get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(j.at("p90_us").get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(j.at("p99_us").get<double>(), 3.0);
    EXPECT_DOUBLE_EQ(j.at("p999_us").get<double>(), 4.0);
    EXPECT_DOUBLE_EQ(j.at("max_us").get<double>(), 5.0);
    EXPECT_EQ(j.at("samples"), 10000);
    EXPECT_TRUE(j.at("msgs_per_s").is_null());
    EXPECT_FALSE(j.contains("note"));
    EXPECT_EQ(j.size(), 12U);
}

TEST(Report, ThroughputPointHasNullLatenciesAndANote) {
    PointResult point;
    point.system = "tcp";
    point.mode = "blocking";
    point.touch = "transport";
    point.pattern = "throughput";
    point.size = 8;
    point.msgs_per_s = 123456.5;
    point.samples = 123456;
    point.note = "one sender";
    const auto j = nlohmann::json::parse(point_line(point));
    for (const char* key : {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
        EXPECT_TRUE(j.at(key).is_null()) << key;
    }
    EXPECT_DOUBLE_EQ(j.at("msgs_per_s").get<double>(), 123456.5);
    EXPECT_EQ(j.at("note"), "one sender");
    EXPECT_EQ(j.size(), 13U);
}

TEST(Report, StringsAreEscaped) {
    PointResult point;
    point.system = "a\"b";
    point.note = "line\nbreak";
    const auto line = point_line(point);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(line).at("system"), "a\"b");
}

} // namespace
} // namespace zeroflow::bench
