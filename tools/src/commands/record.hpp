// `zeroflow record`: a running dataflow's outputs into an MCAP file through an observer tap
// (docs/recording.md). The recorder never slows the dataflow: it copies each message out of
// shared memory and hands the chunk back at once; what it cannot keep up with it drops and
// counts (its tap's drops and its own queue's).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace zeroflow::cli {

struct RecordOptions {
    std::optional<std::string> dataflow;
    std::string file;                 ///< -o
    std::vector<std::string> outputs; ///< empty: every node output
    std::string compression = "zstd";
    std::optional<double> duration_s;         ///< stop after this long (else at the end or Ctrl-C)
    std::uint64_t queue_bytes = 512ULL << 20; ///< what may wait for the disk before drops
    bool json = false;                        ///< print the summary as JSON
};

/// Records until the dataflow ends, Ctrl-C, or --duration. 0 on success; 1 for an unknown
/// dataflow or output or a file that cannot be written; 2 for a bad --compression.
int run_record(const RecordOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
