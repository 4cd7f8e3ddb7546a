// `zeroflow run` to the end (embedded daemon): its exit status and report, and what a crashing
// node does to its dataflow (downstream InputClosed, the failure in `run` and in `list`).
#include <csignal>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

using RunCommand = DaemonTest;

TEST_F(RunCommand, ExitsZeroWhenEveryNodeExitsZero) {
    const auto file = write_dataflow(
        "ok", {NodeSpec{"source", "source", {"--count", "100", "--size", "256"}, {}, {"out"}},
               NodeSpec{"sink",
                        "sink",
                        {"--expect", "100", "--report", report("sink").string()},
                        {{"in", "source/out"}},
                        {},
                        1024}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_NE(sut.out.find("source: exited with status 0"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("sink: exited with status 0"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("finished: every node exited 0"), std::string::npos) << sut.out;
    EXPECT_LT(sut.elapsed, 30s);
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 100u);
    EXPECT_EQ(report_number(sink, "last"), 100u);
    EXPECT_EQ(report_number(sink, "gaps"), 0u);
    // The source's exit closed the input after the queued messages, then the stream ended.
    EXPECT_EQ(sink["events"], "closed:in,all_closed,stop");
}

TEST_F(RunCommand, ExitsOneNamingTheFailedNodeAndItsLastOutput) {
    const auto file = write_dataflow(
        "fails", {NodeSpec{"source", "source", {"--count", "10", "--exit-code", "4"}, {}, {"out"}},
                  NodeSpec{"sink", "sink", {"--expect", "10"}, {{"in", "source/out"}}, {}}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 1) << sut.out;
    EXPECT_NE(sut.err.find("  source: exited with status 4"), std::string::npos) << sut.err;
    EXPECT_NE(sut.err.find("source: failing on purpose with status 4"), std::string::npos)
        << sut.err;
    EXPECT_NE(sut.err.find("finished with failed nodes: source\n"), std::string::npos) << sut.err;
    EXPECT_NE(sut.out.find("  sink: exited with status 0"), std::string::npos) << sut.out;
}

TEST_F(RunCommand, ACrashingNodeClosesDownstreamInputsAndFailsTheRun) {
    const auto file = write_dataflow(
        "crash", {NodeSpec{"crasher",
                           "source",
                           {"--count", "0", "--period-us", "1000", "--abort-after", "20"},
                           {},
                           {"out"}},
                  NodeSpec{"sink",
                           "sink",
                           {"--report", report("sink").string()},
                           {{"in", "crasher/out"}},
                           {},
                           1024}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 1) << sut.out;
    EXPECT_NE(sut.err.find("crasher: was killed by signal 6"), std::string::npos) << sut.err;
    EXPECT_NE(sut.err.find("crasher: aborting on purpose after 20 messages"), std::string::npos)
        << sut.err;
    EXPECT_NE(sut.err.find("finished with failed nodes: crasher\n"), std::string::npos) << sut.err;
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 20u) << "messages queued before the crash are lost";
    EXPECT_EQ(report_number(sink, "gaps"), 0u);
    EXPECT_EQ(sink["events"], "closed:in,all_closed,stop");
}

TEST_F(RunCommand, ACrashIsReportedByListAndTheRestOfTheDataflowEnds) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "crash", {NodeSpec{"crasher",
                           "source",
                           {"--count", "0", "--period-us", "1000", "--abort-after", "50"},
                           {},
                           {"out"}},
                  NodeSpec{"sink",
                           "sink",
                           {"--report", report("sink").string()},
                           {{"in", "crasher/out"}},
                           {},
                           1024}});
    const auto started = zeroflow({"start", file.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    Json result;
    EXPECT_TRUE(eventually(
        [&] {
            result = find(list(), uuid);
            return result.is_object() && result["status"] != "running";
        },
        20s));
    EXPECT_EQ(result["status"], "finished") << result.dump(2);
    EXPECT_EQ(result["success"], false);
    EXPECT_EQ(result["failed_nodes"], Json::array({"crasher"}));
    for (const auto& node : result["nodes"]) {
        if (node["id"] == "crasher") {
            EXPECT_EQ(node.value("signal", 0), SIGABRT) << node.dump();
            EXPECT_NE(node["last_stderr"].get<std::string>().find("aborting on purpose"),
                      std::string::npos);
        } else {
            EXPECT_EQ(node.value("exit_code", -1), 0) << node.dump();
        }
    }
    EXPECT_FALSE(segment_held(uuid));
    EXPECT_EQ(read_report(report("sink"))["events"], "closed:in,all_closed,stop");
}

} // namespace
} // namespace zeroflow::daemon_test
