// Runs the built `zeroflow` binary on the dataflows in tests/cli/data and checks exit codes
// and output, as a user at a shell would see them.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;

const fs::path kBinary = ZEROFLOW_CLI_BINARY;
const fs::path kData = ZEROFLOW_CLI_DATA_DIR;
const fs::path kSource = ZEROFLOW_SOURCE_DIR;

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct RunResult {
    int status = -1;
    std::string out;
    std::string err;
};

class CliTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "zeroflow-cli-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Runs `zeroflow ARGS` through the shell; `env` is prepended (e.g. "PATH=/x").
    RunResult zeroflow(const std::string& args, const std::string& env = "") const {
        const fs::path out = dir_ / "stdout";
        const fs::path err = dir_ / "stderr";
        const std::string command = env + " " + quoted(kBinary.string()) + " " + args + " >" +
                                    quoted(out.string()) + " 2>" + quoted(err.string());
        const int raw = std::system(command.c_str());
        RunResult run;
        run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        run.out = read(out);
        run.err = read(err);
        return run;
    }

    static std::string data(const std::string& name) { return quoted((kData / name).string()); }

    fs::path dir_;
};

TEST_F(CliTest, VersionPrintsTheProjectVersion) {
    const auto sut = zeroflow("--version");
    EXPECT_EQ(sut.status, 0);
    EXPECT_EQ(sut.out, "zeroflow 0.1.0\n");
}

TEST_F(CliTest, HelpExitsZeroOnEveryCommand) {
    for (const std::string args : {"--help", "check --help", "graph --help", "graph -h"}) {
        const auto sut = zeroflow(args);
        EXPECT_EQ(sut.status, 0) << args;
        EXPECT_NE(sut.out.find("Usage:"), std::string::npos) << args << "\n" << sut.out;
    }
    EXPECT_NE(zeroflow("graph --help").out.find("--format"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
    for (const std::string& args :
         std::vector<std::string>{"check", "check a.yml b.yml", "check --bogus " + data("ok.yml"),
                                  "nonsense", "graph " + data("ok.yml") + " --format svg"}) {
        const auto sut = zeroflow(args);
        EXPECT_EQ(sut.status, 2) << args << "\n" << sut.err;
        EXPECT_FALSE(sut.err.empty()) << args;
    }
}

TEST_F(CliTest, BareZeroflowPrintsTheHelp) {
    const auto sut = zeroflow("");
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_NE(sut.out.find("Usage: zeroflow"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("run"), std::string::npos) << sut.out;
    EXPECT_EQ(sut.err, "");
}

TEST_F(CliTest, AnUnknownCommandIsNamedWithTheNearestOne) {
    const auto typo = zeroflow("lsit");
    EXPECT_EQ(typo.status, 2);
    EXPECT_NE(typo.err.find("unknown command 'lsit' (did you mean 'list'?)"), std::string::npos)
        << typo.err;

    const auto far = zeroflow("bag play camera.bag"); // `topic` is a command since issue 13
    EXPECT_EQ(far.status, 2);
    EXPECT_NE(far.err.find("unknown command 'bag'; the commands are: "), std::string::npos)
        << far.err;
    EXPECT_NE(far.err.find(" logs "), std::string::npos) << far.err;
    EXPECT_EQ(far.err.find("subcommand is required"), std::string::npos) << far.err;
}

TEST_F(CliTest, DurationsTakeUnitsAndBadOnesSayWhy) {
    // No daemon in this runtime directory: a parsed command line gets as far as saying so.
    const std::string env = "ZEROFLOW_RUNTIME_DIR=" + quoted((dir_ / "rt").string());
    for (const std::string args : {"stop --grace 500ms", "stop --grace 2m", "stop --grace 5",
                                   "stop --grace 1.5s", "stop --grace '3 s'"}) {
        const auto sut = zeroflow(args, env);
        EXPECT_EQ(sut.status, 1) << args << "\n" << sut.err;
        EXPECT_NE(sut.err.find("no zeroflow daemon is running"), std::string::npos) << args << "\n"
                                                                                    << sut.err;
    }
    const auto unit = zeroflow("run " + data("ok.yml") + " --stop-after 5x", env);
    EXPECT_EQ(unit.status, 2);
    EXPECT_NE(unit.err.find("--stop-after: '5x' has an unknown unit 'x': write a number and a "
                            "unit, e.g. 500ms, 5s"),
              std::string::npos)
        << unit.err;
    const auto range = zeroflow("stop --grace 2h", env);
    EXPECT_EQ(range.status, 2);
    EXPECT_NE(range.err.find("--grace: '2h' is too long: at most 1h"), std::string::npos)
        << range.err;
    const auto word = zeroflow("start " + data("ok.yml") + " --start-timeout soon", env);
    EXPECT_EQ(word.status, 2);
    EXPECT_NE(word.err.find("'soon' is not a duration"), std::string::npos) << word.err;
}

TEST_F(CliTest, StartReportsAnInvalidDataflowExactlyAsCheckDoes) {
    const std::string env = "ZEROFLOW_RUNTIME_DIR=" + quoted((dir_ / "rt").string());
    const auto check = zeroflow("check " + data("errors.yml"));
    for (const std::string command : {"start", "run"}) {
        const auto sut = zeroflow(command + " " + data("errors.yml"), env);
        EXPECT_EQ(sut.status, 1) << command;
        EXPECT_EQ(sut.err, check.err) << command;
        EXPECT_EQ(sut.err.find("zeroflow: error:"), std::string::npos) << sut.err;
        EXPECT_EQ(sut.err.find("[bad_dataflow]"), std::string::npos) << sut.err;
    }
}

TEST_F(CliTest, StartOfAnUnbuiltNodeSuggestsZeroflowBuild) {
    const std::string env = "ZEROFLOW_RUNTIME_DIR=" + quoted((dir_ / "rt").string());
    for (const std::string command : {"start", "run"}) {
        const auto sut = zeroflow(command + " " + data("unbuilt.yml"), env);
        EXPECT_EQ(sut.status, 1) << command;
        EXPECT_NE(sut.err.find("node 'camera' is not built yet; build it with `zeroflow build " +
                               (kData / "unbuilt.yml").string() + "`"),
                  std::string::npos)
            << sut.err;
        EXPECT_FALSE(fs::exists(kData / "out")) << "nothing was started";
    }
}

TEST_F(CliTest, BuildRunsInTheNodesWorkingDir) {
    // deploy: {working_dir: ws}: the node's build runs in ws, and its path resolves there.
    fs::create_directories(dir_ / "ws");
    std::ofstream(dir_ / "flow.yml") << "nodes:\n"
                                        "  - id: made\n"
                                        "    path: ./made\n"
                                        "    build: printf '#!/bin/sh\\n' > made && chmod +x made\n"
                                        "    outputs: [out]\n"
                                        "    deploy: {working_dir: ws}\n";
    const auto file = quoted((dir_ / "flow.yml").string());
    const auto before = zeroflow("check " + file); // not built: a warning, naming ws/made
    EXPECT_NE(before.err.find("not found (" + (dir_ / "ws" / "made").string() + ")"),
              std::string::npos)
        << before.err;
    const auto built = zeroflow("build " + file);
    EXPECT_EQ(built.status, 0) << built.err;
    EXPECT_TRUE(fs::exists(dir_ / "ws" / "made"));
    EXPECT_FALSE(fs::exists(dir_ / "made")) << "the build ran in the file's folder";
    // A node whose folder is on its machine only is built there, not here.
    std::ofstream(dir_ / "far.yml") << "nodes:\n"
                                       "  - id: far\n"
                                       "    path: ./far\n"
                                       "    build: touch built-here\n"
                                       "    deploy: {machine: robot, working_dir: /robot/ws}\n";
    const auto far = zeroflow("build " + quoted((dir_ / "far.yml").string()));
    EXPECT_EQ(far.status, 0) << far.err;
    EXPECT_NE(far.out.find("not building far: its working_dir /robot/ws is not on this "
                           "machine (it runs on robot)"),
              std::string::npos)
        << far.out;
    EXPECT_FALSE(fs::exists(dir_ / "built-here"));
    const auto after = zeroflow("check " + file);
    EXPECT_EQ(after.status, 0) << after.err;
    EXPECT_EQ(after.err.find("warning"), std::string::npos) << after.err;
}

TEST_F(CliTest, NewWritesACppProjectAndSaysHowToBuildAndRunIt) {
    const fs::path project = dir_ / "robot";
    const auto sut = zeroflow("new " + quoted(project.string()));
    EXPECT_EQ(sut.status, 0) << sut.err;
    for (const std::string file :
         {"dataflow.yml", "talker.cpp", "listener.cpp", "CMakeLists.txt"}) {
        EXPECT_TRUE(fs::exists(project / file)) << file;
    }
    EXPECT_NE(read(project / "CMakeLists.txt").find("find_package(zeroflow CONFIG REQUIRED)"),
              std::string::npos);
    EXPECT_NE(sut.out.find("zeroflow build dataflow.yml"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("zeroflow run dataflow.yml"), std::string::npos) << sut.out;
    // Its dataflow is valid (the nodes are not built yet: warnings only).
    const auto check = zeroflow("check " + quoted((project / "dataflow.yml").string()));
    EXPECT_EQ(check.status, 0) << check.err;
    EXPECT_NE(check.out.find(": ok — 2 nodes, 1 connection, 1 timer"), std::string::npos)
        << check.out;

    const auto again = zeroflow("new " + quoted(project.string()));
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

    const auto node = zeroflow("new " + quoted((dir_ / "lidar").string()) + " --kind node");
    EXPECT_EQ(node.status, 0) << node.err;
    EXPECT_TRUE(fs::exists(dir_ / "lidar" / "lidar.cpp"));
    EXPECT_NE(read(dir_ / "lidar" / "CMakeLists.txt").find("add_executable(lidar lidar.cpp)"),
              std::string::npos);
}

TEST_F(CliTest, NewWritesCAndPythonProjects) {
    const fs::path c = dir_ / "robot-c";
    const auto made_c = zeroflow("new " + quoted(c.string()) + " --lang c");
    EXPECT_EQ(made_c.status, 0) << made_c.err;
    for (const std::string file : {"dataflow.yml", "talker.c", "listener.c", "CMakeLists.txt"}) {
        EXPECT_TRUE(fs::exists(c / file)) << file;
    }
    EXPECT_NE(read(c / "talker.c").find("#include <zeroflow/node.h>"), std::string::npos);
    EXPECT_NE(read(c / "CMakeLists.txt").find("add_executable(talker talker.c)"),
              std::string::npos);
    EXPECT_NE(made_c.out.find("zeroflow build dataflow.yml"), std::string::npos) << made_c.out;
    const auto check_c = zeroflow("check " + quoted((c / "dataflow.yml").string()));
    EXPECT_NE(check_c.out.find(": ok — 2 nodes, 1 connection, 1 timer"), std::string::npos)
        << check_c.out << check_c.err;

    const fs::path py = dir_ / "robot-py";
    const auto made_py = zeroflow("new " + quoted(py.string()) + " --lang python");
    EXPECT_EQ(made_py.status, 0) << made_py.err;
    for (const std::string file : {"dataflow.yml", "talker.py", "listener.py"}) {
        EXPECT_TRUE(fs::exists(py / file)) << file;
    }
    EXPECT_FALSE(fs::exists(py / "CMakeLists.txt")) << "nothing to build for Python";
    EXPECT_NE(made_py.out.find("zeroflow run dataflow.yml"), std::string::npos) << made_py.out;
    EXPECT_EQ(made_py.out.find("cmake --install"), std::string::npos) << made_py.out;
    // .py nodes need no executable bit and no build: `check` says nothing wrong about them.
    const auto check_py = zeroflow("check " + quoted((py / "dataflow.yml").string()));
    EXPECT_EQ(check_py.status, 0) << check_py.err;
    EXPECT_NE(check_py.out.find(": ok — 2 nodes, 1 connection, 1 timer"), std::string::npos)
        << check_py.out;
    EXPECT_EQ(check_py.out.find("warning"), std::string::npos) << check_py.out;

    const auto node =
        zeroflow("new " + quoted((dir_ / "lidar").string()) + " --kind node --lang c");
    EXPECT_EQ(node.status, 0) << node.err;
    EXPECT_TRUE(fs::exists(dir_ / "lidar" / "lidar.c"));
    const auto pynode =
        zeroflow("new " + quoted((dir_ / "seg").string()) + " --kind node --lang py");
    EXPECT_EQ(pynode.status, 0) << pynode.err;
    EXPECT_TRUE(fs::exists(dir_ / "seg" / "seg.py"));
}

TEST_F(CliTest, NewSaysWhichLanguagesExist) {
    const auto sut = zeroflow("new " + quoted((dir_ / "p").string()) + " --lang rust");
    EXPECT_EQ(sut.status, 2);
    EXPECT_NE(sut.err.find("unknown language 'rust'; the languages that exist: cpp, c, python"),
              std::string::npos)
        << sut.err;
    EXPECT_FALSE(fs::exists(dir_ / "p"));
}

TEST_F(CliTest, BashCompletesCommandsOptionsValuesAndDataflowFiles) {
    fs::create_directory(dir_ / "flows");
    std::ofstream(dir_ / "flows" / "pipeline.yml") << "nodes: []\n";
    std::ofstream(dir_ / "flows" / "notes.txt") << "x\n";
    // Completes `words...` (the last one is being typed) as bash would, in dir_/flows.
    auto complete = [&](const std::string& words) {
        const fs::path script = dir_ / "complete.sh";
        std::ofstream(script) << "cd " << quoted((dir_ / "flows").string()) << "\n"
                              << "source "
                              << quoted((kSource / "tools/completion/zeroflow.bash").string())
                              << "\nCOMP_WORDS=(" << words << ")\n"
                              << "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                              << "_zeroflow\necho \"${COMPREPLY[*]}\"\n";
        const fs::path out = dir_ / "completion";
        const std::string command =
            "PATH=" + quoted(kBinary.parent_path().string()) +
            ":$PATH ZEROFLOW_RUNTIME_DIR=" + quoted((dir_ / "rt").string()) + " bash " +
            quoted(script.string()) + " >" + quoted(out.string());
        EXPECT_EQ(std::system(command.c_str()), 0) << words;
        return read(out);
    };
    EXPECT_EQ(complete("zeroflow l"), "list logs\n");
    EXPECT_EQ(complete("zeroflow ne"), "new\n");
    EXPECT_EQ(complete("zeroflow run --q"), "--quiet\n");
    EXPECT_EQ(complete("zeroflow graph x.yml --format ''"), "mermaid dot\n");
    EXPECT_EQ(complete("zeroflow new robot --lang ''"), "cpp c python\n");
    EXPECT_EQ(complete("zeroflow run p"), "pipeline.yml\n");
    EXPECT_EQ(complete("zeroflow check ''"), "pipeline.yml\n") << "no .txt files";
    EXPECT_EQ(complete("zeroflow stop ''"), "\n") << "no daemon: no dataflows to offer";
}

TEST_F(CliTest, CheckAcceptsAValidDataflow) {
    const auto sut = zeroflow("check " + data("ok.yml"));
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_EQ(sut.out,
              (kData / "ok.yml").string() + ": ok — 3 nodes (1 dynamic), 3 connections, 1 timer\n");
    EXPECT_EQ(sut.err, "");
}

// `deploy:` places nodes on machines: `check` says which node runs where.
TEST_F(CliTest, CheckListsTheMachinesOfADataflow) {
    const auto file = dir_ / "machines.yml";
    std::ofstream(file) << "nodes:\n"
                           "  - {id: source, path: /bin/true, outputs: [out], deploy: {machine: "
                           "robot}}\n"
                           "  - {id: sink, path: /bin/true, inputs: {in: source/out},\n"
                           "     _unstable_deploy: {machine: base, working_dir: /base/ws}}\n"
                           "  - {id: other, path: /bin/true}\n";
    const auto sut = zeroflow("check " + quoted(file.string()));
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_EQ(sut.out, file.string() +
                           ": ok — 3 nodes, 1 connection, 0 timers\n"
                           "  machine base: sink (in /base/ws)\n  machine robot: source\n  where "
                           "started: other\n");
}

// A FIFO would block a reader forever and /dev/zero never ends: `check` refuses both at once.
TEST_F(CliTest, CheckRefusesAFifoAndDevZeroAtOnce) {
    const auto fifo = dir_ / "dataflow.yml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const auto& path : {fifo.string(), std::string("/dev/zero")}) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto sut = zeroflow("check " + quoted(path));
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        EXPECT_NE(sut.status, 0) << path;
        EXPECT_NE(sut.err.find("not a regular file"), std::string::npos) << path << ": " << sut.err;
        EXPECT_LT(ms, 5000) << path;
    }
}

TEST_F(CliTest, CheckPrintsWarningsButSucceeds) {
    const auto sut = zeroflow("check " + data("warnings.yml"));
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_NE(sut.out.find(": ok — 1 node, 0 connections, 0 timers, 2 warnings"), std::string::npos)
        << sut.out;
    const std::string file = (kData / "warnings.yml").string();
    EXPECT_NE(sut.err.find(file + ":2:1: warning: 'communication'"), std::string::npos) << sut.err;
    EXPECT_NE(sut.err.find(file + ":7:23: warning: CPU index 100000"), std::string::npos)
        << sut.err;
}

TEST_F(CliTest, CheckReportsEveryErrorWithItsPosition) {
    const auto sut = zeroflow("check " + data("errors.yml"));
    EXPECT_EQ(sut.status, 1);
    EXPECT_EQ(sut.out, "");
    const std::string file = (kData / "errors.yml").string();
    for (const std::string line : {
             ":6:5: error: unknown key 'inptus' in node 'camera' (did you mean 'inputs'?)\n",
             ":10:14: error: input 'image' of node 'filter' refers to unknown output "
             "'camera/img' (did you mean 'camera/image'?)\n",
             ":11:13: error: invalid timer 'zeroflow/timer/millis/0': the period must be greater "
             "than zero",
             ":12:9: error: duplicate node id 'camera' (first defined at line 3)\n",
             ":13:11: error: executable 'does/not/exist' of node 'camera' not found",
         }) {
        EXPECT_NE(sut.err.find(file + line), std::string::npos) << line << "\n" << sut.err;
    }
    EXPECT_NE(sut.err.find(file + ": 5 errors, not a valid dataflow"), std::string::npos)
        << sut.err;
}

TEST_F(CliTest, CheckReportsSyntaxErrorsAndMissingFiles) {
    const auto syntax = zeroflow("check " + data("syntax.yml"));
    EXPECT_EQ(syntax.status, 1);
    EXPECT_NE(syntax.err.find((kData / "syntax.yml").string() + ":"), std::string::npos);
    EXPECT_NE(syntax.err.find(": error: YAML syntax error"), std::string::npos) << syntax.err;

    const auto missing = zeroflow("check " + data("not-there.yml"));
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("not-there.yml: error: no such dataflow file"), std::string::npos)
        << missing.err;
}

TEST_F(CliTest, CheckAcceptsTheExamples) {
    for (const std::string example :
         {"examples/sensor-pipeline/dataflow.yml", "examples/hello/dataflow.yml"}) {
        const auto sut = zeroflow("check " + quoted((kSource / example).string()));
        EXPECT_EQ(sut.status, 0) << example << "\n" << sut.err;
        EXPECT_NE(sut.out.find(": ok — "), std::string::npos) << sut.out;
        EXPECT_EQ(sut.err.find("error"), std::string::npos) << sut.err;
    }
}

TEST_F(CliTest, GraphPrintsMermaidByDefault) {
    const auto sut = zeroflow("graph " + data("ok.yml"));
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_TRUE(sut.out.starts_with("flowchart TB\n")) << sut.out;
    for (const std::string line :
         {"    n0[\"camera\"]\n", "    n2([\"viewer (dynamic)\"])\n",
          "    t0((\"zeroflow/timer/hz/30\"))\n", "    t0 -- \"tick\" --> n0\n",
          "    n0 -- \"image → image\" --> n1\n", "    n1 -- \"summary → summary\" --> n2\n"}) {
        EXPECT_NE(sut.out.find(line), std::string::npos) << line << "\n" << sut.out;
    }
}

TEST_F(CliTest, DoraSpellingsOfCheckAndGraph) {
    const auto checked = zeroflow("check --dataflow " + data("ok.yml"));
    EXPECT_EQ(checked.status, 0) << checked.err;
    EXPECT_EQ(checked.out, zeroflow("check " + data("ok.yml")).out);
    const auto bad = zeroflow("check --dataflow " + data("errors.yml"));
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err, zeroflow("check " + data("errors.yml")).err);
    const auto none = zeroflow("check");
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.err.find("give the dataflow file"), std::string::npos) << none.err;
    EXPECT_EQ(zeroflow("check " + data("ok.yml") + " --dataflow " + data("ok.yml")).status, 2);

    const auto mermaid = zeroflow("graph " + data("ok.yml") + " --mermaid");
    EXPECT_EQ(mermaid.status, 0) << mermaid.err;
    EXPECT_EQ(mermaid.out, zeroflow("graph --format mermaid " + data("ok.yml")).out);
    EXPECT_NE(mermaid.out.find("flowchart"), std::string::npos) << mermaid.out;
    EXPECT_EQ(zeroflow("graph --mermaid --format dot " + data("ok.yml")).status, 2);
    // --mermaid is a format: it contradicts a .dot output file as --format mermaid does.
    EXPECT_EQ(
        zeroflow("graph --mermaid -o " + quoted((dir_ / "g.dot").string()) + " " + data("ok.yml"))
            .status,
        2);
}

TEST_F(CliTest, GraphPrintsDot) {
    const auto sut = zeroflow("graph --format dot " + data("ok.yml"));
    EXPECT_EQ(sut.status, 0) << sut.err;
    EXPECT_TRUE(sut.out.starts_with("digraph dataflow {\n")) << sut.out;
    EXPECT_NE(sut.out.find("n0 -> n1 [label=\"image -> image\"];"), std::string::npos) << sut.out;
    EXPECT_NE(sut.out.find("(dynamic)"), std::string::npos);
}

TEST_F(CliTest, GraphWritesTextFiles) {
    const auto dot =
        zeroflow("graph " + data("ok.yml") + " --output " + quoted((dir_ / "graph.dot").string()));
    EXPECT_EQ(dot.status, 0) << dot.err;
    EXPECT_EQ(dot.out, "");
    EXPECT_EQ(read(dir_ / "graph.dot"), zeroflow("graph -f dot " + data("ok.yml")).out);

    const auto mmd =
        zeroflow("graph " + data("ok.yml") + " -o " + quoted((dir_ / "graph.mmd").string()));
    EXPECT_EQ(mmd.status, 0) << mmd.err;
    EXPECT_TRUE(read(dir_ / "graph.mmd").starts_with("flowchart TB\n"));

    const auto conflict = zeroflow("graph " + data("ok.yml") + " --format mermaid -o " +
                                   quoted((dir_ / "x.dot").string()));
    EXPECT_EQ(conflict.status, 2);
    EXPECT_NE(conflict.err.find("does not match"), std::string::npos) << conflict.err;

    const auto unwritable = zeroflow("graph " + data("ok.yml") + " -o " +
                                     quoted((dir_ / "no/such/dir/x.dot").string()));
    EXPECT_EQ(unwritable.status, 1);
    EXPECT_NE(unwritable.err.find("cannot write"), std::string::npos) << unwritable.err;
}

TEST_F(CliTest, GraphRendersSvgWithGraphviz) {
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "Graphviz 'dot' is not installed";
    }
    const fs::path svg = dir_ / "graph.svg";
    const auto sut = zeroflow("graph " + data("ok.yml") + " --output " + quoted(svg.string()));
    EXPECT_EQ(sut.status, 0) << sut.err;
    const std::string text = read(svg);
    EXPECT_TRUE(text.starts_with("<?xml") || text.find("<svg") != std::string::npos) << text;
    EXPECT_NE(text.find("camera"), std::string::npos);
}

TEST_F(CliTest, GraphRendersJpgAndRefusesUnknownExtensions) {
    for (const std::string name : {"graph.gif", "graph", "graph.txt"}) {
        const auto sut =
            zeroflow("graph " + data("ok.yml") + " --output " + quoted((dir_ / name).string()));
        EXPECT_EQ(sut.status, 2) << name;
        EXPECT_NE(sut.err.find("cannot tell the format of"), std::string::npos) << sut.err;
        EXPECT_NE(sut.err.find(".svg, .png, .pdf or .jpg"), std::string::npos) << sut.err;
        EXPECT_FALSE(fs::exists(dir_ / name)) << name;
    }
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "Graphviz 'dot' is not installed";
    }
    const auto jpg =
        zeroflow("graph " + data("ok.yml") + " -o " + quoted((dir_ / "g.jpg").string()));
    EXPECT_EQ(jpg.status, 0) << jpg.err;
    EXPECT_TRUE(read(dir_ / "g.jpg").starts_with("\xff\xd8\xff")) << "a JPEG file";
}

TEST_F(CliTest, GraphSaysHowToInstallGraphvizWhenItIsMissing) {
    // A PATH with `sh` (the dataflow needs it) but no `dot`.
    fs::create_directory(dir_ / "bin");
    fs::create_symlink("/bin/sh", dir_ / "bin" / "sh");
    const auto sut =
        zeroflow("graph " + data("ok.yml") + " -o " + quoted((dir_ / "graph.png").string()),
                 "PATH=" + quoted((dir_ / "bin").string()));
    EXPECT_EQ(sut.status, 1);
    EXPECT_NE(sut.err.find("apt-get install graphviz"), std::string::npos) << sut.err;
    EXPECT_FALSE(fs::exists(dir_ / "graph.png"));
}

TEST_F(CliTest, GraphOfAnInvalidDataflowFails) {
    const auto sut = zeroflow("graph " + data("errors.yml"));
    EXPECT_EQ(sut.status, 1);
    EXPECT_EQ(sut.out, "");
    EXPECT_NE(sut.err.find(": error: "), std::string::npos);
}

} // namespace
