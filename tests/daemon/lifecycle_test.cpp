// A dataflow's life through the CLI and a background daemon: up, start, list, logs, stop,
// destroy; stop escalation for nodes that ignore Stop; start failures.
#include <csignal>
#include <fstream>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

/// A 1 kHz source that runs until Stop, feeding a sink that reports to `sink_report`.
std::vector<NodeSpec> streaming(const fs::path& sink_report) {
    return {
        NodeSpec{"source", "source", {"--count", "0", "--period-us", "1000"}, {}, {"out"}},
        NodeSpec{
            "sink", "sink", {"--report", sink_report.string()}, {{"in", "source/out"}}, {}, 1024}};
}

std::vector<pid_t> pids_of(const Json& dataflow) {
    std::vector<pid_t> pids;
    for (const auto& node : dataflow["nodes"]) {
        if (node.contains("pid")) {
            pids.push_back(node["pid"].get<pid_t>());
        }
    }
    return pids;
}

using Lifecycle = DaemonTest;

TEST_F(Lifecycle, UpStartListLogsStopDestroyThroughTheCli) {
    const auto rt = runtime_dir();
    const pid_t daemon = up(rt);
    ASSERT_GT(daemon, 0);
    const auto again = zeroflow({"up"}, rt);
    EXPECT_EQ(again.status, 0);
    EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;

    const auto file = write_dataflow("demo", streaming(report("sink")));
    const auto started = zeroflow({"start", file.string(), "--name", "demo"});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    ASSERT_EQ(uuid.size(), 36u) << started.out;
    EXPECT_TRUE(segment_held(uuid));

    const auto taken = zeroflow({"start", file.string(), "--name", "demo"});
    EXPECT_EQ(taken.status, 1);
    EXPECT_NE(taken.err.find("already named 'demo'"), std::string::npos) << taken.err;

    const auto running = find(list(), uuid);
    ASSERT_TRUE(running.is_object()) << list().dump(2);
    EXPECT_EQ(running["name"], "demo");
    EXPECT_EQ(running["status"], "running");
    EXPECT_EQ(running["nodes_running"], 2);
    const auto pids = pids_of(running);
    ASSERT_EQ(pids.size(), 2u) << running.dump(2);
    for (const pid_t pid : pids) {
        EXPECT_TRUE(process_alive(pid)) << pid;
    }
    EXPECT_TRUE(
        eventually([&] { return report_number(read_report(report("sink")), "count") >= 50; }, 20s));

    const auto logs = zeroflow({"logs", "demo", "source"});
    EXPECT_EQ(logs.status, 0) << logs.err;
    EXPECT_NE(logs.out.find("source: sending on out"), std::string::npos) << logs.out;
    const auto no_node = zeroflow({"logs", "demo", "nosuch"});
    EXPECT_EQ(no_node.status, 1);
    EXPECT_NE(no_node.err.find("has no node 'nosuch'"), std::string::npos) << no_node.err;

    const auto stopped = zeroflow({"stop", "demo"});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_EQ(stopped.out, "dataflow " + uuid + " stopped\n");
    EXPECT_LT(stopped.elapsed, 10s);
    // `stop` answers once every node is gone and the segment is unlinked.
    for (const pid_t pid : pids) {
        EXPECT_FALSE(process_alive(pid)) << "node process " << pid << " survived stop";
    }
    EXPECT_FALSE(segment_held(uuid));

    const auto finished = find(list(), uuid);
    EXPECT_EQ(finished["status"], "finished") << finished.dump(2);
    EXPECT_EQ(finished["success"], true) << finished.dump(2);
    for (const auto& node : finished["nodes"]) {
        EXPECT_EQ(node.value("exit_code", -1), 0) << node.dump();
    }
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "first"), 1u);
    EXPECT_EQ(report_number(sink, "gaps"), 0u);
    EXPECT_TRUE(stopped_events(sink["events"])) << sink["events"];

    const auto stop_again = zeroflow({"stop", "demo"});
    EXPECT_EQ(stop_again.status, 1);
    EXPECT_NE(stop_again.err.find("no running dataflow"), std::string::npos) << stop_again.err;

    const auto destroyed = zeroflow({"destroy"});
    EXPECT_EQ(destroyed.status, 0) << destroyed.err;
    EXPECT_EQ(destroyed.out, "zeroflow daemon stopped\n");
    EXPECT_TRUE(eventually([&] { return !process_alive(daemon); }, 5s));
    EXPECT_FALSE(fs::exists(rt / "daemon.sock"));
    // Without a daemon, `list` says so and names the runs whose logs are kept.
    const auto gone = zeroflow({"list"});
    EXPECT_EQ(gone.status, 0) << gone.err;
    EXPECT_NE(gone.out.find("no zeroflow daemon is running"), std::string::npos) << gone.out;
    EXPECT_NE(gone.out.find("  " + uuid + "  demo  "), std::string::npos) << gone.out;
    EXPECT_EQ(zeroflow({"list", "--json"}).status, 1);
}

TEST_F(Lifecycle, StopEscalatesToSigtermThenSigkillAfterTheGracePeriod) {
    const auto rt = runtime_dir();
    ASSERT_GT(up(rt), 0);
    const auto file = write_dataflow(
        "stubborn",
        {NodeSpec{"polite", "source", {"--count", "0", "--period-us", "1000"}, {}, {"out"}},
         NodeSpec{"deaf", "stubborn", {}, {}, {}},
         NodeSpec{"deafer", "stubborn", {"--ignore-term"}, {}, {}}});
    const auto started = zeroflow({"start", file.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    const auto pids = pids_of(find(list(), uuid));
    ASSERT_EQ(pids.size(), 3u);

    const auto stopped = zeroflow({"stop", uuid, "--grace", "1"});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_GE(stopped.elapsed, 900ms) << "the grace period was not granted";
    EXPECT_LT(stopped.elapsed, 10s);
    for (const pid_t pid : pids) {
        EXPECT_FALSE(process_alive(pid)) << pid;
    }
    const auto result = find(list(), uuid);
    for (const auto& node : result["nodes"]) {
        const auto id = node["id"].get<std::string>();
        if (id == "polite") {
            EXPECT_EQ(node.value("exit_code", -1), 0) << node.dump();
        } else if (id == "deaf") {
            EXPECT_EQ(node.value("signal", 0), SIGTERM) << node.dump();
        } else {
            EXPECT_EQ(node.value("signal", 0), SIGKILL) << node.dump();
        }
    }
    EXPECT_EQ(result["success"], false);
    EXPECT_FALSE(segment_held(uuid));
}

using StartFailure = DaemonTest;

TEST_F(StartFailure, ANodeThatExitsBeforeRegisteringFailsTheStart) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "early", {NodeSpec{"camera",
                           "exit_early",
                           {"--code", "3", "--message", "camera: cannot open /dev/video7"},
                           {},
                           {"out"}},
                  NodeSpec{"sink", "sink", {}, {{"in", "camera/out"}}, {}}});
    const auto started = zeroflow({"start", file.string()});
    EXPECT_EQ(started.status, 1) << started.out;
    EXPECT_NE(started.err.find("node 'camera' exited with status 3"), std::string::npos)
        << started.err;
    EXPECT_NE(started.err.find("camera: cannot open /dev/video7"), std::string::npos)
        << started.err;
    EXPECT_LT(started.elapsed, 30s);
    const auto dataflows = list();
    ASSERT_EQ(dataflows.size(), 1u);
    EXPECT_EQ(dataflows[0]["status"], "failed") << dataflows.dump(2);
    // The failed start's other nodes are being ended (stop with no grace) when start answers:
    // they are gone a moment later, not necessarily at the reply.
    for (const pid_t pid : pids_of(dataflows[0])) {
        EXPECT_TRUE(eventually([&] { return !process_alive(pid); }, 5s)) << pid;
    }
}

TEST_F(StartFailure, ANodeThatNeverRegistersFailsTheStartAtTheTimeout) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "late", {NodeSpec{"sleepy", "source", {"--sleep-before-register", "3600"}, {}, {"out"}},
                 NodeSpec{"sink", "sink", {}, {{"in", "sleepy/out"}}, {}}});
    const auto started = zeroflow({"start", file.string(), "--start-timeout", "2"});
    EXPECT_EQ(started.status, 1) << started.out;
    EXPECT_NE(started.err.find("did not register within the start timeout: sleepy"),
              std::string::npos)
        << started.err;
    EXPECT_GE(started.elapsed, 1900ms);
    EXPECT_LT(started.elapsed, 20s);
    const auto dataflows = list();
    ASSERT_EQ(dataflows.size(), 1u);
    EXPECT_EQ(dataflows[0]["status"], "failed") << dataflows.dump(2);
    EXPECT_TRUE(eventually(
        [&] {
            for (const pid_t pid : node_pids()) {
                if (process_alive(pid)) {
                    return false;
                }
            }
            return true;
        },
        10s));
}

TEST_F(StartFailure, ABadDataflowFileIsRefusedWithItsDiagnostics) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = flows_ / "bad.yml";
    std::ofstream(file) << "nodes:\n  - id: a\n    pathh: /bin/true\n";
    for (const std::string command : {"start", "run"}) {
        const auto sut = zeroflow({command, file.string()});
        EXPECT_EQ(sut.status, 1) << command;
        EXPECT_NE(sut.err.find(file.string() + ":3:5: error: unknown key 'pathh'"),
                  std::string::npos)
            << command << "\n"
            << sut.err;
        EXPECT_NE(sut.err.find(file.string() + ":2:5: error: node 'a' has no 'path'"),
                  std::string::npos)
            << command << "\n"
            << sut.err;
    }
    const auto missing = zeroflow({"start", (flows_ / "missing.yml").string()});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("missing.yml"), std::string::npos) << missing.err;
    EXPECT_EQ(list().size(), 0u);
}

using DaemonDeath = DaemonTest;

TEST_F(DaemonDeath, NodesGetAnErrorThenStopAndTheNextDaemonRemovesTheLeftovers) {
    const auto rt = runtime_dir();
    const pid_t daemon = up(rt);
    ASSERT_GT(daemon, 0);
    const auto file = write_dataflow("ticks", {NodeSpec{"sink",
                                                        "sink",
                                                        {"--report", report("sink").string()},
                                                        {{"tick", "zeroflow/timer/millis/10"}},
                                                        {}}});
    const auto started = zeroflow({"start", file.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    ASSERT_TRUE(
        eventually([&] { return report_number(read_report(report("sink")), "count") >= 10; }, 20s));

    ASSERT_EQ(::kill(daemon, SIGKILL), 0);
    EXPECT_TRUE(eventually(
        [&] {
            for (const pid_t pid : node_pids()) {
                if (process_alive(pid)) {
                    return false;
                }
            }
            return true;
        },
        10s))
        << "a node outlived its daemon";
    EXPECT_EQ(read_report(report("sink"))["events"], "error,stop");
    // A sealed memfd goes with its last user: once the nodes left, nothing remains, before
    // any next daemon.
    EXPECT_FALSE(segment_held(uuid));
    ASSERT_TRUE(eventually([&] { return !process_alive(daemon); }, 5s));
    ASSERT_GT(up(rt), 0);
    EXPECT_FALSE(segment_held(uuid));
    EXPECT_EQ(list().size(), 0u);
}

} // namespace
} // namespace zeroflow::daemon_test
