// zeroflow-bridge: runs one machine's part of a dataflow that spans machines, and carries the
// messages that cross machines over Cyclone DDS (docs/design/machines.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include <sys/types.h>

namespace zeroflow::bridge {

struct Options {
    std::filesystem::path dataflow; ///< the whole dataflow (every machine's nodes)
    std::string machine;            ///< this machine's id
    std::uint32_t dds_domain = 0;
    std::optional<std::string> name; ///< the dataflow's name on every machine (default: file stem)
    double peer_timeout_s = 10;      ///< how long the other machines' bridges may take to appear
    /// How long this machine's part may take to start (its nodes to register: the daemon's
    /// start_timeout_s); the other machines' parts get as long, plus peer_timeout_s.
    double start_timeout_s = 60;
    /// Where the nodes that name no machine run (the machine the dataflow was started on, as
    /// the machine agent says); nullopt: every node must name one.
    std::optional<std::string> default_machine;
    /// When >= 0: one JSON line is written there once the whole dataflow runs ({"uuid": ...,
    /// "name": ...}) or the start failed ({"error": ...}), and the descriptor is closed.
    int report_fd = -1;
    /// Which start of the dataflow this is (the machine agents pass their StartRequest id):
    /// the control states of another run of the same name are not this one's.
    std::string run;
};

struct AgentOptions {
    std::string machine; ///< this machine's id (its daemon's --machine-id)
    std::uint32_t dds_domain = 0;
    pid_t parent = 0; ///< the daemon's pid: the agent ends when it does
};

/// The machine agent (`zeroflow-bridge --agent`, run by `zeroflow daemon --machine-id`): takes
/// the daemon's starts across machines (a bridge for this machine's part, and a StartRequest
/// on DDS for the others) and runs a bridge for this machine's part of every start another
/// machine's agent announces. Returns when the daemon ends or at SIGINT/SIGTERM.
int run_agent(const AgentOptions& options, std::ostream& err);

/// Starts this machine's part on the local daemon once every other machine of the dataflow
/// is present on DDS, bridges until the part ends or SIGINT/SIGTERM (or a `stop` from another
/// machine), then stops the part. Returns the process exit status.
int run_bridge(const Options& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::bridge
