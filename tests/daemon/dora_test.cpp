// dora's descriptor keys that change what runs, with the real daemon and real nodes:
// `send_stdout_as` (each output line of a node becomes a message downstream), `path: shell`
// and `$VAR` expansion in path, args and env.
#include <fstream>

#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

using DoraKeys = DaemonTest;

const std::string kNodeBinary = ZEROFLOW_TEST_NODE;

TEST_F(DoraKeys, SendStdoutAsDeliversEachOutputLineAsAUtf8Message) {
    const auto file = flows_ / "stdout.yml";
    std::ofstream(file) << "nodes:\n"
                        << "  - id: printer\n"
                        << "    path: " << kNodeBinary << "\n"
                        << "    args: printer --lines 3 --try-output lines --report "
                        << report("printer").string() << "\n"
                        << "    env: {ZF_TEST_PID_DIR: " << (root_ / "pids").string() << "}\n"
                        << "    send_stdout_as: lines\n"
                        << "    outputs: [lines]\n"
                        << "  - id: sink\n"
                        << "    path: " << kNodeBinary << "\n"
                        << "    args: line_sink --report " << report("sink").string() << "\n"
                        << "    env: {ZF_TEST_PID_DIR: " << (root_ / "pids").string() << "}\n"
                        << "    inputs:\n"
                        << "      in: {source: printer/lines, queue_size: 100}\n";
    const auto sut = zeroflow({"run", file.string()}, runtime_dir(), 30s);
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    EXPECT_EQ(read_report(report("printer"))["tried_output"], "refused")
        << "the output is the daemon's: the node cannot send on it";
    auto got = read_report(report("sink"));
    const std::vector<std::string> expected = {
        "line 1", "line 2", "line 3", "to stderr", "bad \xEF\xBF\xBD byte", "crlf", "no newline"};
    ASSERT_EQ(report_number(got, "count"), expected.size()) << sut.out;
    for (std::size_t k = 0; k < expected.size(); ++k) {
        const auto n = std::to_string(k + 1);
        EXPECT_EQ(got["text" + n], expected[k]) << "message " << n;
        EXPECT_EQ(got["encoding" + n], "utf-8") << "message " << n;
    }
    EXPECT_EQ(got["closed"], "1") << "InputClosed after the last line";
    // The lines are still in the node's log, as written.
    const auto log = flows_ / "out" / run_uuid(sut.out) / "log_printer.txt";
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("line 3\nto stderr\nbad \xff byte\ncrlf\r\nno newline"), std::string::npos)
        << text;
}

TEST_F(DoraKeys, ShellNodesAndExpandedVariablesRunAsDorasDo) {
    // The daemon (embedded by `run`) expands $ZF_TEST_BIN_DIR in the sink's path and
    // ${ZF_TEST_BIN} in the shell node's env; the shell expands $PRINTER and $REPORT itself.
    extra_env_.push_back("ZF_TEST_BIN_DIR=" + fs::path(kNodeBinary).parent_path().string());
    extra_env_.push_back("ZF_TEST_BIN=" + kNodeBinary);
    const auto file = flows_ / "shell.yml";
    std::ofstream(file) << "nodes:\n"
                        << "  - id: printer\n"
                        << "    path: shell\n"
                        << "    args: test -n \"$PRINTER\" && exec \"$PRINTER\" printer --lines 2 "
                           "--report \"$REPORT\"\n"
                        << "    env:\n"
                        << "      PRINTER: ${ZF_TEST_BIN}\n"
                        << "      REPORT: " << report("printer").string() << "\n"
                        << "      ZF_TEST_PID_DIR: " << (root_ / "pids").string() << "\n"
                        << "    send_stdout_as: lines\n"
                        << "  - id: sink\n"
                        << "    path: $ZF_TEST_BIN_DIR/"
                        << fs::path(kNodeBinary).filename().string() << "\n"
                        << "    args: line_sink --report " << report("sink").string()
                        << " --unused $ZF_TEST_NOT_SET # a comment\n"
                        << "    env: {ZF_TEST_PID_DIR: " << (root_ / "pids").string() << "}\n"
                        << "    inputs:\n"
                        << "      in: {source: printer/lines, queue_size: 100}\n";
    const auto sut = zeroflow({"run", file.string()}, runtime_dir(), 30s);
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    auto got = read_report(report("sink"));
    EXPECT_EQ(report_number(got, "count"), 6u) << sut.out;
    EXPECT_EQ(got["text1"], "line 1");
    EXPECT_EQ(got["text2"], "line 2");
    EXPECT_EQ(got["text6"], "no newline");

    // `check` expands in its own environment: without the variable, the path is an error.
    extra_env_.clear();
    const auto check = zeroflow({"check", file.string()});
    EXPECT_EQ(check.status, 1);
    EXPECT_NE((check.out + check.err).find("environment variable 'ZF_TEST_BIN' is not set"),
              std::string::npos)
        << check.out << check.err;
}

TEST_F(DoraKeys, DoraSpelledCliFlagsStartStopAndReadLogs) {
    ASSERT_GT(up(runtime_dir()), 0);
    const auto streaming = [&](const std::string& name) {
        return write_dataflow(
            name,
            {NodeSpec{
                 "source", "source", {"--count", "100000", "--period-us", "2000"}, {}, {"out"}},
             NodeSpec{
                 "sink", "sink", {"--report", report(name).string()}, {{"in", "source/out"}}, {}}});
    };
    const auto first =
        zeroflow({"start", streaming("first").string(), "--name", "first", "--detach"});
    ASSERT_EQ(first.status, 0) << first.err;
    const auto uuid = first_line(first.out);
    ASSERT_EQ(uuid.size(), 36u) << first.out;
    const auto both = zeroflow({"start", streaming("x").string(), "--attach", "--detach"});
    EXPECT_EQ(both.status, 2) << both.err;

    // `logs NODE`: the only running dataflow's node.
    const auto logs = zeroflow({"logs", "source"});
    EXPECT_EQ(logs.status, 0) << logs.err;
    EXPECT_NE(logs.out.find("source: sending on out"), std::string::npos) << logs.out;

    const auto second = zeroflow({"start", streaming("second").string(), "--name", "second"});
    ASSERT_EQ(second.status, 0) << second.err;
    const auto ambiguous = zeroflow({"logs", "source"});
    EXPECT_EQ(ambiguous.status, 1);
    EXPECT_NE(ambiguous.err.find("name the dataflow: zeroflow logs DATAFLOW NODE"),
              std::string::npos)
        << ambiguous.err;
    EXPECT_NE(ambiguous.err.find(uuid), std::string::npos) << ambiguous.err;

    const auto conflicting = zeroflow({"stop", "first", "--name", "second"});
    EXPECT_EQ(conflicting.status, 2) << conflicting.err;
    const auto stopped = zeroflow({"stop", "--name", "first", "--grace-duration", "5s"});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
    EXPECT_EQ(stopped.out, "dataflow " + uuid + " stopped\n");
    EXPECT_EQ(find(list(), uuid)["status"], "finished");
    const auto bad_grace = zeroflow({"stop", "--name", "second", "--grace-duration", "5 parsecs"});
    EXPECT_EQ(bad_grace.status, 2) << bad_grace.err;
    const auto last = zeroflow({"stop", "--name", "second", "--grace-duration", "2s"});
    EXPECT_EQ(last.status, 0) << last.err;
    EXPECT_EQ(zeroflow({"destroy"}).status, 0);
}

} // namespace
} // namespace zeroflow::daemon_test
