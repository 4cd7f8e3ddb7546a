// Unit tests of the supervisor's pure planning (plan.hpp): a descriptor and a dataflow's state
// in, a layout spec, taps, a node's setup and its spawn request out. No processes, no segment.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include <zeroflow/protocol/environment.hpp>

#include "../src/plan.hpp"

namespace zeroflow::daemon {
namespace {

/// A dataflow's state with the descriptor `yaml` (as /flows/dataflow.yml) and its spec.
DataflowState planned(const std::string& yaml, std::size_t taps = 0) {
    auto parsed = dataflow::parse_string(yaml, "/flows/dataflow.yml");
    EXPECT_TRUE(parsed.ok()) << parsed.format();
    DataflowState df;
    const wire::Uuid uuid{7, 7, 7};
    df.uuid = wire::to_string(uuid);
    df.name = "robot";
    df.descriptor = std::move(*parsed.descriptor);
    df.spec = build_spec(df.descriptor, uuid, 3, df.timer_outputs);
    df.taps = add_taps(df.spec, taps);
    df.node_setup_template = wire::to_json(df.spec);
    for (std::uint32_t i = 0; i < df.descriptor.nodes.size(); ++i) {
        NodeState ns;
        ns.id = df.descriptor.nodes[i].id;
        ns.index = i;
        ns.log_file = "/flows/out/log_" + ns.id + ".txt";
        df.nodes.push_back(ns);
    }
    return df;
}

const std::string kFlow = R"(nodes:
  - id: camera
    path: /bin/true
    outputs: [image, info]
    send_stdout_as: info
    inputs:
      tick: zeroflow/timer/millis/100
  - id: viewer
    path: /bin/true
    restart_policy: on-failure
    inputs:
      image: camera/image
      tick: zeroflow/timer/millis/100
      slow: zeroflow/timer/secs/1
)";

TEST(Plan, SpecHasNodeOutputsThenOneOutputPerDistinctTimer) {
    const auto df = planned(kFlow);
    ASSERT_EQ(df.spec.outputs.size(), 4U);
    EXPECT_EQ(df.spec.outputs[0].name, "camera/image");
    EXPECT_EQ(df.spec.outputs[1].name, "camera/info");
    EXPECT_EQ(df.spec.outputs[2].owner, shm::kDaemonOwner);
    EXPECT_EQ(df.spec.outputs[3].owner, shm::kDaemonOwner);
    ASSERT_EQ(df.timer_outputs.size(), 2U) << "the two 100 ms inputs share one timer";
    EXPECT_EQ(df.timer_outputs[0].period, std::chrono::milliseconds(100));
    EXPECT_EQ(df.timer_outputs[1].period, std::chrono::seconds(1));
    ASSERT_EQ(df.spec.connections.size(), 4U);
    EXPECT_EQ(df.spec.connections[0].output, 2U); // camera's tick
    EXPECT_EQ(df.spec.connections[1].output, 0U); // viewer's image
    EXPECT_EQ(df.spec.connections[2].output, 2U); // viewer's tick: the same timer
    EXPECT_EQ(df.spec.connections[3].output, 3U);
}

TEST(Plan, TapsComeAfterEveryNodeAndConnection) {
    const auto df = planned(kFlow, 2);
    EXPECT_EQ(df.spec.node_count, 4U);
    ASSERT_EQ(df.taps.size(), 2U);
    EXPECT_EQ(df.taps[0].node, 2U);
    EXPECT_EQ(df.taps[1].node, 3U);
    for (const auto& tap : df.taps) {
        EXPECT_EQ(tap.of.size(), df.spec.outputs.size()) << "one connection from every output";
        for (const auto& [output, connection] : tap.of) {
            EXPECT_GE(connection, 4U) << "after the nodes' own connections";
            EXPECT_EQ(df.spec.connections[connection].output, output);
            EXPECT_EQ(df.spec.connections[connection].receiver, tap.node);
        }
    }
}

TEST(Plan, NodeSetupNamesItsInputsAndTheOutputsItSendsOn) {
    auto df = planned(kFlow);
    const auto camera = plan_node_setup(df, df.nodes[0]);
    EXPECT_EQ(camera.node_id, "camera");
    EXPECT_EQ(camera.dataflow_name, "robot");
    ASSERT_EQ(camera.outputs.size(), 1U) << "info is the daemon's (send_stdout_as)";
    EXPECT_EQ(camera.outputs[0].id, "image");
    ASSERT_EQ(camera.inputs.size(), 1U);
    EXPECT_EQ(camera.inputs[0].id, "tick");
    EXPECT_TRUE(camera.closes_outputs);
    EXPECT_FALSE(camera.resume);
    EXPECT_EQ(camera.segment, df.node_setup_template);

    auto viewer = plan_node_setup(df, df.nodes[1]);
    EXPECT_EQ(viewer.inputs.size(), 3U);
    EXPECT_FALSE(viewer.closes_outputs) << "under a restart policy the daemon closes them";
    EXPECT_FALSE(viewer.resume);
    df.nodes[1].restarts = 1;
    EXPECT_TRUE(plan_node_setup(df, df.nodes[1]).resume) << "a restarted process resumes";
}

TEST(Plan, SpawnRequestCarriesTheNodesEnvironmentAndCgroup) {
    const auto df = planned(kFlow);
    const auto spawn = plan_spawn(df, df.nodes[1], "/run/zf", "/sys/fs/cgroup/me/zeroflow-1");
    EXPECT_EQ(spawn.node, &df.descriptor.nodes[1]);
    EXPECT_EQ(spawn.working_dir, df.descriptor.working_dir);
    EXPECT_EQ(spawn.cgroup, std::filesystem::path("/sys/fs/cgroup/me/zeroflow-1") / df.uuid / "n1");
    auto env = [&](const char* name) {
        const auto it = std::find_if(spawn.extra_env.begin(), spawn.extra_env.end(),
                                     [&](const auto& kv) { return kv.first == name; });
        return it == spawn.extra_env.end() ? std::string("<none>") : it->second;
    };
    EXPECT_EQ(env(protocol::kDataflowIdEnv), df.uuid);
    EXPECT_EQ(env(protocol::kNodeIdEnv), "viewer");
    EXPECT_EQ(env(protocol::kRuntimeDirEnv), "/run/zf");
    EXPECT_EQ(env(protocol::kLogFileEnv), "/flows/out/log_viewer.txt");
    EXPECT_TRUE(plan_spawn(df, df.nodes[1], "/run/zf", "").cgroup.empty()) << "no cgroup";
}

} // namespace
} // namespace zeroflow::daemon
