// Pure planning (plan.hpp): a dataflow's layout spec and taps from its descriptor, each node's
// setup and spawn request from the dataflow's state. No processes, no sockets, no clock.
#include "plan.hpp"

#include <map>

#include <zeroflow/protocol/environment.hpp>

namespace zeroflow::daemon {
namespace {

/// Queue of an observer tap: drop-oldest like every queue, so a slow observer loses its own
/// oldest messages and nobody else's (docs/design/shm.md, Observers).
constexpr std::uint32_t kTapQueueSize = 64;

} // namespace

shm::LayoutSpec build_spec(const dataflow::Descriptor& d, const wire::Uuid& uuid,
                           std::uint64_t generation, std::vector<TimerOutput>& timers) {
    shm::LayoutSpec spec;
    spec.uuid = uuid;
    spec.generation = generation;
    spec.node_count = static_cast<std::uint32_t>(d.nodes.size());
    std::map<std::string, std::uint32_t> output_index;
    for (std::uint32_t n = 0; n < d.nodes.size(); ++n) {
        for (const auto& out : d.nodes[n].outputs) {
            const dataflow::OutputRef ref{d.nodes[n].id, out};
            const auto cfg = d.shm_for(ref);
            output_index[ref.to_string()] = static_cast<std::uint32_t>(spec.outputs.size());
            spec.outputs.push_back(shm::OutputSpec{n, ref.to_string(), cfg.max_message_size,
                                                   cfg.chunks.value_or(0), cfg.max_metadata_size});
        }
    }
    for (std::uint32_t n = 0; n < d.nodes.size(); ++n) {
        for (const auto& in : d.nodes[n].inputs) {
            std::uint32_t out = 0;
            if (const auto* timer = std::get_if<dataflow::Timer>(&in.source)) {
                const auto key = "timer:" + std::to_string(timer->period.count());
                auto it = output_index.find(key);
                if (it == output_index.end()) {
                    it = output_index.emplace(key, static_cast<std::uint32_t>(spec.outputs.size()))
                             .first;
                    timers.push_back(TimerOutput{it->second, timer->period});
                    spec.outputs.push_back(
                        shm::OutputSpec{shm::kDaemonOwner, timer->spec, 64, 0, 0});
                }
                out = it->second;
            } else {
                out = output_index.at(std::get<dataflow::OutputRef>(in.source).to_string());
            }
            spec.connections.push_back(shm::ConnectionSpec{out, n, in.queue_size, in.id});
        }
    }
    return spec;
}

std::vector<TapState> add_taps(shm::LayoutSpec& spec, std::size_t taps) {
    std::vector<TapState> out;
    std::vector<std::uint32_t> fan_out(spec.outputs.size(), 0);
    for (const auto& c : spec.connections) {
        ++fan_out[c.output];
    }
    for (std::size_t t = 0; t < taps; ++t) {
        TapState tap;
        tap.node = spec.node_count++;
        for (std::uint32_t o = 0; o < spec.outputs.size(); ++o) {
            if (fan_out[o] >= shm::kMaxFanOut) {
                continue;
            }
            ++fan_out[o];
            tap.of[o] = static_cast<std::uint32_t>(spec.connections.size());
            spec.connections.push_back(
                shm::ConnectionSpec{o, tap.node, kTapQueueSize, "tap" + std::to_string(t)});
        }
        out.push_back(std::move(tap));
    }
    return out;
}

SpawnRequest plan_spawn(const DataflowState& df, const NodeState& ns,
                        const std::filesystem::path& runtime_dir,
                        const std::filesystem::path& cgroup_base) {
    SpawnRequest spawn;
    spawn.node = &df.descriptor.nodes[ns.index];
    spawn.working_dir = spawn.node->working_dir.value_or(df.descriptor.working_dir);
    spawn.extra_env = {{protocol::kDataflowIdEnv, df.uuid},
                       {protocol::kNodeIdEnv, ns.id},
                       {protocol::kRuntimeDirEnv, runtime_dir.string()},
                       {protocol::kLogFileEnv, ns.log_file.string()}};
    if (!cgroup_base.empty()) {
        spawn.cgroup = cgroup_base / df.uuid / ("n" + std::to_string(ns.index));
    }
    return spawn;
}

wire::NodeSetup plan_node_setup(const DataflowState& df, const NodeState& node) {
    const auto& dn = df.descriptor.nodes[node.index];
    wire::NodeSetup setup;
    setup.dataflow_id = df.uuid;
    setup.dataflow_name = df.name;
    setup.node_id = node.id;
    setup.node_index = node.index;
    setup.segment = df.node_setup_template;
    for (std::uint32_t c = 0; c < df.spec.connections.size(); ++c) {
        const auto& cs = df.spec.connections[c];
        if (cs.receiver == node.index) {
            setup.inputs.push_back({cs.input, c});
        }
    }
    for (std::uint32_t o = 0; o < df.spec.outputs.size(); ++o) {
        const auto& full = df.spec.outputs[o].name;
        // Its `send_stdout_as` output is the daemon's to send on, not the node's.
        if (df.spec.outputs[o].owner == node.index &&
            (!dn.send_stdout_as || full != dn.id + "/" + *dn.send_stdout_as)) {
            setup.outputs.push_back({full.substr(dn.id.size() + 1), o});
        }
    }
    setup.busy_poll_us = dn.busy_poll_us.value_or(0);
    // A restarted process resumes its inputs' queues (docs/dataflow.md, restarts).
    setup.resume = !node.dynamic && node.restarts > 0;
    // A node that may be restarted leaves closing its outputs to the daemon, which closes them
    // only once its exit is final (no InputClosed downstream before).
    setup.closes_outputs = dn.restart.policy == dataflow::RestartPolicy::never;
    return setup;
}

} // namespace zeroflow::daemon
