// Pure planning: from a descriptor and the dataflow's state to what the lifecycle then does (a
// layout spec, observer taps, a node's setup, a node's spawn request). No processes, no
// sockets, no clock: functions of their arguments, unit-testable on their own.
#pragma once

#include <filesystem>
#include <vector>

#include <zeroflow/runtime/wire.hpp>

#include "process.hpp"
#include "state.hpp"

namespace zeroflow::daemon {

/// The layout spec of a descriptor: node outputs first, then one output per distinct timer
/// (appended to `timers`), then one connection per input.
shm::LayoutSpec build_spec(const dataflow::Descriptor& d, const wire::Uuid& uuid,
                           std::uint64_t generation, std::vector<TimerOutput>& timers);
/// Observer taps (docs/design/shm.md, "Observers"): `taps` pseudo-nodes after the dataflow's
/// own, each with one connection from every output (while the output's fan-out leaves room).
/// They come after every real connection, so nodes' connection indices do not move. Every tap
/// connection starts dead: a sender skips it at the cost of one load until an observer attaches.
std::vector<TapState> add_taps(shm::LayoutSpec& spec, std::size_t taps);
/// How spawned node `ns` is started: its descriptor entry, working directory, ZEROFLOW_*
/// environment and cgroup (under `cgroup_base`, when not empty).
SpawnRequest plan_spawn(const DataflowState& df, const NodeState& ns,
                        const std::filesystem::path& runtime_dir,
                        const std::filesystem::path& cgroup_base);
/// A node's setup (the register / connect_dynamic reply): its inputs' connections, the outputs
/// it sends on (not its send_stdout_as one), resume for a restarted process, and whether it
/// closes its own outputs (not under a restart policy).
wire::NodeSetup plan_node_setup(const DataflowState& df, const NodeState& node);

} // namespace zeroflow::daemon
