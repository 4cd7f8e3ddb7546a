// `zeroflow run` to the end (embedded daemon): its exit status and report, and what a crashing
// node does to its dataflow (downstream InputClosed, the failure in `run` and in `list`).
#include <csignal>
#include <fstream>
#include <iterator>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

using RunCommand = DaemonTest;

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

TEST_F(RunCommand, WarnsAboutInputsANodeNeverTookOrNeverNamed) {
    // `deaf` never reads its events; `picky` reads them all but names only `in` with
    // node.input(), so `imgae` (a typo a node's code would never match) goes unnoticed.
    const auto file = write_dataflow(
        "untaken", {NodeSpec{"source", "source", {"--count", "100"}, {}, {"out"}},
                    NodeSpec{"other", "source", {"--count", "20"}, {}, {"out"}},
                    NodeSpec{"deaf", "deaf", {"--ms", "1500"}, {{"in", "source/out"}}, {}},
                    NodeSpec{"picky",
                             "picky",
                             {"--input", "in"},
                             {{"in", "source/out"}, {"imgae", "other/out"}},
                             {},
                             200}});
    const auto sut = zeroflow({"run", file.string()});
    EXPECT_EQ(sut.status, 0) << "warnings, not failures: " << sut.err;
    EXPECT_NE(sut.err.find("warning: node `deaf` never took any of the 100 messages that reached "
                           "its input `in` (from source/out)"),
              std::string::npos)
        << sut.err;
    EXPECT_NE(sut.err.find("warning: node `picky` named its inputs `in` with node.input() but "
                           "never `imgae`, which received 20 messages from other/out"),
              std::string::npos)
        << sut.err;
    EXPECT_EQ(count_of(sut.err, "warning:"), 2u) << sut.err;
    EXPECT_NE(sut.out.find("picky  | picky: matched 100"), std::string::npos) << sut.out;
}

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
    // The nodes' output, streamed with each line prefixed by its node id (padded to one width),
    // and still in their log files.
    EXPECT_NE(sut.out.find("source | source: sent 100 messages\n"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("sink   | sink: received 100 messages\n"), std::string::npos) << sut.out;
    EXPECT_EQ(sut.out.find("\x1b["), std::string::npos) << "no colour when not on a terminal";
    EXPECT_EQ(sut.err.find("warning:"), std::string::npos) << "the sink took its messages";
    const auto log = flows_ / "out" / run_uuid(sut.out) / "log_sink.txt";
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("sink: received 100 messages\n"), std::string::npos) << log;

    const auto colored = zeroflow({"run", "--color", "always", file.string()});
    EXPECT_EQ(colored.status, 0) << colored.err;
    EXPECT_NE(colored.out.find("sink   |\x1b[0m sink: received 100 messages"), std::string::npos)
        << colored.out;
    const auto quiet = zeroflow({"run", "-q", file.string()});
    EXPECT_EQ(quiet.status, 0) << quiet.err;
    EXPECT_EQ(quiet.out.find("received 100 messages"), std::string::npos) << quiet.out;
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
    // Its last line was streamed as it came, and is not printed a second time.
    const std::string last = "source: failing on purpose with status 4";
    EXPECT_NE(sut.out.find("source | " + last + "\n"), std::string::npos) << sut.out;
    EXPECT_EQ(count_of(sut.out + sut.err, last), 1u) << sut.out << sut.err;
    EXPECT_NE(sut.err.find("finished with failed nodes: source\n"), std::string::npos) << sut.err;
    EXPECT_NE(sut.out.find("  sink: exited with status 0"), std::string::npos) << sut.out;

    // Quiet, the report names the failed node's last output instead, once.
    const auto quiet = zeroflow({"run", "--quiet", file.string()});
    EXPECT_EQ(quiet.status, 1);
    EXPECT_EQ(quiet.out.find(" | "), std::string::npos) << quiet.out;
    EXPECT_NE(quiet.err.find("last output of source:\n"), std::string::npos) << quiet.err;
    EXPECT_NE(quiet.err.find("\n      " + last + "\n"), std::string::npos) << quiet.err;
    EXPECT_EQ(count_of(quiet.out + quiet.err, last), 1u) << quiet.out << quiet.err;
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
    EXPECT_NE(sut.out.find("crasher | crasher: aborting on purpose after 20 messages"),
              std::string::npos)
        << sut.out;
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
