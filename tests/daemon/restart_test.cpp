// Restart policies with a real daemon and real node processes: a relay that crashes every few
// messages comes back with its queues, sequence numbers and downstream inputs intact, until its
// budget is spent; `always` restarts a clean exit; a stop during the backoff ends it at once.
#include <csignal>
#include <fstream>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

class Restarts : public DaemonTest {
protected:
    /// Starts `file` on the test's daemon and waits until it is no longer running.
    void run_to_end(const fs::path& file, Json& result) {
        const auto started = zeroflow({"start", file.string()});
        ASSERT_EQ(started.status, 0) << started.err;
        const auto uuid = first_line(started.out);
        ASSERT_TRUE(eventually(
            [&] {
                result = find(list(), uuid);
                return result.is_object() && result["status"] != "running";
            },
            20s))
            << result.dump(2);
    }
};

std::size_t lines_of(const fs::path& file) {
    std::ifstream in(file);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
    }
    return n;
}

Json node_of(const Json& dataflow, const std::string& id) {
    for (const auto& n : dataflow["nodes"]) {
        if (n["id"] == id) {
            return n;
        }
    }
    return Json();
}

/// source (one message every 10 ms) -> relay (crashes after every 5 forwards) -> sink.
std::vector<NodeSpec> relay_chain(const fs::path& sink, const fs::path& starts,
                                  const std::string& relay_yaml,
                                  std::vector<std::string> relay_args = {},
                                  const std::string& count = "80") {
    relay_args.insert(relay_args.end(), {"--starts", starts.string()});
    NodeSpec relay{"relay", "relay", relay_args, {{"in", "source/out"}}, {"out"}, 64};
    relay.yaml = relay_yaml;
    return {NodeSpec{"source", "source", {"--count", count, "--period-us", "10000"}, {}, {"out"}},
            relay,
            NodeSpec{"sink", "sink", {"--report", sink.string()}, {{"in", "relay/out"}}, {}, 64}};
}

TEST_F(Restarts, OnFailureRestartsThreeTimesThenTheNodeFailsAndTheStreamStaysContinuous) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file =
        write_dataflow("crashy", relay_chain(report("sink"), report("starts"),
                                             "    restart_policy: on-failure\n    max_restarts: 3\n"
                                             "    restart_delay: 20ms\n",
                                             {"--crash-every", "5"}));
    Json result;
    ASSERT_NO_FATAL_FAILURE(run_to_end(file, result));
    EXPECT_EQ(result["status"], "finished") << result.dump(2);
    EXPECT_EQ(result["failed_nodes"], Json::array({"relay"})) << result.dump(2);
    const auto relay = node_of(result, "relay");
    EXPECT_EQ(relay["restarts"], 3) << relay.dump(2);
    EXPECT_EQ(relay.value("signal", 0), SIGABRT) << relay.dump(2);
    EXPECT_EQ(relay["last_exit"].value("signal", 0), SIGABRT) << relay.dump(2);
    EXPECT_EQ(lines_of(report("starts")), 4u) << "the first process and three restarts";

    // Each process forwarded 5 messages, took a 6th and died with it: the sink saw 1-5, 7-11,
    // 13-17, 19-23. What was sent while the relay was down waited in its queue; the relay's
    // output went on numbering where it left off; the sink's input closed once, at the end.
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 20u);
    EXPECT_EQ(report_number(sink, "first"), 1u);
    EXPECT_EQ(report_number(sink, "last"), 23u);
    EXPECT_EQ(report_number(sink, "gaps"), 3u) << "one message lost per restart, no more";
    EXPECT_EQ(report_number(sink, "last_sequence"), 20u);
    EXPECT_EQ(report_number(sink, "sequence_gaps"), 0u);
    EXPECT_EQ(report_number(sink, "dropped"), 0u);
    EXPECT_EQ(sink["events"], "closed:in,all_closed,stop");

    // The daemon serves on, and the table says what happened.
    const auto table = zeroflow({"list"});
    EXPECT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("relay: crashed: killed by signal 6"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("(restarted 3 times)"), std::string::npos) << table.out;
}

TEST_F(Restarts, AlwaysRestartsACleanExitAndOnFailureDoesNot) {
    ASSERT_GT(up(runtime_dir()), 0);
    auto nodes = relay_chain(report("sink"), report("starts"),
                             "    restart_policy: always\n    max_restarts: 1\n",
                             {"--crash-every", "5", "--exit-clean"}, "40");
    NodeSpec calm{"calm",
                  "relay",
                  {"--crash-every", "5", "--exit-clean", "--starts", report("calm_starts")},
                  {{"in", "source/out"}},
                  {"out"},
                  64};
    calm.yaml = "    restart_policy: on-failure\n";
    nodes.push_back(calm);
    nodes.push_back(NodeSpec{
        "calm_sink", "sink", {"--report", report("calm_sink").string()}, {{"in", "calm/out"}}, {}});
    const auto file = write_dataflow("clean", nodes);
    Json result;
    ASSERT_NO_FATAL_FAILURE(run_to_end(file, result));
    EXPECT_EQ(result["success"], true) << result.dump(2);
    EXPECT_EQ(node_of(result, "relay")["restarts"], 1) << result.dump(2);
    EXPECT_EQ(node_of(result, "relay").value("exit_code", -1), 0);
    EXPECT_EQ(node_of(result, "calm")["restarts"], 0) << result.dump(2);
    EXPECT_EQ(lines_of(report("starts")), 2u);
    EXPECT_EQ(lines_of(report("calm_starts")), 1u);
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 10u);
    EXPECT_EQ(report_number(sink, "last"), 11u);
    EXPECT_EQ(report_number(sink, "sequence_gaps"), 0u);
    EXPECT_EQ(report_number(read_report(report("calm_sink")), "count"), 5u);
}

TEST_F(Restarts, AStopDuringTheBackoffEndsTheNodeAtOnceWithoutARestart) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "backoff",
        relay_chain(report("sink"), report("starts"),
                    "    restart_policy: on-failure\n    restart_delay: 30s\n    max_restarts: 0\n",
                    {"--crash-every", "3"}, "0"));
    const auto started = zeroflow({"start", file.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    Json relay;
    ASSERT_TRUE(eventually(
        [&] {
            relay = node_of(find(list(), uuid), "relay");
            return relay.is_object() && relay["status"] == "restarting";
        },
        20s))
        << relay.dump(2);
    // In backoff: the last exit is shown, nothing closed downstream yet.
    EXPECT_EQ(relay["restarts"], 0);
    EXPECT_EQ(relay["last_exit"].value("signal", 0), SIGABRT) << relay.dump(2);
    EXPECT_FALSE(relay.contains("exit_code") || relay.contains("signal")) << relay.dump(2);
    std::this_thread::sleep_for(150ms);
    EXPECT_EQ(read_report(report("sink"))["events"], "") << "InputClosed during the backoff";

    const auto stopped = zeroflow({"stop", uuid});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_LT(stopped.elapsed, 5s) << "stop waited for the 30 s backoff";
    const auto result = find(list(), uuid);
    const auto ended = node_of(result, "relay");
    EXPECT_EQ(ended["status"], "exited") << ended.dump(2);
    EXPECT_EQ(ended["restarts"], 0);
    EXPECT_EQ(ended.value("signal", 0), SIGABRT) << ended.dump(2);
    EXPECT_EQ(result["failed_nodes"], Json::array({"relay"})) << result.dump(2);
    // The sink's Stop comes before the InputClosed of the relay that was given up.
    const auto events = read_report(report("sink"))["events"];
    EXPECT_EQ(events.rfind("stop", 0), 0u) << events;
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(lines_of(report("starts")), 1u) << "restarted after the stop";
}

} // namespace
} // namespace zeroflow::daemon_test
