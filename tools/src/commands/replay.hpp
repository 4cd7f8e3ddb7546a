// `zeroflow replay run.mcap --dataflow flow.yml`: starts flow.yml with the nodes whose outputs
// were recorded replaced by a replayer (this process, connected as those nodes), which
// publishes the recorded messages with their original timing, so downstream nodes receive
// byte-identical messages with their metadata (docs/recording.md).
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::cli {

struct ReplayOptions {
    std::string file;                ///< the MCAP recording
    std::filesystem::path dataflow;  ///< --dataflow flow.yml
    double rate = 1.0;               ///< 1: original timing; 2: twice as fast; 0: at once
    bool loop = false;               ///< start over at the end, until Ctrl-C
    std::optional<std::string> name; ///< --name of the started dataflow
    bool json = false;
};

/// 0 when everything was replayed and the dataflow stopped cleanly; 1 for an unreadable,
/// truncated or foreign recording, a dataflow without the recorded outputs, or no daemon; 2
/// for a negative rate.
int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
