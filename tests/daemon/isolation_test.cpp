// Isolation: two dataflows of one daemon, two daemons of one user; and fan-out delivering the
// same bytes to every receiver.
#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

/// A 1 kHz source that runs until Stop, feeding a sink (queue of 1024) that reports to `sink`.
std::vector<NodeSpec> streaming(const fs::path& sink) {
    return {
        NodeSpec{"source", "source", {"--count", "0", "--period-us", "1000"}, {}, {"out"}},
        NodeSpec{"sink", "sink", {"--report", sink.string()}, {{"in", "source/out"}}, {}, 1024}};
}

std::uint64_t received(const fs::path& sink) {
    return report_number(read_report(sink), "count");
}

/// The final report of a streaming sink: every message from 1 on, none skipped, none dropped.
void expect_unbroken(const fs::path& sink, std::uint64_t at_least) {
    const auto r = read_report(sink);
    EXPECT_EQ(report_number(r, "first"), 1u) << sink;
    EXPECT_EQ(report_number(r, "gaps"), 0u) << sink;
    EXPECT_EQ(report_number(r, "dropped"), 0u) << sink;
    EXPECT_EQ(report_number(r, "last"), report_number(r, "count")) << sink;
    EXPECT_GE(report_number(r, "count"), at_least) << sink;
    const auto events = r.count("events") ? r.at("events") : "";
    EXPECT_TRUE(stopped_events(events)) << sink << ": " << events;
}

using Isolation = DaemonTest;

TEST_F(Isolation, StoppingOneDataflowLeavesTheOtherStreaming) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto a =
        zeroflow({"start", write_dataflow("a", streaming(report("a"))).string(), "--name", "a"});
    const auto b =
        zeroflow({"start", write_dataflow("b", streaming(report("b"))).string(), "--name", "b"});
    ASSERT_EQ(a.status, 0) << a.err;
    ASSERT_EQ(b.status, 0) << b.err;
    ASSERT_TRUE(eventually([&] { return received(report("a")) >= 100; }, 20s));
    ASSERT_TRUE(eventually([&] { return received(report("b")) >= 100; }, 20s));

    const auto stopped = zeroflow({"stop", "a"});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_FALSE(segment_held(first_line(a.out)));
    EXPECT_TRUE(segment_held(first_line(b.out)));
    const auto b_then = received(report("b"));
    EXPECT_TRUE(eventually([&] { return received(report("b")) >= b_then + 300; }, 20s))
        << "b stalled after a stopped: " << received(report("b"));
    EXPECT_EQ(find(list(), first_line(b.out))["status"], "running");

    const auto stopped_b = zeroflow({"stop", "b"});
    EXPECT_EQ(stopped_b.status, 0) << stopped_b.err;
    expect_unbroken(report("a"), 100);
    expect_unbroken(report("b"), b_then + 300);
}

TEST_F(Isolation, FanOutDeliversTheSameBytesToEveryReceiver) {
    const auto file = write_dataflow(
        "fanout", {NodeSpec{"source",
                            "source",
                            {"--count", "300", "--size", "65536", "--seed", "7", "--report",
                             report("source").string()},
                            {},
                            {"out"}},
                   NodeSpec{"left",
                            "sink",
                            {"--expect", "300", "--report", report("left").string()},
                            {{"in", "source/out"}},
                            {},
                            1024},
                   NodeSpec{"right",
                            "sink",
                            {"--expect", "300", "--report", report("right").string()},
                            {{"in", "source/out"}},
                            {},
                            1024}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 0) << sut.out << sut.err;
    auto source = read_report(report("source"));
    auto left = read_report(report("left"));
    auto right = read_report(report("right"));
    EXPECT_EQ(report_number(source, "sent"), 300u);
    ASSERT_FALSE(source["checksum"].empty());
    EXPECT_EQ(left["checksum"], source["checksum"]);
    EXPECT_EQ(right["checksum"], source["checksum"]);
    for (const auto* sink : {&left, &right}) {
        EXPECT_EQ(report_number(*sink, "count"), 300u);
        EXPECT_EQ(report_number(*sink, "gaps"), 0u);
        EXPECT_EQ(report_number(*sink, "dropped"), 0u);
    }
}

TEST_F(Isolation, DestroyingOneDaemonLeavesAnotherRuntimeDirectoryServing) {
    const auto rt1 = runtime_dir("rt1");
    const auto rt2 = runtime_dir("rt2");
    const pid_t first = up(rt1);
    const pid_t second = up(rt2);
    ASSERT_GT(first, 0);
    ASSERT_GT(second, 0);
    ASSERT_NE(first, second);
    const auto one =
        zeroflow({"start", write_dataflow("one", streaming(report("one"))).string()}, rt1);
    const auto two =
        zeroflow({"start", write_dataflow("two", streaming(report("two"))).string()}, rt2);
    ASSERT_EQ(one.status, 0) << one.err;
    ASSERT_EQ(two.status, 0) << two.err;
    const auto uuid_one = first_line(one.out);
    const auto uuid_two = first_line(two.out);
    ASSERT_TRUE(eventually([&] { return received(report("one")) >= 100; }, 20s));
    ASSERT_TRUE(eventually([&] { return received(report("two")) >= 100; }, 20s));
    std::vector<pid_t> pids_one;
    const auto listed_one = find(list(rt1), uuid_one);
    for (const auto& node : listed_one["nodes"]) {
        pids_one.push_back(node["pid"].get<pid_t>());
    }
    // Each daemon sees only its own dataflow.
    EXPECT_TRUE(find(list(rt1), uuid_two).is_null());
    EXPECT_TRUE(find(list(rt2), uuid_one).is_null());

    const auto destroyed = zeroflow({"destroy", "--grace", "2"}, rt1);
    EXPECT_EQ(destroyed.status, 0) << destroyed.err;
    EXPECT_FALSE(process_alive(first));
    for (const pid_t pid : pids_one) {
        EXPECT_FALSE(process_alive(pid)) << pid;
    }
    EXPECT_FALSE(segment_held(uuid_one));
    EXPECT_TRUE(process_alive(second));
    EXPECT_TRUE(segment_held(uuid_two));
    const auto two_then = received(report("two"));
    EXPECT_TRUE(eventually([&] { return received(report("two")) >= two_then + 300; }, 20s));
    EXPECT_EQ(find(list(rt2), uuid_two)["status"], "running");

    const auto stopped = zeroflow({"stop", uuid_two}, rt2);
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    expect_unbroken(report("one"), 100);
    expect_unbroken(report("two"), two_then + 300);
}

} // namespace
} // namespace zeroflow::daemon_test
