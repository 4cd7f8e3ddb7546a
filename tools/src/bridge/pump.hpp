// zeroflow-bridge's pump nodes (spawned by the daemon as nodes of a machine's part): between
// the local segment and DDS (docs/design/machines.md).
#pragma once

#include <ostream>

namespace zeroflow::bridge {

/// How long a publish pump busy-polls before it blocks, in µs (the bridge's environment, passed
/// on to its pumps; docs/design/machines.md#busy-polling-publish-pumps-opt-in).
inline constexpr const char* kSpinEnv = "ZEROFLOW_BRIDGE_SPIN_US";

/// How the machine's outputs read elsewhere reach DDS: "direct" (the default: each sending
/// node writes them itself, through libzeroflow-dds-writer.so) or "pump" (the publish pump
/// receives them and writes each message; docs/design/machines.md#direct-publishing).
inline constexpr const char* kPublishEnv = "ZEROFLOW_BRIDGE_PUBLISH";
/// The plugin's file: beside zeroflow-bridge in the build tree, in <libdir>/zeroflow installed.
inline constexpr const char* kRemoteWriterFile = "libzeroflow-dds-writer.so";

/// `zeroflow-bridge --pump publish|subscribe ...`, as the part's YAML runs it. Exit status.
int run_pump(int argc, char** argv, std::ostream& err);

} // namespace zeroflow::bridge
