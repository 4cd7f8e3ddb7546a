// zeroflow-bridge: runs one machine's part of a dataflow that spans machines, and carries the
// messages that cross machines over Cyclone DDS (docs/design/machines.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::bridge {

struct Options {
    std::filesystem::path dataflow; ///< the whole dataflow (every machine's nodes)
    std::string machine;            ///< this machine's id
    std::uint32_t dds_domain = 0;
    std::optional<std::string> name; ///< the dataflow's name on every machine (default: file stem)
    double peer_timeout_s = 10;      ///< how long the other machines' bridges may take to appear
};

/// Starts this machine's part on the local daemon once every other machine of the dataflow
/// is present on DDS, bridges until the part ends or SIGINT/SIGTERM (or a `stop` from another
/// machine), then stops the part. Returns the process exit status.
int run_bridge(const Options& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::bridge
