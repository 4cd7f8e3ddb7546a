// Options of the commands that talk to the daemon (up, destroy, daemon, start, stop, list,
// logs, build, run, clean). Implemented in daemon_commands.cpp, run.cpp and clean.cpp.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace zeroflow::cli {

struct StartOptions {
    std::filesystem::path file;
    std::optional<std::string> name;
    bool attach = false;
    double start_timeout_s = 60;
};

struct StopOptions {
    std::optional<std::string> dataflow;
    double grace_s = 10;
};

struct ListOptions {
    bool json = false;
};

struct LogsOptions {
    std::string dataflow; ///< empty: the only running dataflow
    std::string node;
    bool follow = false;
};

struct BuildOptions {
    std::filesystem::path file;
};

struct RunOptions {
    std::filesystem::path file;
    std::optional<double> stop_after_s;
    std::optional<std::string> name;
    double start_timeout_s = 60;
    double grace_s = 10;
    bool quiet = false; ///< do not stream the nodes' output
    bool color = false; ///< colour the node-id prefixes of streamed lines
};

struct DaemonOptions {
    std::optional<std::filesystem::path> log_file;
    /// `--run-dataflow FILE`: start FILE at once, exit when it finishes (status: its success).
    std::optional<std::filesystem::path> run_dataflow;
    std::string machine_id;       ///< `--machine-id`: runs the nodes placed on this machine
    std::uint32_t dds_domain = 0; ///< `--dds-domain`: where its machine agent meets the others
};

struct CleanOptions {
    std::optional<std::filesystem::path> file; ///< only the logs beside this dataflow file
};

/// `zeroflow up [--machine-id ID [--dds-domain N]]`: starts `zeroflow daemon` in the background.
int run_up(std::ostream& out, std::ostream& err, const std::string& machine_id = {},
           std::uint32_t dds_domain = 0);
int run_destroy(double grace_s, std::ostream& out, std::ostream& err);
int run_daemon_foreground(const DaemonOptions& options, std::ostream& out, std::ostream& err);
int run_start(const StartOptions& options, std::ostream& out, std::ostream& err);
int run_stop(const StopOptions& options, std::ostream& out, std::ostream& err);
int run_list(const ListOptions& options, std::ostream& out, std::ostream& err);
int run_logs(const LogsOptions& options, std::ostream& out, std::ostream& err);
int run_build(const BuildOptions& options, std::ostream& out, std::ostream& err);
int run_run(const RunOptions& options, std::ostream& out, std::ostream& err);
int run_clean(const CleanOptions& options, std::ostream& out, std::ostream& err);

} // namespace zeroflow::cli
