// Unit tests of the descriptor parser: every validation rule, accepted and rejected, with the
// message and its 1-based position.
#include <algorithm>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <zeroflow/dataflow/descriptor.hpp>

#include "test_support.hpp"

namespace zeroflow::dataflow {
namespace {

using namespace std::chrono_literals;
using testing::has_diagnostic;
using testing::TempDir;

class DescriptorTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.executable("sender");
        dir_.executable("receiver");
    }

    ParseResult parse(const std::string& yaml) const {
        return parse_string(yaml, dir_.path() / "dataflow.yml");
    }

    TempDir dir_;
};

constexpr const char* kPair = R"(nodes:
  - id: sender
    path: sender
    inputs:
      tick: zeroflow/timer/millis/100
    outputs:
      - message
  - id: receiver
    path: ./receiver
    inputs:
      message: sender/message
)";

TEST_F(DescriptorTest, AcceptsAValidDataflowAndFillsTheModel) {
    const auto sut = parse(kPair);

    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_TRUE(sut.diagnostics.empty()) << sut.format();
    const Descriptor& d = *sut.descriptor;
    EXPECT_EQ(d.file, dir_.path() / "dataflow.yml");
    EXPECT_EQ(d.working_dir, dir_.path());
    ASSERT_EQ(d.nodes.size(), 2u);
    EXPECT_EQ(d.nodes[0].id, "sender");
    EXPECT_EQ(d.nodes[0].executable, dir_.path() / "sender");
    EXPECT_EQ(d.nodes[1].executable, dir_.path() / "receiver");
    EXPECT_FALSE(d.nodes[0].dynamic);
    EXPECT_EQ(d.nodes[0].where.line, 2);
    EXPECT_EQ(d.nodes[0].where.column, 5);
    ASSERT_EQ(d.nodes[0].inputs.size(), 1u);
    const Input& tick = d.nodes[0].inputs[0];
    EXPECT_EQ(tick.id, "tick");
    ASSERT_TRUE(tick.is_timer());
    EXPECT_EQ(std::get<Timer>(tick.source).period, 100ms);
    EXPECT_EQ(std::get<Timer>(tick.source).spec, "zeroflow/timer/millis/100");
    EXPECT_EQ(tick.queue_size, 10u);
    EXPECT_EQ(tick.where.line, 5);
    EXPECT_EQ(tick.where.column, 13);
    EXPECT_EQ(d.nodes[0].outputs, std::vector<std::string>{"message"});
    const Input& message = d.nodes[1].inputs[0];
    EXPECT_EQ(std::get<OutputRef>(message.source), (OutputRef{"sender", "message"}));
    EXPECT_EQ(d.timer_count(), 1u);
    EXPECT_EQ(d.connection_count(), 1u);
    ASSERT_NE(d.find_node("receiver"), nullptr);
    EXPECT_EQ(d.find_node("receiver")->id, "receiver");
    EXPECT_EQ(d.find_node("nobody"), nullptr);
    EXPECT_NE(d.nodes[1].find_input("message"), nullptr);
    EXPECT_TRUE(d.shm.empty());
    EXPECT_EQ(d.shm_for({"sender", "message"}).max_message_size, 8ull << 20);
}

TEST_F(DescriptorTest, AcceptsOptionalNodeKeys) {
    const auto sut = parse(R"(nodes:
  - id: sender
    name: The sender
    description: Sends things
    path: sender
    args: --rate 30 "two words" 'single quoted' back\ slash
    env:
      TEXT: hello
      NUMBER: 1.50
      FLAG: true
    build: make sender
    outputs: [message]
    cpu_affinity: [0]
    busy_poll_us: 1000000
  - id: receiver
    path: receiver
    args: ["--verbose", "a b"]
    busy_poll_us: 0
    inputs:
      message:
        source: sender/message
        queue_size: 1024
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    const Node& sender = sut.descriptor->nodes[0];
    EXPECT_EQ(sender.name, "The sender");
    EXPECT_EQ(sender.description, "Sends things");
    EXPECT_EQ(sender.args, (std::vector<std::string>{"--rate", "30", "two words", "single quoted",
                                                     "back slash"}));
    EXPECT_EQ(sender.env, (std::vector<std::pair<std::string, std::string>>{
                              {"TEXT", "hello"}, {"NUMBER", "1.50"}, {"FLAG", "true"}}));
    EXPECT_EQ(sender.build, "make sender");
    EXPECT_EQ(sender.cpu_affinity, std::vector<int>{0});
    EXPECT_EQ(sender.busy_poll_us, 1000000u);
    const Node& receiver = sut.descriptor->nodes[1];
    EXPECT_EQ(receiver.args, (std::vector<std::string>{"--verbose", "a b"}));
    EXPECT_EQ(receiver.busy_poll_us, 0u);
    EXPECT_EQ(receiver.inputs[0].queue_size, 1024u);
    EXPECT_EQ(receiver.inputs[0].where.line, 21);
    EXPECT_EQ(receiver.inputs[0].where.column, 17);
}

TEST_F(DescriptorTest, ReportsUnknownOutputWithSuggestionAndPosition) {
    const auto sut = parse(R"(nodes:
  - id: camera
    path: sender
    outputs:
      - image
  - id: filter
    path: receiver
    inputs:
      image: camera/img
)");
    EXPECT_FALSE(sut.ok());
    ASSERT_EQ(sut.diagnostics.size(), 1u) << sut.format();
    EXPECT_EQ(sut.diagnostics[0].to_string(),
              (dir_.path() / "dataflow.yml").string() +
                  ":9:14: error: input 'image' of node 'filter' refers to unknown output "
                  "'camera/img' (did you mean 'camera/image'?)");
}

TEST_F(DescriptorTest, ReportsUnknownSourceNodeWithSuggestion) {
    const auto sut = parse(R"(nodes:
  - id: camera
    path: sender
    outputs: [image]
  - id: filter
    path: receiver
    inputs:
      image: camra/image
      other: nobody/image
      third: camera/image
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 8, 14,
                               "input 'image' of node 'filter' refers to unknown node 'camra' "
                               "(did you mean 'camera'?)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 9, 14, "unknown node 'nobody'"));
    EXPECT_EQ(sut.error_count(), 2u) << sut.format();
}

TEST_F(DescriptorTest, SaysWhenTheSourceNodeHasNoOutputs) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
  - id: b
    path: receiver
    inputs: {x: a/out}
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 6, 17,
                               "refers to unknown output 'a/out' (node 'a' has no outputs)"));
}

TEST_F(DescriptorTest, ReportsEveryErrorAtOnceInFileOrder) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    inptus: {}
    outputs: [x, x]
  - id: a
    path: receiver
    inputs:
      t: zeroflow/timer/millis/0
      q: {source: a/x, queue_size: 0}
  - id: c
)");
    EXPECT_FALSE(sut.ok());
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 5,
                               "unknown key 'inptus' in node 'a' (did you mean 'inputs'?)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 5, 18, "duplicate output 'x' in node 'a'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 6, 9,
                               "duplicate node id 'a' (first defined at line 2)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 9, 10, "period must be greater than zero"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 10, 36,
                               "'queue_size' of input 'q' of node 'a' must be between 1 and 1024 "
                               "(got 0)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 11, 5, "node 'c' has no 'path'"));
    EXPECT_EQ(sut.error_count(), 6u) << sut.format();
    for (std::size_t i = 1; i < sut.diagnostics.size(); ++i) {
        EXPECT_LE(sut.diagnostics[i - 1].where.line, sut.diagnostics[i].where.line);
    }
    const std::string text = sut.format();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);
}

TEST_F(DescriptorTest, RejectsMalformedTopLevels) {
    EXPECT_TRUE(has_diagnostic(parse(""), Severity::error, 1, 1, "the dataflow file is empty"));
    EXPECT_TRUE(has_diagnostic(parse("- a\n- b\n"), Severity::error, 1, 1,
                               "expected a map with a 'nodes' list"));
    EXPECT_TRUE(has_diagnostic(parse("shm: {}\n"), Severity::error, 1, 1, "missing 'nodes'"));
    EXPECT_TRUE(has_diagnostic(parse("nodes: []\n"), Severity::error, 1, 8, "'nodes' is empty"));
    EXPECT_TRUE(has_diagnostic(parse("nodes:\n"), Severity::error, 1, 1, "'nodes' is empty"));
    EXPECT_TRUE(has_diagnostic(parse("nodes: hello\n"), Severity::error, 1, 8,
                               "'nodes' must be a list of nodes"));
    EXPECT_TRUE(has_diagnostic(parse("nodes:\n  - just-a-string\n"), Severity::error, 2, 5,
                               "expected a node"));
}

TEST_F(DescriptorTest, UnknownTopLevelKeyIsAnErrorWithSuggestion) {
    const auto sut = parse(std::string(kPair) + "nodez: []\n");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 12, 1,
                               "unknown key 'nodez' at the top level (did you mean 'nodes'?)"));
}

TEST_F(DescriptorTest, DoraOnlyTopLevelKeysWarnOrAreRejected) {
    const auto accepted =
        parse(std::string(kPair) + "communication:\n  zenoh: {}\n_unstable_debug:\n  x: 1\n");
    ASSERT_TRUE(accepted.ok()) << accepted.format();
    EXPECT_TRUE(has_diagnostic(accepted, Severity::warning, 12, 1,
                               "'communication' is accepted for dora compatibility but has no "
                               "effect"));
    EXPECT_TRUE(has_diagnostic(accepted, Severity::warning, 14, 1, "'_unstable_debug'"));
}

TEST_F(DescriptorTest, DeployPlacesNodesOnMachinesWithATopLevelDefault) {
    // dora 0.3's top-level default, dora 1.0's per-node key and dora 0.3's per-node key.
    const auto sut = parse(R"(nodes:
  - id: camera
    path: sender
    outputs: [image]
    deploy: {machine: robot}
  - id: filter
    path: sender
    inputs: {image: camera/image}
    _unstable_deploy:
      machine: base
  - id: sink
    path: ./receiver
    inputs: {image: camera/image}
_unstable_deploy: {machine: base}
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->find_node("camera")->machine, "robot");
    EXPECT_EQ(sut.descriptor->find_node("filter")->machine, "base");
    EXPECT_EQ(sut.descriptor->find_node("sink")->machine, "base"); // the default
    EXPECT_EQ(sut.descriptor->default_machine, "base");
    EXPECT_EQ(sut.descriptor->machines(), (std::vector<std::string>{"base", "robot"}));

    // Without any deploy key nothing names a machine.
    const auto plain = parse(kPair);
    ASSERT_TRUE(plain.ok());
    EXPECT_TRUE(plain.descriptor->machines().empty());
    EXPECT_FALSE(plain.descriptor->find_node("sender")->machine.has_value());
    // A node without one, beside a node with one, runs where the dataflow was started.
    const auto mixed = parse("nodes:\n  - id: a\n    path: sender\n    deploy: {machine: m1}\n"
                             "  - id: b\n    path: sender\n");
    ASSERT_TRUE(mixed.ok()) << mixed.format();
    EXPECT_FALSE(mixed.descriptor->find_node("b")->machine.has_value());
}

TEST_F(DescriptorTest, DeployKeysAreValidated) {
    const std::string node = "nodes:\n  - id: a\n    path: sender\n    ";
    EXPECT_TRUE(has_diagnostic(parse(node + "deploy: robot\n"), Severity::error, 4, 13,
                               "'deploy' of node 'a' must be a map such as {machine: NAME}"));
    EXPECT_TRUE(has_diagnostic(parse(node + "deploy: {machine: 'a b'}\n"), Severity::error, 4, 23,
                               "invalid machine id 'a b'"));
    EXPECT_TRUE(has_diagnostic(parse(node + "deploy: {machin: x}\n"), Severity::error, 4, 14,
                               "unknown key 'machin' in 'deploy' of node 'a' (did you mean "
                               "'machine'?)"));
    EXPECT_TRUE(has_diagnostic(parse(node + "deploy: {labels: {gpu: 'true'}}\n"), Severity::error,
                               4, 14,
                               "'labels' in 'deploy' of node 'a' is not supported yet by zeroflow "
                               "(only 'machine' and 'working_dir')"));
    EXPECT_TRUE(has_diagnostic(
        parse(node + "deploy: {machine: x}\n    _unstable_deploy: {machine: y}\n"), Severity::error,
        5, 5, "give either 'deploy' or '_unstable_deploy' in node 'a'"));
    EXPECT_TRUE(has_diagnostic(parse(std::string(kPair) + "deploy: [x]\n"), Severity::error, 12, 9,
                               "'deploy' at the top level must be a map"));
    EXPECT_TRUE(has_diagnostic(
        parse(std::string(kPair) + "deploy: {machine: x}\n_unstable_deploy: {machine: x}\n"),
        Severity::error, 13, 1, "give either 'deploy' or '_unstable_deploy' at the top level"));
}

TEST_F(DescriptorTest, WorkingDirMovesANodeAndIsCheckedWhereItRuns) {
    std::filesystem::create_directories(dir_.path() / "ws" / "bin");
    dir_.executable("ws/bin/camera");
    const auto sut = parse(R"(nodes:
  - id: camera
    path: bin/camera
    outputs: [image]
    deploy: {working_dir: ws}
  - id: remote
    path: ./only-there
    inputs: {image: camera/image}
    _unstable_deploy: {machine: base, working_dir: /home/base/flow}
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    // Relative: to the file's folder; the node's path resolves in it.
    const auto* camera = sut.descriptor->find_node("camera");
    EXPECT_EQ(camera->working_dir, dir_.path() / "ws");
    EXPECT_EQ(camera->executable, dir_.path() / "ws" / "bin" / "camera");
    // On another machine: resolved there, and not checked here (its machine checks its part).
    const auto* remote = sut.descriptor->find_node("remote");
    EXPECT_EQ(remote->working_dir, std::filesystem::path("/home/base/flow"));
    EXPECT_EQ(remote->executable, std::filesystem::path("/home/base/flow/only-there"));
    EXPECT_EQ(remote->machine, "base");

    // In a file that places no node on a machine, a missing folder or executable is an error,
    // at its position, once.
    const std::string node = "nodes:\n  - id: a\n    path: ./sender\n    ";
    const auto no_dir = parse(node + "deploy: {working_dir: nowhere}\n");
    EXPECT_TRUE(has_diagnostic(no_dir, Severity::error, 4, 27,
                               "'working_dir' of node 'a' (" + (dir_.path() / "nowhere").string() +
                                   ") is not a directory"));
    EXPECT_EQ(no_dir.error_count(), 1u) << no_dir.format();
    const auto no_exe = parse(node + "deploy: {working_dir: ws}\n");
    EXPECT_TRUE(has_diagnostic(no_exe, Severity::error, 3, 11,
                               "executable './sender' of node 'a' not found (" +
                                   (dir_.path() / "ws" / "sender").string() + ")"));
    EXPECT_EQ(no_exe.error_count(), 1u) << no_exe.format();
    // A shell node's folder too; a dynamic node's is ignored, with a warning.
    EXPECT_TRUE(has_diagnostic(parse("nodes:\n  - id: a\n    path: shell\n    args: echo hi\n"
                                     "    deploy: {working_dir: nowhere}\n"),
                               Severity::error, 5, 27, "'working_dir' of node 'a'"));
    const auto dynamic = parse("nodes:\n  - id: a\n    path: dynamic\n"
                               "    deploy: {working_dir: nowhere}\n");
    EXPECT_TRUE(dynamic.ok()) << dynamic.format();
    EXPECT_TRUE(has_diagnostic(dynamic, Severity::warning, 4, 27,
                               "node 'a' is dynamic (started by the user): its 'working_dir' is "
                               "ignored"));
    EXPECT_FALSE(dynamic.descriptor->find_node("a")->working_dir.has_value());
    // In a file that places nodes on machines, not even a node that runs where the file is
    // started is checked here: every machine parses the whole file, and the daemon that runs
    // the node checks it (Descriptor::missing_working_dirs, or its part).
    const auto placed = parse("nodes:\n  - id: a\n    path: ./sender\n"
                              "    deploy: {working_dir: nowhere}\n"
                              "  - id: b\n    path: sender\n    deploy: {machine: m}\n");
    ASSERT_TRUE(placed.ok()) << placed.format();
    EXPECT_EQ(placed.descriptor->missing_working_dirs(), "'working_dir' of node 'a' (" +
                                                             (dir_.path() / "nowhere").string() +
                                                             ") is not a directory\n");
    // (What a daemon that ran every node of the first file itself would miss: remote's folder.)
    EXPECT_EQ(sut.descriptor->missing_working_dirs(),
              "'working_dir' of node 'remote' (/home/base/flow) is not a directory\n");
    EXPECT_TRUE(has_diagnostic(parse(node + "deploy: {working_dir: ''}\n"), Severity::error, 4, 27,
                               "'working_dir' in 'deploy' of node 'a' is empty"));
    // Not a default: a directory is one machine's.
    EXPECT_TRUE(has_diagnostic(parse(std::string(kPair) + "deploy: {working_dir: ws}\n"),
                               Severity::error, 12, 23,
                               "'working_dir' in 'deploy' at the top level is not supported: give "
                               "it per node"));
}

TEST_F(DescriptorTest, UnsupportedNodeKeysAreClearErrors) {
    for (const std::string key :
         {"operators", "operator", "custom", "git", "branch", "tag", "rev", "send_logs_as",
          // dora 1.0 and its main line:
          "min_log_level", "max_rotated_files", "path_sha256", "hub", "ros2", "module", "params",
          "output_framing", "output_metadata", "pattern", "shared_memory_pool_size",
          "health_check_timeout", "finish_grace_secs"}) {
        const auto sut = parse("nodes:\n  - id: a\n    path: sender\n    " + key + ": x\n");
        EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 5,
                                   "node key '" + key + "' is not supported yet by zeroflow"));
        EXPECT_EQ(sut.error_count(), 1u) << sut.format();
    }
    // An operator node has no path; only the unsupported key is reported.
    const auto sut = parse("nodes:\n  - id: a\n    operators: []\n");
    EXPECT_EQ(sut.error_count(), 1u) << sut.format();
}

TEST_F(DescriptorTest, RestartKeysAreReadWithDorasNamesAndMeaning) {
    const auto sut = parse("nodes:\n  - id: a\n    path: sender\n"
                           "    restart_policy: on-failure\n    max_restarts: 3\n"
                           "    restart_window: 60\n    restart_delay: 250ms\n"
                           "    max_restart_delay: 2s\n"
                           "  - id: b\n    path: sender\n    restart_policy: always\n");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_TRUE(sut.diagnostics.empty()) << sut.format();
    const auto& a = sut.descriptor->nodes[0].restart;
    EXPECT_EQ(a.policy, RestartPolicy::on_failure);
    EXPECT_EQ(a.max_restarts, 3u);
    EXPECT_EQ(a.window, std::chrono::milliseconds(60'000));
    EXPECT_EQ(a.delay, std::chrono::milliseconds(250));
    EXPECT_EQ(a.max_delay, std::chrono::milliseconds(2000));
    const auto& b = sut.descriptor->nodes[1].restart;
    EXPECT_EQ(b.policy, RestartPolicy::always);
    EXPECT_EQ(b.max_restarts, 0u) << "0: unlimited, dora's default";
    EXPECT_FALSE(b.window.has_value());
    EXPECT_EQ(b.delay, std::chrono::milliseconds(0));
    EXPECT_EQ(b.max_delay, kDefaultMaxRestartDelay);
    EXPECT_EQ(parse(kPair).descriptor->nodes[0].restart.policy, RestartPolicy::never);
}

TEST_F(DescriptorTest, BadRestartValuesAreErrorsAtTheirPosition) {
    const std::string head = "nodes:\n  - id: a\n    path: sender\n";
    EXPECT_TRUE(has_diagnostic(parse(head + "    restart_policy: on_failure\n"), Severity::error, 4,
                               21,
                               "'restart_policy' of node 'a' must be never, on-failure or always, "
                               "got 'on_failure' (did you mean 'on-failure'?)"));
    EXPECT_TRUE(has_diagnostic(parse(head + "    max_restarts: -1\n"), Severity::error, 4, 19,
                               "'max_restarts' of node 'a' must be between 0 and 1000000"));
    EXPECT_TRUE(has_diagnostic(parse(head + "    restart_policy: always\n    restart_delay: 5x\n"),
                               Severity::error, 5, 20,
                               "'restart_delay' of node 'a' must be a duration: seconds (0.5) or a "
                               "number with a unit (500ms, 2s, 1m), got '5x'"));
    EXPECT_TRUE(has_diagnostic(parse(head + "    restart_policy: always\n    restart_window: 0\n"),
                               Severity::error, 5, 21, "must be longer than 0"));
    EXPECT_TRUE(has_diagnostic(parse(head + "    restart_policy: always\n    restart_delay: 5s\n"
                                            "    max_restart_delay: 1s\n"),
                               Severity::error, 2, 5,
                               "'max_restart_delay' is shorter than 'restart_delay'"));
    EXPECT_TRUE(has_diagnostic(parse(head + "    health_check_timeout: 5\n"), Severity::error, 4, 5,
                               "'health_check_timeout' is not supported yet by zeroflow"));
    // Keys that cannot act: warnings, the dataflow still runs.
    const auto idle = parse(head + "    max_restarts: 3\n");
    EXPECT_TRUE(idle.ok()) << idle.format();
    EXPECT_TRUE(has_diagnostic(idle, Severity::warning, 2, 5, "it is never restarted"));
    const auto dynamic =
        parse("nodes:\n  - id: d\n    path: dynamic\n    restart_policy: always\n");
    EXPECT_TRUE(
        has_diagnostic(dynamic, Severity::warning, 2, 5, "its 'restart_policy' is ignored"));
}

TEST_F(DescriptorTest, NodeNeedsIdAndPath) {
    const auto sut = parse("nodes:\n  - path: sender\n  - id: b\n");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 2, 5, "node has no 'id'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 3, 5,
                               "node 'b' has no 'path' (an executable, or 'dynamic')"));
}

TEST_F(DescriptorTest, ValidatesIds) {
    const auto sut = parse(R"(nodes:
  - id: "bad id"
    path: sender
    outputs: [ok_out-1, bad.out]
  - id: good_id-2
    path: receiver
    inputs:
      bad/input: zeroflow/timer/secs/1
      x: just-text
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 2, 9,
                               "invalid node id 'bad id': use only letters, digits, '_' and '-'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 25, "invalid output id 'bad.out'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 8, 7, "invalid input id 'bad/input'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 9, 10,
                               "input 'x' of node 'good_id-2': malformed source 'just-text'"));
}

TEST_F(DescriptorTest, RejectsDuplicateKeys) {
    const auto sut = parse("nodes:\n  - id: a\n    path: sender\n    path: receiver\n");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 5, "duplicate key 'path'"));
}

TEST_F(DescriptorTest, ParsesAllTimerForms) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    inputs:
      m: zeroflow/timer/millis/20
      s: zeroflow/timer/secs/2
      h: zeroflow/timer/hz/30
      f: zeroflow/timer/hz/0.5
      top: zeroflow/timer/hz/1000000
      dm: dora/timer/millis/5
      ds: dora/timer/secs/1
      dh: dora/timer/hz/100
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    const auto& inputs = sut.descriptor->nodes[0].inputs;
    ASSERT_EQ(inputs.size(), 8u);
    const auto period = [&](std::size_t i) { return std::get<Timer>(inputs[i].source).period; };
    EXPECT_EQ(period(0), 20ms);
    EXPECT_EQ(period(1), 2s);
    EXPECT_EQ(period(2), 33'333'333ns);
    EXPECT_EQ(period(3), 2s);
    EXPECT_EQ(period(4), 1us);
    EXPECT_EQ(period(5), 5ms);
    EXPECT_EQ(period(6), 1s);
    EXPECT_EQ(period(7), 10ms);
    EXPECT_EQ(std::get<Timer>(inputs[5].source).spec, "dora/timer/millis/5");
    EXPECT_EQ(sut.descriptor->timer_count(), 8u);
    EXPECT_EQ(sut.descriptor->connection_count(), 0u);
}

TEST_F(DescriptorTest, RejectsBadTimers) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    inputs:
      a: zeroflow/timer/millis/0
      b: zeroflow/timer/millis/-5
      c: zeroflow/timer/hz/0
      d: zeroflow/timer/hz/2000000
      e: zeroflow/timer/minutes/5
      f: zeroflow/timer/millis/abc
      g: zeroflow/timer/millis
      h: dora/timer/secs/1.5
      i: zeroflow/timer/secs/99999999999999999
      j: zeroflow/timer/hz/-3
      k: zeroflow/other/thing
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 5, 10,
                               "invalid timer 'zeroflow/timer/millis/0': the period must be "
                               "greater than zero (input 'a' of node 'a')"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 6, 10, "the period must be greater than zero"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 7, 10, "the frequency must be greater than zero"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 8, 10, "at least 1 µs"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 9, 10,
                       "malformed timer 'zeroflow/timer/minutes/5': unknown unit 'minutes'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 10, 10, "'abc' is not a whole number"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 11, 10,
                               "malformed timer 'zeroflow/timer/millis': expected "
                               "zeroflow/timer/millis/N"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 12, 10, "'1.5' is not a whole number of secs"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 13, 10, "the period is too long"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 14, 10, "the frequency must be greater than zero"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 15, 10, "malformed timer"));
    EXPECT_EQ(sut.error_count(), 11u) << sut.format();
}

TEST_F(DescriptorTest, ValidatesLongFormInputs) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    outputs: [o]
    inputs:
      ok: {source: a/o, queue_size: 1}
      big: {source: a/o, queue_size: 1025}
      text: {source: a/o, queue_size: many}
      neg: {source: a/o, queue_size: -1}
      nosource: {queue_size: 3}
      typo: {source: a/o, queue_sise: 3}
      list: [a/o]
)");
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 7, 38, "must be between 1 and 1024 (got 1025)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 8, 39,
                               "must be an integer between 1 and 1024, got 'many'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 9, 38, "must be between 1 and 1024 (got -1)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 10, 17,
                               "input 'nosource' of node 'a' has no 'source'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 11, 27,
                               "unknown key 'queue_sise' in input 'typo' of node 'a' (did you mean "
                               "'queue_size'?)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 12, 13, "input 'list' of node 'a' must be"));
    EXPECT_EQ(sut.error_count(), 6u) << sut.format();
}

TEST_F(DescriptorTest, AllowsCycles) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    inputs: {in: b/out}
    outputs: [out]
  - id: b
    path: receiver
    inputs: {in: a/out, self: b/out}
    outputs: [out]
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->connection_count(), 3u);
}

TEST_F(DescriptorTest, MissingExecutableIsAnErrorWithoutBuildAndAWarningWithIt) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: bin/not-there
  - id: b
    path: bin/not-there-either
    build: make b
)");
    EXPECT_FALSE(sut.ok());
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 3, 11,
                               "executable 'bin/not-there' of node 'a' not found (" +
                                   (dir_.path() / "bin/not-there").string() +
                                   "); build it first, or add a 'build' command"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::warning, 5, 11, "its 'build' command should create it"));
    EXPECT_EQ(sut.error_count(), 1u);

    const auto built_later = parse("nodes:\n  - id: b\n    build: make b\n    path: later\n");
    ASSERT_TRUE(built_later.ok()) << built_later.format();
    EXPECT_EQ(built_later.warning_count(), 1u);
    EXPECT_EQ(built_later.descriptor->nodes[0].executable, dir_.path() / "later");
}

TEST_F(DescriptorTest, FileThatIsNotExecutableIsReported) {
    dir_.write("plain.txt", "not a program");
    const auto sut = parse("nodes:\n  - id: a\n    path: plain.txt\n");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 3, 11, "is not an executable file"));
}

TEST_F(DescriptorTest, ResolvesRelativeAbsoluteAndPathExecutables) {
    dir_.executable("sub/tool");
    const auto sut = parse("nodes:\n  - id: a\n    path: sub/../sub/tool\n"
                           "  - id: b\n    path: " +
                           (dir_.path() / "sender").string() +
                           "\n"
                           "  - id: c\n    path: sh\n");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->nodes[0].executable, dir_.path() / "sub/tool");
    EXPECT_EQ(sut.descriptor->nodes[1].executable, dir_.path() / "sender");
    const auto& sh = sut.descriptor->nodes[2].executable;
    EXPECT_TRUE(sh.is_absolute());
    EXPECT_EQ(sh.filename(), "sh");
    EXPECT_NE(sh.parent_path(), dir_.path());
}

TEST_F(DescriptorTest, BareNameBesideTheDataflowWinsOverPath) {
    dir_.executable("true");
    const auto sut = parse("nodes:\n  - id: a\n    path: 'true'\n");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->nodes[0].executable, dir_.path() / "true");
}

TEST_F(DescriptorTest, DynamicNodes) {
    const auto sut = parse(R"(nodes:
  - id: plain
    path: dynamic
  - id: odd
    path: dynamic
    build: make odd
    args: --x
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_TRUE(sut.descriptor->nodes[0].dynamic);
    EXPECT_TRUE(sut.descriptor->nodes[0].executable.empty());
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 6, 5,
                               "node 'odd' is dynamic (started by the user): its 'build' command "
                               "is ignored"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 7, 5, "its 'args' are ignored"));
    EXPECT_EQ(sut.warning_count(), 2u);
}

TEST_F(DescriptorTest, RejectsBadArgsAndEnv) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    args: "--name 'unterminated"
    env:
      GOOD: 1
      BAD: [1, 2]
      NULLED:
  - id: b
    path: sender
    args: {a: b}
    env: [x]
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 11,
                               "'args' of node 'a': unterminated single quote"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 7, 12,
                               "environment variable 'BAD' of node 'a' must be a string, number or "
                               "bool"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 11, 11,
                               "'args' of node 'b' must be a string or a list of strings"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 12, 10, "'env' of node 'b' must be a map"));
    EXPECT_EQ(sut.error_count(), 5u) << sut.format(); // NULLED too
}

TEST_F(DescriptorTest, ValidatesCpuAffinity) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    cpu_affinity: [0, -1, 0, 100000, x]
  - id: b
    path: sender
    cpu_affinity: 3
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 23, "must be between 0 and"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 27,
                               "duplicate CPU index 0 in 'cpu_affinity' of node 'a'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 4, 30,
                               "CPU index 100000 in 'cpu_affinity' of node 'a' does not exist on "
                               "this machine"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 38, "got 'x'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 7, 19,
                               "'cpu_affinity' of node 'b' must be a list of CPU indices"));
    EXPECT_EQ(sut.error_count(), 4u) << sut.format();

    const auto only_warning = parse("nodes:\n  - id: a\n    path: sender\n"
                                    "    cpu_affinity: [0, 99999]\n");
    ASSERT_TRUE(only_warning.ok()) << only_warning.format();
    EXPECT_EQ(only_warning.descriptor->nodes[0].cpu_affinity, (std::vector<int>{0, 99999}));
}

TEST_F(DescriptorTest, ValidatesBusyPoll) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    busy_poll_us: 1000001
  - id: b
    path: sender
    busy_poll_us: -1
  - id: c
    path: sender
    busy_poll_us: 1.5
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 4, 19,
                               "'busy_poll_us' of node 'a' must be between 0 and 1000000 (got "
                               "1000001)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 7, 19, "(got -1)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 10, 19, "got '1.5'"));
}

TEST_F(DescriptorTest, AcceptsShmSettings) {
    const auto sut = parse(std::string(kPair) + R"(shm:
  sender/message:
    max_message_size: 4MiB
    chunks: 4
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    const auto shm = sut.descriptor->shm_for({"sender", "message"});
    EXPECT_EQ(shm.max_message_size, 4ull << 20);
    EXPECT_EQ(shm.chunks, 4u);

    for (const auto& [text, bytes] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"1", 1}, {"'512 KiB'", 512 << 10}, {"4GiB", 4ull << 30}, {"100B", 100}}) {
        const auto r = parse(std::string(kPair) +
                             "shm:\n  sender/message: {max_message_size: " + text + "}\n");
        ASSERT_TRUE(r.ok()) << text << "\n" << r.format();
        EXPECT_EQ(r.descriptor->shm.at("sender/message").max_message_size, bytes);
        EXPECT_FALSE(r.descriptor->shm.at("sender/message").chunks);
    }
}

TEST_F(DescriptorTest, RejectsBadShmSettings) {
    const auto sut = parse(std::string(kPair) + R"(shm:
  sender/mesage: {chunks: 2}
  sender/message: {max_message_size: 0, chunks: 1}
  receiver/x: {}
  nonsense: {}
  sender/message2: {max_message_size: 5GiB, chunks: 65537, chunk: 3}
  sender/message3: {max_message_size: lots}
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 13, 3,
                               "shm: unknown output 'sender/mesage' (did you mean "
                               "'sender/message'?)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 14, 38,
                               "'max_message_size' of shm settings of 'sender/message' must be "
                               "between 1 B and 4 GiB, got '0'"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 14, 49, "must be between 2 and 65536 (got 1)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 15, 3, "shm: unknown output 'receiver/x'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 16, 3,
                               "shm: expected an output as 'node-id/output-id', got 'nonsense'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 17, 39, "got '5GiB'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 17, 53, "(got 65537)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 17, 60,
                               "unknown key 'chunk' in shm settings of 'sender/message2' (did you "
                               "mean 'chunks'?)"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 18, 39,
                               "must be a size like 8388608, '512 KiB' or '16MiB', got 'lots'"));
}

TEST_F(DescriptorTest, MaxMetadataSizeDefaultsTo1KiBAndIsBounded) {
    EXPECT_EQ(parse(kPair).descriptor->shm_for({"sender", "message"}).max_metadata_size, 1024u);
    const auto sut =
        parse(std::string(kPair) + "shm:\n  sender/message: {max_metadata_size: 4KiB}\n");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->shm_for({"sender", "message"}).max_metadata_size, 4096u);
    const auto zero =
        parse(std::string(kPair) + "shm:\n  sender/message: {max_metadata_size: 0}\n");
    ASSERT_TRUE(zero.ok()) << zero.format();
    EXPECT_EQ(zero.descriptor->shm_for({"sender", "message"}).max_metadata_size, 0u);
    const auto bad =
        parse(std::string(kPair) + "shm:\n  sender/message: {max_metadata_size: 2MiB}\n"
                                   "  receiver/x: {max_metadata_sise: 1}\n");
    EXPECT_TRUE(has_diagnostic(bad, Severity::error, 13, 39,
                               "'max_metadata_size' of shm settings of 'sender/message' must be "
                               "between 0 B and 1 MiB, got '2MiB'"));
    EXPECT_TRUE(
        has_diagnostic(bad, Severity::error, 14, 16, "(did you mean 'max_metadata_size'?)"));
}

TEST_F(DescriptorTest, StoresDora10OutputAndInputTypesWithAWarning) {
    const auto sut = parse(R"(nodes:
  - id: sender
    path: sender
    outputs: [image]
    output_types:
      image: std/core/v1/UInt8
  - id: receiver
    path: ./receiver
    inputs:
      image: sender/image
    input_types:
      image: std/core/v1/UInt8
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    const auto& sender = sut.descriptor->nodes[0];
    ASSERT_EQ(sender.output_types.size(), 1u);
    EXPECT_EQ(sender.output_types[0],
              (std::pair<std::string, std::string>{"image", "std/core/v1/UInt8"}));
    EXPECT_EQ(sut.descriptor->nodes[1].input_types.size(), 1u);
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 5, 5,
                               "'output_types' of node 'sender' is stored but not enforced yet"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 11, 5, "'input_types' of node 'receiver'"));
}

TEST_F(DescriptorTest, FanOutIsLimitedTo64Inputs) {
    const auto dataflow = [](int receivers) {
        std::string yaml = "nodes:\n  - id: src\n    path: sender\n    outputs: [o]\n";
        for (int i = 0; i < receivers; ++i) {
            yaml +=
                "  - id: r" + std::to_string(i) + "\n    path: receiver\n    inputs: {i: src/o}\n";
        }
        return yaml;
    };
    const auto at_limit = parse(dataflow(64));
    EXPECT_TRUE(at_limit.ok()) << at_limit.format();
    const auto over = parse(dataflow(65));
    EXPECT_TRUE(has_diagnostic(over, Severity::error, 4, 15,
                               "output 'src/o' feeds 65 inputs; at most 64 are allowed"));
    EXPECT_EQ(over.error_count(), 1u);
}

TEST_F(DescriptorTest, YamlSyntaxErrorsHaveAPosition) {
    const auto sut = parse("nodes:\n  - id: a\n    path: [unclosed\n");
    ASSERT_EQ(sut.diagnostics.size(), 1u) << sut.format();
    EXPECT_EQ(sut.diagnostics[0].severity, Severity::error);
    EXPECT_NE(sut.diagnostics[0].message.find("YAML syntax error"), std::string::npos);
    EXPECT_GT(sut.diagnostics[0].where.line, 0);
    EXPECT_GT(sut.diagnostics[0].where.column, 0);
    EXPECT_FALSE(sut.ok());
}

TEST_F(DescriptorTest, CommonYamlSyntaxErrorsGetAPlainWordsHint) {
    const auto colon = parse("nodes:\n  - id: a\n    description: camera: the front one\n"
                             "    path: /bin/sh\n");
    EXPECT_TRUE(has_diagnostic(colon, Severity::error, 3, 24,
                               "YAML syntax error: illegal map value; the value of 'description' "
                               "contains ': ', which YAML reads as a new key: quote the value, "
                               "e.g. description: \"camera: the front one\""))
        << colon.format();

    const auto indent = parse("nodes:\n  - id: a\n    path: /bin/sh\n   inputs:\n      x: b/c\n");
    EXPECT_TRUE(has_diagnostic(indent, Severity::error, 4, 4,
                               "YAML syntax error: end of sequence not found; check the "
                               "indentation: line 4 starts in column 4, line 3 in column 5"))
        << indent.format();

    const auto deeper = parse("nodes:\n- id: a\n  path: /bin/sh\n    outputs:\n    - x\n");
    EXPECT_TRUE(has_diagnostic(deeper, Severity::error, 4, 12,
                               "illegal map value; check the indentation: line 4 starts in "
                               "column 5, line 3 in column 3"))
        << deeper.format();

    const auto tab = parse("nodes:\n  - id: a\n\tpath: /bin/sh\n");
    EXPECT_TRUE(has_diagnostic(tab, Severity::error, 3, 1,
                               "YAML indents with spaces only: replace the tab on line 3 with "
                               "spaces"))
        << tab.format();

    const auto flow = parse("nodes:\n  - id: a\n    path: /bin/sh\n    inputs: {x: b/c\n");
    EXPECT_NE(flow.format().find("a '[' or '{' is not closed"), std::string::npos) << flow.format();
}

TEST_F(DescriptorTest, NeverThrowsOnHostileInput) {
    const std::vector<std::string> inputs = {
        std::string(5000, '['),
        std::string(5000, '{'),
        "nodes: &a [*a]",
        "nodes: *missing",
        std::string("\0\xff\xfe nodes: [", 12),
        "nodes:\n  - id: a\n    path: sender\n    inputs: {? [x]: a/b}\n",
        "? [complex]\n: key\n",
        "--- a\n--- b\n",
        "nodes:\n  - {id: a, path: sender, inputs: {x: {source: {nested: map}}}}\n",
        "\t\tnodes:",
    };
    for (const auto& input : inputs) {
        const auto sut = parse(input);
        EXPECT_FALSE(sut.ok());
        EXPECT_FALSE(sut.diagnostics.empty());
    }
}

TEST_F(DescriptorTest, ParsesFilesAndReportsMissingOnes) {
    const auto file = dir_.write("flows/dataflow.yml", "nodes:\n  - id: a\n    path: ../sender\n");
    const auto sut = parse_file(file);
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->file, file);
    EXPECT_EQ(sut.descriptor->working_dir, dir_.path() / "flows");
    EXPECT_EQ(sut.descriptor->nodes[0].executable, dir_.path() / "sender");

    const auto missing = parse_file(dir_.path() / "nope.yml");
    ASSERT_EQ(missing.diagnostics.size(), 1u);
    EXPECT_EQ(missing.diagnostics[0].to_string(),
              (dir_.path() / "nope.yml").string() + ": error: no such dataflow file");
    EXPECT_FALSE(missing.ok());

    const auto folder = parse_file(dir_.path());
    ASSERT_EQ(folder.diagnostics.size(), 1u);
    EXPECT_NE(folder.diagnostics[0].message.find("is a directory"), std::string::npos);
}

TEST(DiagnosticTest, FormatsLikeACompiler) {
    const Diagnostic sut{Severity::warning, {"x/dataflow.yml", 12, 15}, "something odd"};
    EXPECT_EQ(sut.to_string(), "x/dataflow.yml:12:15: warning: something odd");
    const Diagnostic no_position{Severity::error, {"x.yml", 0, 0}, "gone"};
    EXPECT_EQ(no_position.to_string(), "x.yml: error: gone");
    ParseResult result;
    result.diagnostics = {sut, no_position};
    EXPECT_EQ(result.format(),
              "x/dataflow.yml:12:15: warning: something odd\nx.yml: error: gone\n");
}

TEST_F(DescriptorTest, ControlCharactersFromTheFileCannotForgeDiagnosticLines) {
    const auto sut = parse("nodes:\n  - id: \"a\\nb: error: forged\\x01\"\n    path: sender\n");
    ASSERT_FALSE(sut.ok());
    const auto text = sut.format();
    // One line per diagnostic: the newline and the control byte from the file are escaped.
    EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')),
              sut.diagnostics.size());
    EXPECT_NE(text.find("a\\nb: error: forged\\x01"), std::string::npos) << text;
}

// ---- dora's keys and spellings ---------------------------------------------------------------

TEST_F(DescriptorTest, DoraKeysThatAreNotSupportedYetAreNeverUnknownKeys) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    outputs: [out]
    inputs:
      t: {source: zeroflow/timer/secs/1, input_timeout: 2.0, queue_policy: drop_oldest}
exit_when_nodes_finish: true
module: {name: x}
health_check_interval: 2.0
strict_types: true
type_rules: []
debug: {enable_debug_inspection: true}
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 6, 42,
                               "input key 'input_timeout' (dora 1.0) of input 't' of node 'a' is "
                               "not supported yet by zeroflow"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 6, 62, "input key 'queue_policy'"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 7, 1,
                               "'exit_when_nodes_finish' is not supported yet by zeroflow"));
    EXPECT_TRUE(
        has_diagnostic(sut, Severity::error, 8, 1, "'module' (a dora module's definition) is not"));
    for (int line = 9; line <= 12; ++line) {
        EXPECT_TRUE(has_diagnostic(sut, Severity::warning, line, 1,
                                   "(dora 1.0) is not supported yet by zeroflow: it is ignored"));
    }
    EXPECT_EQ(sut.error_count(), 4u) << sut.format();
    EXPECT_EQ(sut.format().find("unknown key"), std::string::npos) << sut.format();
}

TEST_F(DescriptorTest, AnOperatorsOutputAsASourceSaysOperatorsAreNotSupported) {
    const auto sut = parse(R"(nodes:
  - id: runtime-node
    operators:
      - id: op
        shared-library: build/op
        outputs: [out]
  - id: sink
    path: receiver
    inputs:
      in: runtime-node/op/out
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 10, 11,
                               "input 'in' of node 'sink' refers to 'runtime-node/op/out', output "
                               "'out' of operator 'op' of node 'runtime-node': operators are not "
                               "supported yet by zeroflow"));
    EXPECT_EQ(sut.format().find("malformed source"), std::string::npos) << sut.format();
    EXPECT_EQ(sut.error_count(), 2u) << "the operators key and the source: " << sut.format();
}

TEST_F(DescriptorTest, DoraBuiltInLogSourcesAndUrlPathsAreNotSupportedYet) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: https://example.com/node
  - id: b
    path: receiver
    inputs:
      logs: dora/logs
      errors: dora/logs/error
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 3, 11,
                               "'path' of node 'a' is a URL ('https://example.com/node'): "
                               "downloading nodes is not supported yet by zeroflow"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 7, 13,
                               "'dora/logs' (dora 1.0's stream of every node's logs) is not "
                               "supported yet"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 8, 15, "'dora/logs/error'"));
    EXPECT_EQ(sut.error_count(), 3u) << sut.format();
}

TEST_F(DescriptorTest, ShellNodesRunTheirArgsWithBinSh) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: shell
    args: echo "$HOME" 'x  y' | tr a b
  - id: b
    path: shell
  - id: c
    path: shell
    args: [echo, hi]
)");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 5, 5,
                               "node 'b' has 'path: shell' but no 'args': give the command"));
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 9, 11,
                               "'args' of node 'c' (path: shell) must be one string"));
    EXPECT_EQ(sut.error_count(), 2u) << sut.format();
    const auto ok =
        parse("nodes:\n  - id: a\n    path: shell\n    args: echo \"$HOME\" | tr a b\n");
    ASSERT_TRUE(ok.ok()) << ok.format();
    const auto& node = ok.descriptor->nodes[0];
    EXPECT_TRUE(node.shell);
    EXPECT_EQ(node.executable, "/bin/sh");
    // Taken whole and unexpanded: the shell splits and expands it, with the node's env.
    EXPECT_EQ(node.args, (std::vector<std::string>{"-c", "echo \"$HOME\" | tr a b"}));
}

TEST_F(DescriptorTest, ArgsSplitLikeDoraOneDotZeroWithCommentsAndKeepTheListForm) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    args: --name 'hello world' "a \"b\"" plain\ space # a comment
  - id: b
    path: sender
    args: ["--name", "hello world", "# not a comment"]
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->nodes[0].args,
              (std::vector<std::string>{"--name", "hello world", "a \"b\"", "plain space"}));
    EXPECT_EQ(sut.descriptor->nodes[1].args,
              (std::vector<std::string>{"--name", "hello world", "# not a comment"}));
}

TEST_F(DescriptorTest, VariablesExpandInPathArgsAndEnvLikeDora) {
    ::setenv("ZF_TEST_DIR", dir_.path().c_str(), 1);
    ::setenv("ZF_TEST_WORDS", "two words", 1);
    ::setenv("ZF_TEST_EMPTY", "", 1);
    ::unsetenv("ZF_TEST_UNSET");
    const auto sut = parse(R"(nodes:
  - id: a
    path: ${ZF_TEST_DIR}/sender
    args: --in $ZF_TEST_WORDS --keep $ZF_TEST_UNSET --cost $$5 --d ${ZF_TEST_UNSET:-fallback}
    env:
      WORDS: pre-${ZF_TEST_WORDS}-post
      EMPTY: "[$ZF_TEST_EMPTY]"
      DEFAULTED: ${ZF_TEST_UNSET:-7}
      PRICE: $$5 and $ alone
      NUMBER: 1.50
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    const auto& node = sut.descriptor->nodes[0];
    EXPECT_EQ(node.executable, dir_.path() / "sender");
    // A value is never split into several arguments; unset variables stay as written in args.
    EXPECT_EQ(node.args, (std::vector<std::string>{"--in", "two words", "--keep", "$ZF_TEST_UNSET",
                                                   "--cost", "$5", "--d", "fallback"}));
    EXPECT_EQ(node.env,
              (std::vector<std::pair<std::string, std::string>>{{"WORDS", "pre-two words-post"},
                                                                {"EMPTY", "[]"},
                                                                {"DEFAULTED", "7"},
                                                                {"PRICE", "$5 and $ alone"},
                                                                {"NUMBER", "1.50"}}));

    // In `path` and `env` (as dora), an unset variable without a default is an error.
    const auto bad = parse(R"(nodes:
  - id: a
    path: $ZF_TEST_UNSET/sender
    env:
      X: ${ZF_TEST_UNSET}
)");
    EXPECT_TRUE(has_diagnostic(bad, Severity::error, 3, 11,
                               "'path' of node 'a': environment variable 'ZF_TEST_UNSET' is not "
                               "set (in '$ZF_TEST_UNSET/sender'; write ${NAME:-default}"));
    EXPECT_TRUE(has_diagnostic(bad, Severity::error, 5, 10,
                               "environment variable 'X' of node 'a': environment variable "
                               "'ZF_TEST_UNSET' is not set"));
    EXPECT_EQ(bad.error_count(), 2u) << bad.format();
    ::unsetenv("ZF_TEST_DIR");
    ::unsetenv("ZF_TEST_WORDS");
    ::unsetenv("ZF_TEST_EMPTY");
}

TEST_F(DescriptorTest, TopLevelEnvIsEveryNodesUnlessItsOwnSetsTheName) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    env: {LEVEL: debug}
  - id: b
    path: sender
env:
  LEVEL: info
  SHARED: yes
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    using Env = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(sut.descriptor->nodes[0].env, (Env{{"SHARED", "yes"}, {"LEVEL", "debug"}}));
    EXPECT_EQ(sut.descriptor->nodes[1].env, (Env{{"LEVEL", "info"}, {"SHARED", "yes"}}));
}

TEST_F(DescriptorTest, SendStdoutAsNamesAnOutputTheDaemonSendsOn) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    send_stdout_as: lines
  - id: b
    path: sender
    send_stdout_as: log
    outputs: [log, data]
  - id: sink
    path: receiver
    inputs:
      x: a/lines
      y: b/log
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->nodes[0].send_stdout_as, "lines");
    EXPECT_EQ(sut.descriptor->nodes[0].outputs, (std::vector<std::string>{"lines"}))
        << "naming it declares it, as listing it under outputs (as dora's examples do)";
    EXPECT_EQ(sut.descriptor->nodes[1].outputs, (std::vector<std::string>{"log", "data"}));

    const auto bad = parse(R"(nodes:
  - id: a
    path: sender
    send_stdout_as: "no good"
  - id: d
    path: dynamic
    send_stdout_as: lines
)");
    EXPECT_TRUE(has_diagnostic(bad, Severity::error, 4, 21,
                               "invalid output id 'no good' in 'send_stdout_as' of node 'a'"));
    EXPECT_TRUE(has_diagnostic(bad, Severity::warning, 7, 21,
                               "node 'd' is dynamic (started by the user): its 'send_stdout_as' "
                               "is ignored"));
    EXPECT_EQ(bad.error_count(), 1u) << bad.format();
}

TEST_F(DescriptorTest, MaxLogSizeTakesDorasSpellings) {
    const auto sut = parse(R"(nodes:
  - id: a
    path: sender
    max_log_size: "100MB"
  - id: b
    path: sender
    max_log_size: 1.5g
  - id: c
    path: sender
    max_log_size: 1KB
  - id: d
    path: sender
    max_log_size: 64MiB
)");
    ASSERT_TRUE(sut.ok()) << sut.format();
    EXPECT_EQ(sut.descriptor->nodes[0].max_log_size, 100ull << 20);
    EXPECT_EQ(sut.descriptor->nodes[1].max_log_size, 3ull << 29);
    EXPECT_EQ(sut.descriptor->nodes[2].max_log_size, kMinLogSize);
    EXPECT_EQ(sut.descriptor->nodes[3].max_log_size, 64ull << 20);
    EXPECT_TRUE(has_diagnostic(sut, Severity::warning, 10, 19,
                               "'max_log_size' of node 'c' is '1KB', below zeroflow's minimum: "
                               "4 KiB is used"));
    const auto bad = parse("nodes:\n  - id: a\n    path: sender\n    max_log_size: 5 parsecs\n");
    EXPECT_TRUE(has_diagnostic(bad, Severity::error, 4, 19, "'max_log_size' of node 'a' must be"));
}

TEST_F(DescriptorTest, ANodeDefinitionFileIsNotADataflow) {
    const auto sut = parse("id: filter\npath: filter.py\noutputs: [x]\n");
    EXPECT_TRUE(has_diagnostic(sut, Severity::error, 1, 1,
                               "missing 'nodes': this looks like one node's definition"));
}

} // namespace
} // namespace zeroflow::dataflow
