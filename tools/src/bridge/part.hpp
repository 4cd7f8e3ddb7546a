// One machine's part of a dataflow that places nodes on machines (`deploy: {machine: M}`):
// the nodes of that machine; for each remote node whose outputs local nodes read, a stand-in
// node of that id (zeroflow-bridge --pump subscribe: DDS into the local segment); and, when
// local outputs are read elsewhere, one bridge node reading them (--pump publish: the local
// segment onto DDS). The pumps are ordinary spawned nodes, so the start barrier waits for them
// and nothing a local sender sends before they run is lost (docs/design/machines.md).
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include <zeroflow/dataflow/descriptor.hpp>

namespace zeroflow::bridge {

/// A local output that nodes on other machines read: published once on DDS.
struct Outbound {
    dataflow::OutputRef output;
    std::string input_id;              ///< the bridge node's input fed by it
    std::uint32_t depth = 1;           ///< the largest queue_size of its remote inputs
    std::vector<std::string> machines; ///< the machines that read it, sorted
};

/// A remote output that local nodes read: taken from DDS, sent by the stand-in node.
struct Inbound {
    dataflow::OutputRef output;
    std::string machine;     ///< where its node runs
    std::uint32_t depth = 1; ///< the largest queue_size of its local inputs
};

/// How the part's pump nodes are run: this executable, the arguments every pump gets
/// (--dds-domain, --name), and environment for them (CYCLONEDDS_URI).
struct PumpCommand {
    std::filesystem::path executable;
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;
    /// Direct publishing (the default): the DDS writer plugin that sending nodes load, and
    /// "DOMAIN;FLOW" for their ZEROFLOW_DDS_OUTPUTS. Empty (ZEROFLOW_BRIDGE_PUBLISH=pump): the
    /// publish pump writes every message.
    std::filesystem::path direct_writer;
    std::string domain_and_flow;
};

struct MachinePart {
    std::string yaml; ///< the part as a dataflow file (relative paths as in the original)
    /// A machine that hosts no node of the dataflow but where it was started: its part is one
    /// node (zeroflow-bridge --pump hold) that waits for Stop, so that the dataflow has a UUID,
    /// a `list` entry and a stop here like any other part.
    bool watching = false;
    std::string bridge_node; ///< id of the bridge node; empty when nothing leaves this machine
    std::vector<std::string> stand_ins; ///< ids of the remote nodes stood in for
    std::vector<Outbound> outbound;
    std::vector<Inbound> inbound;
};

/// Places every node that names no machine on `machine` (where the dataflow was started).
void place_unplaced_nodes(dataflow::Descriptor& descriptor, const std::string& machine);

/// A dataflow name usable in DDS topic names: letters, digits, '_' and '-'.
bool is_valid_dataflow_name(const std::string& name);

/// The part of `descriptor` (parsed from `file`) for `machine`. Errors: a node that names no
/// machine (give it `deploy:` or a top-level default), or no node placed on `machine` (unless
/// `may_watch`: the dataflow was started there, and the part is a watching one).
std::expected<MachinePart, std::string>
machine_part(const dataflow::Descriptor& descriptor, const std::filesystem::path& file,
             const std::string& machine, const PumpCommand& pump, bool may_watch = false);

} // namespace zeroflow::bridge
