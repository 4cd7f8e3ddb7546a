// zeroflowd as a library: the control server, the supervisor of dataflows and nodes, spawning,
// timers. `zeroflowd` and `zeroflow run` (which embeds one) both use this.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/environment.hpp>

namespace zeroflow::daemon {

/// What one daemon takes on (docs/errors.md, `resource_limit`). A request over a limit is
/// refused with error kind `resource_limit`, naming the limit (these field names) and its value.
/// zeroflowd sets each with `--<name with dashes> N`.
struct Limits {
    std::uint64_t max_segment_bytes = 0;           ///< one dataflow's segment; 0: 16 x RAM
    std::uint64_t max_total_segment_bytes = 0;     ///< all live segments; 0: 64 x RAM
    std::size_t max_dataflows = 64;                ///< live (starting, running, stopping) dataflows
    std::size_t max_nodes = 256;                   ///< nodes of one dataflow
    std::size_t max_inputs = 4096;                 ///< connections (inputs) of one dataflow
    std::size_t max_timers = 64;                   ///< distinct timers of one dataflow
    std::size_t max_dynamic_connections = 256;     ///< dynamic nodes connected at once
    std::size_t max_connections = 1024;            ///< control connections at once
    std::uint64_t max_descriptor_bytes = 1U << 20; ///< dataflow file size
    std::uint64_t max_yaml_nodes = 200'000;        ///< YAML nodes after alias expansion
    /// Observer taps reserved per output (docs/design/shm.md, "Observers"): how many `topic`,
    /// `record` observers may watch one output at once. Each costs a sender one load per send.
    std::size_t taps_per_output = 2;
    /// Fills the 0 (machine-derived) fields from this machine.
    Limits resolved() const noexcept;
};

/// How many runs' logs (out/<uuid>/ beside a dataflow file) a daemon keeps: the newest N, live
/// ones included; 0 keeps every one. Default 10.
inline constexpr const char* kKeepRunsEnv = protocol::kKeepRunsEnv;
inline constexpr std::size_t kDefaultKeepRuns = 10;

/// ZEROFLOW_KEEP_RUNS when it is a number, else kDefaultKeepRuns.
std::size_t keep_runs_from_env() noexcept;

struct Options {
    std::filesystem::path runtime_dir; ///< socket, lock, leftovers live here
    std::size_t max_frame = protocol::kDefaultMaxFrameSize;
    std::chrono::milliseconds shutdown_grace{2000}; ///< for dataflows still running at exit
    Limits limits;
    std::size_t keep_runs = keep_runs_from_env(); ///< run folders kept per out/ (0: all)
    /// `--machine-id`: this daemon runs the nodes a dataflow places on this machine (`deploy:
    /// {machine: ...}`) beside those placed nowhere; empty: only those placed nowhere.
    std::string machine_id;
};

/// A running daemon. create() takes the runtime directory's lock, removes what a dead daemon
/// left there and binds the socket: the only failures that stop a daemon (besides its own
/// broken invariants). Everything a request does wrong is answered, never fatal.
class Daemon {
public:
    static std::expected<std::unique_ptr<Daemon>, std::string> create(const Options& options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Serves until a `destroy` request or request_shutdown(); stops every dataflow first.
    /// Returns the process exit status to use (0).
    int run();

    /// Asks run() to stop dataflows and return. Thread-safe and async-signal-safe.
    void request_shutdown() noexcept;

    const std::filesystem::path& socket_path() const noexcept;

    struct Impl;

private:
    explicit Daemon(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// True when stderr is the systemd journal stream (JOURNAL_STREAM names its device and inode).
bool stderr_is_journal();

/// Sets up the daemon's logger ("daemon"): to `file` when given, else to the systemd journal
/// when stderr is the journal stream (built with libsystemd), else to stderr. ZEROFLOW_LOG
/// (trace, debug, info, warn, error) overrides `default_level`. Throws if the file cannot be
/// opened (an edge: callers turn it into a message).
void setup_logging(const std::optional<std::filesystem::path>& file,
                   std::string_view default_level);

} // namespace zeroflow::daemon
