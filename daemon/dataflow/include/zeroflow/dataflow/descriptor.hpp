// The typed model of a dataflow descriptor (a dora-compatible YAML file) and its parser.
// Shared by the daemon (to start dataflows) and the CLI (`zeroflow check`, `zeroflow graph`).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::dataflow {

/// A position in a dataflow file, 1-based; line and column are 0 when there is no position
/// (e.g. the file could not be read).
struct Location {
    std::string file; ///< the path as the caller gave it, for messages
    int line = 0;
    int column = 0;
};

enum class Severity { error, warning };

/// One compiler-style message about a dataflow file.
struct Diagnostic {
    Severity severity = Severity::error;
    Location where;
    std::string message;

    /// "file:line:col: error: message" (or "file: error: message" without a position).
    std::string to_string() const;
};

/// The source of an input that is another node's output: "node/output".
struct OutputRef {
    std::string node;
    std::string output;

    std::string to_string() const { return node + "/" + output; }
    friend bool operator==(const OutputRef&, const OutputRef&) = default;
};

/// A timer source produced by the daemon, e.g. "zeroflow/timer/millis/100".
struct Timer {
    std::chrono::nanoseconds period{0}; ///< always >= 1 µs
    std::string spec;                   ///< the text as written in the file
};

// The data path's limits are shm's (it enforces them on every layout); the descriptor checks
// them first, with the file's line and column, under the same names.
inline constexpr std::uint32_t kDefaultQueueSize = 10;
inline constexpr std::uint32_t kMaxQueueSize = shm::kMaxQueueSize;
/// The data path's fan-out limit: how many inputs one output may feed.
inline constexpr std::size_t kMaxFanOut = shm::kMaxFanOut;
inline constexpr std::uint32_t kMaxBusyPollUs = 1'000'000;
inline constexpr std::uint64_t kDefaultMaxMessageSize = shm::kDefaultMaxMessageSize;
inline constexpr std::uint64_t kMaxMessageSizeLimit = shm::kMaxMessageSizeLimit;
inline constexpr std::uint32_t kMinChunks = 2;
inline constexpr std::uint64_t kDefaultMaxLogSize = 64ull << 20; ///< per node log file
inline constexpr std::uint64_t kMinLogSize = 4096;
inline constexpr std::uint64_t kDefaultMaxDescriptorBytes = 1ull << 20;
inline constexpr std::uint64_t kDefaultMaxYamlNodes = 200'000;
inline constexpr std::uint32_t kMaxChunks = 65536;
inline constexpr std::uint32_t kDefaultMaxMetadataSize = shm::kDefaultMaxMetadataSize;
inline constexpr std::uint32_t kMaxMetadataSizeLimit = shm::kMaxMetadataSizeLimit;

/// dora 1.0's `restart_policy`: when the daemon starts a node again after its process ended.
enum class RestartPolicy : std::uint8_t {
    never,      ///< default: an exit is final
    on_failure, ///< `on-failure`: after a non-zero exit or a signal
    always,     ///< `always`: after any exit, 0 included
};

/// Backoff cap when `max_restart_delay` is not given: `restart_delay` doubles per restart in
/// the window up to this.
inline constexpr std::chrono::milliseconds kDefaultMaxRestartDelay{30'000};

/// A node's restart settings (dora 1.0's keys; durations are seconds, or a number with a unit).
struct Restart {
    RestartPolicy policy = RestartPolicy::never;
    std::uint32_t max_restarts = 0; ///< restarts allowed within the window; 0 = unlimited
    /// Restarts are counted from the first one in the window; after it the count starts again.
    /// Empty: the whole run is one window.
    std::optional<std::chrono::milliseconds> window;
    std::chrono::milliseconds delay{0}; ///< before the first restart of a window, then doubling
    std::chrono::milliseconds max_delay = kDefaultMaxRestartDelay;
};

struct Input {
    std::string id;
    std::variant<OutputRef, Timer> source;
    std::uint32_t queue_size = kDefaultQueueSize;
    Location where; ///< the source value in the file

    bool is_timer() const { return std::holds_alternative<Timer>(source); }
};

struct Node {
    std::string id, name, description;
    bool dynamic = false; ///< `path: dynamic`: started by the user, not spawned
    /// `path: shell` (dora's): executable is /bin/sh and args are {"-c", the `args` string}.
    bool shell = false;
    std::filesystem::path executable; ///< absolute, resolved; empty when dynamic
    std::vector<std::string> args;    ///< already split (a string is split like a shell)
    std::vector<std::pair<std::string, std::string>> env; ///< in file order
    std::optional<std::string> build;                     ///< a shell command to build the node
    std::vector<Input> inputs;                            ///< in file order
    std::vector<std::string> outputs;                     ///< in file order, unique
    std::vector<int> cpu_affinity;                        ///< empty = not pinned
    std::optional<std::uint32_t> busy_poll_us;
    /// dora 1.0's `output_types` / `input_types`: id -> type name, kept as written (not
    /// enforced yet; `check` warns).
    std::vector<std::pair<std::string, std::string>> output_types;
    std::vector<std::pair<std::string, std::string>> input_types;
    /// `max_log_size` (dora 1.0's key): the node's log file is rotated (one old file kept,
    /// `log_<id>.txt.1`) when it would grow past this; empty = kDefaultMaxLogSize.
    std::optional<std::uint64_t> max_log_size;
    Restart restart; ///< `restart_policy`, `max_restarts`, `restart_window`, `restart_delay`
    /// `send_stdout_as` (dora's): the output (also in `outputs`) on which the daemon sends each
    /// line the node writes to stdout or stderr, as a UTF-8 message; the node cannot send on it.
    std::optional<std::string> send_stdout_as;
    /// `deploy: {machine: M}` (dora 1.0) or `_unstable_deploy:` (dora 0.3), else the top-level
    /// default; empty = where the dataflow is started.
    std::optional<std::string> machine;
    /// `deploy: {working_dir: DIR}` (dora's), absolute (a relative DIR is the file's folder's):
    /// the node runs there, its relative `path` and its `build` resolve there; empty = the
    /// file's folder. A node that also names a machine is checked on that machine only.
    std::optional<std::filesystem::path> working_dir;
    Location where; ///< the node's first key

    const Input* find_input(std::string_view input_id) const;
    bool has_output(std::string_view output_id) const;
};

/// Shared-memory sizing of one output (zeroflow extension `shm:`).
struct OutputShm {
    std::uint64_t max_message_size = kDefaultMaxMessageSize;
    std::optional<std::uint32_t> chunks; ///< per size class; empty = the runtime decides
    /// Bytes of parameters one message may carry (shape and encoding have room of their own).
    std::uint32_t max_metadata_size = kDefaultMaxMetadataSize;
};

/// A validated dataflow: every input refers to an existing output or is a valid timer.
struct Descriptor {
    std::filesystem::path file;           ///< absolute path of the YAML file
    std::filesystem::path working_dir;    ///< its folder
    std::vector<Node> nodes;              ///< in file order, ids unique
    std::map<std::string, OutputShm> shm; ///< key "node/output"; outputs not listed use defaults
    /// The top-level `deploy:` / `_unstable_deploy:` machine (already applied to the nodes).
    std::optional<std::string> default_machine;

    const Node* find_node(std::string_view id) const;
    /// The shm settings of an output (the defaults when `shm:` does not list it).
    OutputShm shm_for(const OutputRef& output) const;
    /// Number of inputs fed by a timer.
    std::size_t timer_count() const;
    /// Number of inputs fed by another node's output.
    std::size_t connection_count() const;
    /// The machines the nodes name, sorted, each once (empty: a single-machine dataflow).
    std::vector<std::string> machines() const;
    /// What is missing on this machine for the nodes with a `working_dir`, which parsing a
    /// file that places nodes on machines does not check (their folder may be on their machine
    /// only): one line per node, its folder or its executable there; empty when all is here.
    /// For a daemon that runs such a file itself.
    std::string missing_working_dirs() const;
};

/// Bounds on what reading a dataflow may cost (the daemon's `--max-descriptor-bytes` and
/// `--max-yaml-nodes`): a file larger than max_file_bytes is not read, and a document whose
/// aliases expand to more than max_yaml_nodes nodes is refused before it is walked.
struct ParseLimits {
    std::uint64_t max_file_bytes = kDefaultMaxDescriptorBytes;
    std::uint64_t max_yaml_nodes = kDefaultMaxYamlNodes;
};

/// The limit a refused dataflow hit (its daemon option name and value).
struct LimitHit {
    std::string name; ///< "max_descriptor_bytes" or "max_yaml_nodes"
    std::uint64_t value = 0;
};

struct ParseResult {
    std::optional<Descriptor> descriptor; ///< set iff there is no error
    std::vector<Diagnostic> diagnostics;  ///< errors and warnings, in file order
    std::optional<LimitHit> limit;        ///< set when a ParseLimits bound refused it
    bool out_of_memory = false;           ///< parsing ran out of memory (std::bad_alloc)

    bool ok() const { return descriptor.has_value(); }
    std::size_t error_count() const;
    std::size_t warning_count() const;
    /// All diagnostics, one per line (each line ends with '\n').
    std::string format() const;
};

/// Reads and validates a dataflow file. Only regular files are read (a FIFO, a device such as
/// /dev/zero or a directory is refused at once, without reading), and only up to
/// limits.max_file_bytes. A missing or unreadable file gives one error diagnostic. Messages
/// name the file as given; Descriptor::file is made absolute.
ParseResult parse_file(const std::filesystem::path& file, const ParseLimits& limits = {}) noexcept;

/// Validates YAML text as if it were the file `file_for_messages` (relative paths in the
/// dataflow are resolved against its folder). Never throws, whatever the input.
ParseResult parse_string(std::string_view yaml, const std::filesystem::path& file_for_messages,
                         const ParseLimits& limits = {}) noexcept;

/// Parses a size: an integer number of bytes, or an integer with a suffix B, KiB, MiB or GiB
/// (spaces allowed before the suffix), e.g. "16MiB", "512 KiB". Empty on bad syntax or when
/// the value does not fit 64 bits. No range check beyond that.
std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

} // namespace zeroflow::dataflow
