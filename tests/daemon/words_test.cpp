// What the CLI says about dataflows, as a user reads it: `list` naming failures and their
// reasons, dataflows named by a UUID prefix, `stop` and `logs` answering a wrong name with
// the right ones, and the logs of old runs pruned (ZEROFLOW_KEEP_RUNS) and cleaned.
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

using Words = DaemonTest;

/// A 1 kHz source that runs until Stop, feeding a sink.
std::vector<NodeSpec> streaming() {
    return {NodeSpec{"source", "source", {"--count", "0", "--period-us", "1000"}, {}, {"out"}},
            NodeSpec{"sink", "sink", {}, {{"in", "source/out"}}, {}, 1024}};
}

/// What bash completes for `words` (the last one being typed) on runtime directory `rt`.
std::string complete(const fs::path& rt, const fs::path& work, const std::string& words) {
    const auto script = work / "complete.sh";
    const auto out = work / "completion";
    std::ofstream(script) << "source '" << ZEROFLOW_COMPLETION << "'\nCOMP_WORDS=(" << words
                          << ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_zeroflow\n"
                          << "echo \"${COMPREPLY[*]}\"\n";
    const auto command = "PATH='" + fs::path(ZEROFLOW_CLI_BINARY).parent_path().string() +
                         "':$PATH ZEROFLOW_RUNTIME_DIR='" + rt.string() + "' bash '" +
                         script.string() + "' >'" + out.string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0);
    std::ifstream in(out);
    std::string text;
    std::getline(in, text);
    return text;
}

std::size_t run_folders(const fs::path& out) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) {
        n += e.is_directory() ? 1 : 0;
    }
    return n;
}

TEST_F(Words, ListShowsACrashedNodeAsCrashedWithItsLastLineAndTheEndAsFailed) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "crash", {NodeSpec{"crasher",
                           "source",
                           {"--count", "0", "--period-us", "1000", "--abort-after", "50"},
                           {},
                           {"out"}},
                  NodeSpec{"other", "source", {"--count", "0", "--period-us", "1000"}, {}, {"out"}},
                  NodeSpec{"sink", "sink", {}, {{"in", "crasher/out"}}, {}, 1024}});
    const auto started = zeroflow({"start", file.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    ASSERT_TRUE(eventually(
        [&] {
            const auto df = find(list(), uuid);
            return df.is_object() && df["nodes"][0].contains("signal");
        },
        20s));
    const auto running = zeroflow({"list"});
    EXPECT_EQ(running.status, 0);
    EXPECT_NE(running.out.find(uuid + "  -" + std::string(15, ' ') + "running    "),
              std::string::npos)
        << running.out; // `other` runs on
    EXPECT_NE(running.out.find("    crasher: crashed: killed by signal 6 (Aborted)\n"
                               "        last output: crasher: aborting on purpose after 50 "
                               "messages\n"),
              std::string::npos)
        << running.out;
    EXPECT_EQ(running.out.find("    other:"), std::string::npos) << "still running\n"
                                                                 << running.out;

    ASSERT_EQ(zeroflow({"stop", uuid}).status, 0);
    const auto ended = zeroflow({"list"});
    EXPECT_NE(ended.out.find(uuid + "  -" + std::string(15, ' ') + "failed "), std::string::npos)
        << ended.out;
    EXPECT_EQ(ended.out.find("finished"), std::string::npos) << ended.out;
    EXPECT_NE(ended.out.find("    crasher: crashed: killed by signal 6 (Aborted)"),
              std::string::npos)
        << ended.out;
    EXPECT_NE(ended.out.find("    other: succeeded (exit status 0)"), std::string::npos)
        << ended.out;
}

TEST_F(Words, ListSaysWhyAStartFailedAndWhichNodesNeverRan) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow(
        "early",
        {NodeSpec{"quitter", "exit_early", {"--message", "quitter: no camera found"}, {}, {"out"}},
         NodeSpec{"sink", "sink", {}, {{"in", "quitter/out"}}, {}}});
    const auto started = zeroflow({"start", file.string()});
    EXPECT_EQ(started.status, 1);
    Json df;
    ASSERT_TRUE(eventually(
        [&] {
            const auto all = list();
            if (all.empty()) {
                return false;
            }
            df = all[0];
            return df["status"] == "failed" && df["nodes_running"] == 0;
        },
        20s));
    const auto sut = zeroflow({"list"});
    EXPECT_NE(sut.out.find(" failed "), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("    why: node 'quitter' exited with status"), std::string::npos)
        << sut.out;
    EXPECT_NE(sut.out.find("before the dataflow started"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("        last output: quitter: no camera found"), std::string::npos)
        << sut.out;
    EXPECT_EQ(sut.out.find("starting"), std::string::npos) << sut.out;
}

TEST_F(Words, DataflowsAreNamedByAUniqueUuidPrefixAndAWrongNameListsTheRunningOnes) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto file = write_dataflow("stream", streaming());
    const auto a = zeroflow({"start", file.string(), "--name", "alpha"});
    const auto b = zeroflow({"start", file.string(), "--name", "beta"});
    ASSERT_EQ(a.status, 0) << a.err;
    ASSERT_EQ(b.status, 0) << b.err;
    const auto uuid_a = first_line(a.out);
    const auto uuid_b = first_line(b.out);

    const auto nosuch = zeroflow({"stop", "nosuch"});
    EXPECT_EQ(nosuch.status, 1);
    EXPECT_NE(nosuch.err.find("no running dataflow with UUID, UUID prefix or name 'nosuch'"),
              std::string::npos)
        << nosuch.err;
    EXPECT_NE(nosuch.err.find("running dataflows:\n"), std::string::npos) << nosuch.err;
    EXPECT_NE(nosuch.err.find("  " + uuid_a + "  alpha  running"), std::string::npos) << nosuch.err;
    EXPECT_NE(nosuch.err.find("  " + uuid_b + "  beta  running"), std::string::npos) << nosuch.err;
    // Bash completes the dataflows and, for `logs`, their nodes.
    const auto offered = complete(runtime_dir(), root_, "zeroflow stop ''");
    for (const auto& word : {uuid_a, uuid_b, std::string("alpha"), std::string("beta")}) {
        EXPECT_NE(offered.find(word), std::string::npos) << word << " in " << offered;
    }
    EXPECT_EQ(complete(runtime_dir(), root_, "zeroflow stop al"), "alpha");
    EXPECT_EQ(complete(runtime_dir(), root_, "zeroflow logs alpha ''"), "source sink");
    const auto typo = zeroflow({"stop", "alpah"});
    EXPECT_NE(typo.err.find("(did you mean 'alpha'?)"), std::string::npos) << typo.err;

    // Logs by prefix; a node id with a typo gets the nearest one and the list.
    const auto logs = zeroflow({"logs", uuid_a.substr(0, 8), "source"});
    EXPECT_EQ(logs.status, 0) << logs.err;
    EXPECT_NE(logs.out.find("source: sending on out"), std::string::npos) << logs.out;
    const auto node = zeroflow({"logs", "alpha", "snk"});
    EXPECT_EQ(node.status, 1);
    EXPECT_NE(node.err.find("has no node 'snk' (did you mean 'sink'?); its nodes: source, sink"),
              std::string::npos)
        << node.err;

    // Stop by prefix: the shortest prefix that tells the two apart.
    std::size_t n = 1;
    while (uuid_a.substr(0, n) == uuid_b.substr(0, n)) {
        ++n;
    }
    if (n > 1) {
        const auto shared = zeroflow({"stop", uuid_a.substr(0, n - 1)});
        EXPECT_EQ(shared.status, 1);
        EXPECT_NE(shared.err.find("is the start of several dataflows' UUIDs"), std::string::npos)
            << shared.err;
    }
    const auto stopped = zeroflow({"stop", uuid_a.substr(0, n)});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_NE(stopped.out.find("dataflow " + uuid_a + " stopped"), std::string::npos)
        << stopped.out;
    EXPECT_EQ(find(list(), uuid_b)["status"], "running");
    ASSERT_EQ(zeroflow({"stop", "beta"}).status, 0);
}

TEST_F(Words, LogsOfAFinishedRunTakeAPrefixAndSuggestNodes) {
    const auto file =
        write_dataflow("once", {NodeSpec{"source", "source", {"--count", "5"}, {}, {"out"}},
                                NodeSpec{"sink", "sink", {}, {{"in", "source/out"}}, {}}});
    const auto run = zeroflow({"run", "--quiet", file.string()});
    ASSERT_EQ(run.status, 0) << run.err;
    const auto uuid = run_uuid(run.out);
    // The embedded daemon is gone: the runtime directory's index finds the logs.
    const auto logs = zeroflow({"logs", uuid.substr(0, 6), "sink"});
    EXPECT_EQ(logs.status, 0) << logs.err;
    EXPECT_NE(logs.out.find("sink: received 5 messages"), std::string::npos) << logs.out;
    // `list` without a daemon names the earlier runs instead of failing.
    const auto listed = zeroflow({"list"});
    EXPECT_EQ(listed.status, 0) << listed.err;
    EXPECT_NE(listed.out.find("no zeroflow daemon is running"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("  " + uuid + "  -  " + (flows_ / "out" / uuid).string()),
              std::string::npos)
        << listed.out;
    EXPECT_EQ(zeroflow({"list", "--json"}).status, 1) << "scripts get the error";
    const auto unknown = zeroflow({"logs", "nosuch", "sink"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_NE(unknown.err.find("no dataflow 'nosuch': no daemon is running, and no earlier run"),
              std::string::npos)
        << unknown.err;
    const auto typo = zeroflow({"logs", uuid, "sorce"});
    EXPECT_EQ(typo.status, 1);
    EXPECT_NE(typo.err.find("has no node 'sorce' (did you mean 'source'?); its nodes: sink, "
                            "source"),
              std::string::npos)
        << typo.err;
}

TEST_F(Words, OnlyTheLastRunsLogsAreKeptAndCleanDeletesTheRest) {
    extra_env_ = {"ZEROFLOW_KEEP_RUNS=2"};
    const auto file =
        write_dataflow("short", {NodeSpec{"source", "source", {"--count", "3"}, {}, {"out"}},
                                 NodeSpec{"sink", "sink", {}, {{"in", "source/out"}}, {}}});
    std::vector<std::string> uuids;
    for (int i = 0; i < 4; ++i) {
        const auto run = zeroflow({"run", "--quiet", file.string()});
        ASSERT_EQ(run.status, 0) << run.err;
        uuids.push_back(run_uuid(run.out));
    }
    EXPECT_EQ(run_folders(flows_ / "out"), 2u);
    EXPECT_TRUE(fs::exists(flows_ / "out" / uuids[3]));
    EXPECT_TRUE(fs::exists(flows_ / "out" / uuids[2]));
    const auto gone = zeroflow({"logs", uuids[0], "sink"});
    EXPECT_EQ(gone.status, 1);

    // A running dataflow's logs survive `clean`.
    ASSERT_GT(up(runtime_dir()), 0);
    const auto live = write_dataflow("live", streaming());
    const auto started = zeroflow({"start", live.string()});
    ASSERT_EQ(started.status, 0) << started.err;
    const auto uuid = first_line(started.out);
    // Two runs' logs, the running one's included.
    EXPECT_EQ(run_folders(flows_ / "out"), 2u);
    EXPECT_FALSE(fs::exists(flows_ / "out" / uuids[2]));
    const auto sut = zeroflow({"clean"});
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_NE(sut.out.find("deleted the logs of 1 run ("), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("; kept those of 1 running dataflow\n"), std::string::npos) << sut.out;
    EXPECT_FALSE(fs::exists(flows_ / "out" / uuids[3]));
    EXPECT_TRUE(fs::exists(flows_ / "out" / uuid));
    const auto logs = zeroflow({"logs", uuids[3], "sink"});
    EXPECT_EQ(logs.status, 1);
    ASSERT_EQ(zeroflow({"stop", uuid}).status, 0);
    EXPECT_NE(zeroflow({"clean", file.string()}).out.find("deleted the logs of 1 run"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(flows_ / "out"));
    EXPECT_EQ(zeroflow({"clean"}).out, "nothing to clean\n");
}

} // namespace
} // namespace zeroflow::daemon_test
