// Turns YAML text into a validated Descriptor, collecting every problem as a Diagnostic.
// yaml-cpp throws; everything is caught in parse_string, the one boundary.
#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>
#include <new>
#include <set>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <zeroflow/dataflow/descriptor.hpp>

#include "text.hpp"

namespace zeroflow::dataflow {

namespace {

namespace fs = std::filesystem;

constexpr std::array kTopLevelKeys{"nodes", "communication",    "_unstable_debug", "shm",
                                   "env",   "_unstable_deploy", "deploy"};
// Keys of a `deploy:` / `_unstable_deploy:` map; dora's others are refused by name.
constexpr std::array kDeployKeys{"machine", "working_dir"};
constexpr std::array kDeployUnsupported{"labels", "distribute"};
// dora 1.0's top-level keys that only tune checks or intervals zeroflow does not have: a
// warning says they are not supported yet and have no effect.
constexpr std::array kTopLevelIgnored{"debug", "health_check_interval", "strict_types",
                                      "type_rules"};
constexpr std::array kNodeKeys{"id",
                               "name",
                               "description",
                               "path",
                               "args",
                               "env",
                               "build",
                               "inputs",
                               "outputs",
                               "cpu_affinity",
                               "busy_poll_us",
                               "max_log_size",
                               "output_types",
                               "input_types",
                               "send_stdout_as",
                               "restart_policy",
                               "max_restarts",
                               "restart_window",
                               "restart_delay",
                               "max_restart_delay",
                               "_unstable_deploy",
                               "deploy"};
constexpr std::array kNodeUnsupported{
    "operators", "operator", "custom", "git", "branch", "tag", "rev", "send_logs_as",
    // dora 1.0 and its main line:
    "min_log_level", "max_rotated_files", "path_sha256", "hub", "ros2", "module", "params",
    "output_framing", "output_metadata", "pattern", "shared_memory_pool_size",
    "health_check_timeout", "finish_grace_secs"};
constexpr std::array kInputKeys{"source", "queue_size"};
constexpr std::array kInputUnsupported{"input_timeout", "queue_policy"};

/// Why a dora node key is not supported yet, where a few words help; "" otherwise.
std::string unsupported_reason(std::string_view key) {
    if (key == "operators" || key == "operator") {
        return " (operators run inside dora's runtime node; make the operator a node)";
    }
    if (key == "custom") {
        return " (dora's deprecated form: put its path, args and env on the node itself)";
    }
    if (key == "git" || key == "branch" || key == "tag" || key == "rev" || key == "hub" ||
        key == "path_sha256") {
        return " (fetch and build the node yourself and give its 'path')";
    }
    if (key == "send_logs_as" || key == "min_log_level") {
        return " (dora's structured logs; 'send_stdout_as' sends every output line)";
    }
    if (key == "module" || key == "params") {
        return " (dora's modules: write the module's nodes into the dataflow)";
    }
    if (key == "ros2") {
        return " (ROS 2 bridge nodes)";
    }
    return {};
}
constexpr std::array kShmKeys{"max_message_size", "chunks", "max_metadata_size"};

template <std::size_t N>
bool contains(const std::array<const char*, N>& keys, std::string_view key) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
}

template <std::size_t N>
std::vector<std::string> to_strings(const std::array<const char*, N>& keys) {
    return {keys.begin(), keys.end()};
}

std::string quote(std::string_view text) {
    return "'" + std::string(text) + "'";
}

/// A diagnostic's message on one line, whatever the file held: control bytes (a newline in a
/// quoted id, say) become escapes, so a dataflow file cannot forge lines in CLI output or in
/// the daemon's log. Bytes of 0x80 and above are left alone (UTF-8 text).
std::string printable(std::string message) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(message.size());
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 15]);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

/// A node's program: an executable file, or a readable `.py` file (run with python3 -u, so it
/// needs no executable bit, as in dora).
bool is_executable_file(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return false;
    }
    return ::access(path.c_str(), path.extension() == ".py" ? R_OK : X_OK) == 0;
}

int cpu_count() {
    const long count = ::sysconf(_SC_NPROCESSORS_CONF);
    return count > 0 && count < INT_MAX ? static_cast<int>(count) : 1;
}

// What the cross-node checks need to know beyond the model itself.
struct NodeDraft {
    Node node;
    bool has_id = false;
    bool has_unsupported = false; ///< e.g. dora operators: its outputs are not known
    YAML::Mark id_mark;
    /// A node with a `working_dir`: its path (expanded) and where, checked once its machine
    /// is known (not at all when it names one: the machine that runs it checks its part).
    std::optional<std::pair<std::string, YAML::Mark>> deferred_path;
    std::optional<YAML::Mark> working_dir_mark;
    std::vector<YAML::Mark> output_marks; // parallel to node.outputs
};

struct ShmDraft {
    std::string key;
    YAML::Mark mark;
    OutputShm settings;
};

class Parser {
public:
    Parser(std::string file_for_messages, fs::path working_dir)
        : file_(std::move(file_for_messages)), working_dir_(std::move(working_dir)) {}

    /// Parses `yaml`; false (and nothing walked) when its aliases expand past `max_nodes`.
    bool parse(const std::string& yaml, std::uint64_t max_nodes) {
        const YAML::Node root = YAML::Load(yaml);
        // yaml-cpp shares an anchored node between its aliases, so a small file can describe a
        // huge document (a "billion laughs"): count what walking it would visit, and stop at
        // the budget before the walk builds anything of it.
        std::uint64_t budget = max_nodes;
        if (!within_budget(root, budget)) {
            return false;
        }
        parse_root(root);
        return true;
    }

    // Iterative (an alias cycle such as `&a [*a]` must not recurse without end): every node
    // visited costs one unit, children are pushed only while the budget lasts.
    static bool within_budget(const YAML::Node& root, std::uint64_t& budget) {
        std::vector<YAML::Node> pending{root};
        while (!pending.empty()) {
            if (budget == 0) {
                return false;
            }
            --budget;
            const YAML::Node node = std::move(pending.back());
            pending.pop_back();
            if (node.IsMap()) {
                for (const auto& entry : node) {
                    if (pending.size() + 2 > budget) {
                        return false;
                    }
                    pending.push_back(entry.first);
                    pending.push_back(entry.second);
                }
            } else if (node.IsSequence()) {
                for (const auto& item : node) {
                    if (pending.size() + 1 > budget) {
                        return false;
                    }
                    pending.push_back(item);
                }
            }
        }
        return true;
    }

    void parse_root(const YAML::Node& root) {
        if (!root.IsDefined() || root.IsNull()) {
            error_at(1, 1, "the dataflow file is empty: expected a map with a 'nodes' list");
            return;
        }
        if (!root.IsMap()) {
            error(root.Mark(), "expected a map with a 'nodes' list at the top level");
            return;
        }
        bool has_nodes = false;
        std::set<std::string> seen;
        for (const auto& entry : root) {
            const auto key = key_of(entry.first, seen);
            if (!key) {
                continue;
            }
            const YAML::Node& value = entry.second;
            if (*key == "nodes") {
                has_nodes = true;
                parse_nodes(entry.first, value);
            } else if (*key == "shm") {
                parse_shm(value);
            } else if (*key == "communication" || *key == "_unstable_debug") {
                warning(entry.first.Mark(),
                        "'" + *key +
                            "' is accepted for dora compatibility but has no effect in "
                            "zeroflow");
            } else if (*key == "env") {
                parse_global_env(value);
            } else if (contains(kTopLevelIgnored, *key)) {
                warning(entry.first.Mark(), "'" + *key +
                                                "' (dora 1.0) is not supported yet by zeroflow: "
                                                "it is ignored");
            } else if (*key == "module") {
                error(entry.first.Mark(), "'module' (a dora module's definition) is not "
                                          "supported yet by zeroflow: write the module's nodes "
                                          "into the dataflow");
            } else if (*key == "exit_when_nodes_finish") {
                error(entry.first.Mark(), "'exit_when_nodes_finish' is not supported yet by "
                                          "zeroflow (a dataflow finishes when all its spawned "
                                          "nodes have exited)");
            } else if (*key == "_unstable_deploy" || *key == "deploy") {
                if (seen.contains("_unstable_deploy") && seen.contains("deploy")) {
                    error(entry.first.Mark(), "give either 'deploy' or '_unstable_deploy' at the "
                                              "top level, not both");
                } else {
                    const auto deploy = parse_deploy(value, "'" + *key + "' at the top level");
                    default_machine_ = deploy.machine;
                    if (deploy.working_dir) {
                        error(deploy.working_dir->second,
                              "'working_dir' in '" + *key +
                                  "' at the top level is not supported: give it per node "
                                  "(deploy: {machine: NAME, working_dir: DIR})");
                    }
                }
            } else {
                error(entry.first.Mark(),
                      "unknown key " + quote(*key) + " at the top level" +
                          detail::did_you_mean(*key, to_strings(kTopLevelKeys)));
            }
        }
        if (!has_nodes) {
            error(root.Mark(), seen.contains("id") && seen.contains("path")
                                   ? "missing 'nodes': this looks like one node's definition "
                                     "(for dora's `node add`), not a dataflow"
                                   : "missing 'nodes': a dataflow needs a list of nodes");
        }
        apply_global_env();
        apply_default_machine();
        resolve_deferred_paths();
        check_graph();
    }

    std::vector<Diagnostic> take_diagnostics() {
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                         [](const Diagnostic& a, const Diagnostic& b) {
                             return std::pair(a.where.line, a.where.column) <
                                    std::pair(b.where.line, b.where.column);
                         });
        return std::move(diagnostics_);
    }

    bool has_errors() const {
        return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                           [](const Diagnostic& d) { return d.severity == Severity::error; });
    }

    Descriptor take_descriptor(fs::path file) {
        Descriptor descriptor;
        descriptor.file = std::move(file);
        descriptor.working_dir = working_dir_;
        descriptor.default_machine = default_machine_;
        for (auto& draft : nodes_) {
            descriptor.nodes.push_back(std::move(draft.node));
        }
        for (auto& shm : shm_) {
            descriptor.shm.emplace(shm.key, shm.settings);
        }
        return descriptor;
    }

    void error(const YAML::Mark& mark, std::string message) {
        report(Severity::error, mark, std::move(message));
    }
    void error_at(int line, int column, std::string message) {
        diagnostics_.push_back(
            {Severity::error, {file_, line, column}, printable(std::move(message))});
    }

private:
    Location location(const YAML::Mark& mark) const {
        if (mark.is_null() || mark.line < 0 || mark.column < 0) {
            return {file_, 0, 0};
        }
        return {file_, mark.line + 1, mark.column + 1};
    }

    void report(Severity severity, const YAML::Mark& mark, std::string message) {
        diagnostics_.push_back({severity, location(mark), printable(std::move(message))});
    }
    void warning(const YAML::Mark& mark, std::string message) {
        report(Severity::warning, mark, std::move(message));
    }

    // The text of a map key; reports non-string and repeated keys.
    std::optional<std::string> key_of(const YAML::Node& key, std::set<std::string>& seen) {
        if (!key.IsScalar()) {
            error(key.Mark(), "expected a string key");
            return std::nullopt;
        }
        if (!seen.insert(key.Scalar()).second) {
            error(key.Mark(), "duplicate key " + quote(key.Scalar()));
            return std::nullopt;
        }
        return key.Scalar();
    }

    // The text of a scalar value; reports anything else as "<what> must be <expected>".
    std::optional<std::string> scalar(const YAML::Node& value, std::string_view what,
                                      std::string_view expected = "a string") {
        if (!value.IsScalar()) {
            error(value.Mark(), std::string(what) + " must be " + std::string(expected));
            return std::nullopt;
        }
        return value.Scalar();
    }

    // An integer in [min, max]; reports bad syntax and range at the value.
    std::optional<std::uint64_t> integer(const YAML::Node& value, std::string_view what,
                                         std::uint64_t min, std::uint64_t max) {
        const std::string range =
            "an integer between " + std::to_string(min) + " and " + std::to_string(max);
        const auto text = scalar(value, what, range);
        if (!text) {
            return std::nullopt;
        }
        const bool negative = text->starts_with('-') && detail::parse_unsigned(text->substr(1));
        const auto number = detail::parse_unsigned(*text);
        if (!number && !negative) {
            error(value.Mark(), std::string(what) + " must be " + range + ", got " + quote(*text));
            return std::nullopt;
        }
        if (negative || *number < min || *number > max) {
            error(value.Mark(), std::string(what) + " must be between " + std::to_string(min) +
                                    " and " + std::to_string(max) + " (got " + *text + ")");
            return std::nullopt;
        }
        return number;
    }

    void parse_nodes(const YAML::Node& key, const YAML::Node& value) {
        if (value.IsNull() || (value.IsSequence() && value.size() == 0)) {
            error(value.IsNull() ? key.Mark() : value.Mark(),
                  "'nodes' is empty: a dataflow needs at least one node");
            return;
        }
        if (!value.IsSequence()) {
            error(value.Mark(), "'nodes' must be a list of nodes");
            return;
        }
        for (const auto& item : value) {
            parse_node(item);
        }
    }

    void parse_node(const YAML::Node& map) {
        if (!map.IsMap()) {
            error(map.Mark(), "expected a node: a map with at least 'id' and 'path'");
            return;
        }
        NodeDraft draft;
        draft.node.where = location(map.Mark());
        std::set<std::string> seen;
        bool has_path = false;
        bool has_unsupported = false;
        std::optional<YAML::Mark> args_mark;
        std::optional<YAML::Mark> build_mark;
        std::optional<YAML::Mark> send_stdout_mark;
        std::optional<YAML::Node> args_value;
        std::optional<std::pair<std::string, YAML::Mark>> path_value;

        // The id first, so that later messages can name the node whatever the key order.
        for (const auto& entry : map) {
            if (entry.first.IsScalar() && entry.first.Scalar() == "id") {
                if (const auto id = scalar(entry.second, "the node id")) {
                    draft.has_id = true;
                    draft.id_mark = entry.second.Mark();
                    draft.node.id = *id;
                    if (!detail::is_valid_id(*id)) {
                        error(entry.second.Mark(), "invalid node id " + quote(*id) +
                                                       ": use only letters, digits, '_' and '-'");
                    }
                }
                break;
            }
        }
        const std::string who = draft.has_id ? "node " + quote(draft.node.id) : "node";

        for (const auto& entry : map) {
            const auto key = key_of(entry.first, seen);
            if (!key) {
                continue;
            }
            const YAML::Node& value = entry.second;
            const YAML::Mark key_mark = entry.first.Mark();
            if (*key == "id") {
                // handled above
            } else if (*key == "name" || *key == "description") {
                if (const auto text = scalar(value, "'" + *key + "' of " + who)) {
                    (*key == "name" ? draft.node.name : draft.node.description) = *text;
                }
            } else if (*key == "path") {
                has_path = true;
                if (const auto text =
                        scalar(value, "'path' of " + who, "a path to an executable or 'dynamic'")) {
                    if (text->empty()) {
                        error(value.Mark(), "'path' of " + who + " is empty");
                    } else {
                        path_value.emplace(*text, value.Mark());
                    }
                }
            } else if (*key == "args") {
                args_mark = key_mark;
                args_value.emplace(value); // after 'path': a shell node takes it whole
            } else if (*key == "env") {
                parse_env(draft.node, value, who);
            } else if (*key == "build") {
                build_mark = key_mark;
                if (const auto text = scalar(value, "'build' of " + who, "a command string")) {
                    draft.node.build = *text;
                }
            } else if (*key == "inputs") {
                parse_inputs(draft.node, value, who);
            } else if (*key == "outputs") {
                parse_outputs(draft, value, who);
            } else if (*key == "cpu_affinity") {
                parse_cpu_affinity(draft.node, value, who);
            } else if (*key == "busy_poll_us") {
                if (const auto us = integer(value, "'busy_poll_us' of " + who, 0, kMaxBusyPollUs)) {
                    draft.node.busy_poll_us = static_cast<std::uint32_t>(*us);
                }
            } else if (*key == "output_types" || *key == "input_types") {
                parse_types(draft.node, *key, value, key_mark, who);
            } else if (*key == "max_log_size") {
                parse_max_log_size(draft.node, value, who);
            } else if (parse_restart_key(draft.node, *key, value, key_mark, who)) {
                // restart_policy, max_restarts, restart_window, restart_delay, ...
            } else if (*key == "send_stdout_as") {
                send_stdout_mark = value.Mark();
                if (const auto text = scalar(value, "'send_stdout_as' of " + who, "an output id")) {
                    if (!detail::is_valid_id(*text)) {
                        error(value.Mark(), "invalid output id " + quote(*text) +
                                                " in 'send_stdout_as' of " + who +
                                                ": use only letters, digits, '_' and '-'");
                    } else {
                        draft.node.send_stdout_as = *text;
                    }
                }
            } else if (*key == "_unstable_deploy" || *key == "deploy") {
                if (seen.contains("_unstable_deploy") && seen.contains("deploy")) {
                    error(key_mark,
                          "give either 'deploy' or '_unstable_deploy' in " + who + ", not both");
                } else {
                    auto deploy = parse_deploy(value, "'" + *key + "' of " + who);
                    draft.node.machine = std::move(deploy.machine);
                    if (deploy.working_dir) {
                        const fs::path dir(deploy.working_dir->first);
                        draft.node.working_dir =
                            (dir.is_absolute() ? dir : working_dir_ / dir).lexically_normal();
                        draft.working_dir_mark = deploy.working_dir->second;
                    }
                }
            } else if (contains(kNodeUnsupported, *key)) {
                has_unsupported = true;
                error(key_mark, "node key " + quote(*key) + " is not supported yet by zeroflow" +
                                    unsupported_reason(*key));
            } else {
                error(key_mark, "unknown key " + quote(*key) + " in " + who +
                                    detail::did_you_mean(*key, to_strings(kNodeKeys)));
            }
        }

        if (!draft.has_id && !seen.contains("id")) {
            error(map.Mark(), "node has no 'id'");
        }
        if (!has_path && !has_unsupported) {
            error(map.Mark(), who + " has no 'path' (an executable, or 'dynamic')");
        }
        const bool shell = path_value && path_value->first == "shell";
        if (shell) {
            parse_shell_command(draft.node, args_value, map.Mark(), who);
        } else if (args_value) {
            parse_args(draft.node, *args_value, who);
        }
        if (path_value && !shell) {
            if (auto expanded = expand(path_value->first, detail::UnsetVariable::error,
                                       path_value->second, "'path' of " + who)) {
                if (draft.node.working_dir && *expanded != "dynamic") { // checked at the end
                    draft.deferred_path.emplace(*expanded, path_value->second);
                } else {
                    resolve_path(draft.node, *expanded, path_value->second, who);
                }
            }
        }
        if (draft.node.send_stdout_as) {
            if (draft.node.dynamic) {
                warning(*send_stdout_mark, who + " is dynamic (started by the user): its "
                                                 "'send_stdout_as' is ignored");
                draft.node.send_stdout_as.reset();
            } else if (!draft.node.has_output(*draft.node.send_stdout_as)) {
                // dora lists it under `outputs` too; naming it here is enough to declare it.
                draft.node.outputs.push_back(*draft.node.send_stdout_as);
                draft.output_marks.push_back(*send_stdout_mark);
            }
        }
        check_restart(draft.node, map.Mark(), who);
        if (draft.node.dynamic) {
            if (draft.working_dir_mark) {
                warning(*draft.working_dir_mark,
                        who + " is dynamic (started by the user): its 'working_dir' is ignored");
                draft.node.working_dir.reset();
            }
            if (build_mark) {
                warning(*build_mark, who + " is dynamic (started by the user): its 'build' "
                                           "command is ignored");
            }
            if (args_mark) {
                warning(*args_mark,
                        who + " is dynamic (started by the user): its 'args' are ignored");
            }
        }
        draft.has_unsupported = has_unsupported;
        nodes_.push_back(std::move(draft));
    }

    /// Resolves `path` against the node's working_dir (else the file's folder) and, with
    /// `check`, says when it is not an executable here (or on PATH, for a bare name).
    void resolve_path(Node& node, const std::string& text, const YAML::Mark& mark,
                      const std::string& who, bool check = true) {
        if (text == "dynamic") {
            node.dynamic = true;
            return;
        }
        if (text.find("://") != std::string::npos) {
            error(mark, "'path' of " + who + " is a URL (" + quote(text) +
                            "): downloading nodes is not supported yet by zeroflow; download "
                            "it and give its local path");
            return;
        }
        const fs::path written(text);
        const fs::path& base = node.working_dir ? *node.working_dir : working_dir_;
        const fs::path local =
            (written.is_absolute() ? written : base / written).lexically_normal();
        node.executable = local;
        if (!check || is_executable_file(local)) {
            return;
        }
        if (text.find('/') == std::string::npos) {
            // Like dora: a bare name not found beside the dataflow is looked up on PATH.
            if (const char* path_env = std::getenv("PATH")) {
                std::string_view dirs(path_env);
                while (true) {
                    const auto colon = dirs.find(':');
                    const std::string_view dir = dirs.substr(0, colon);
                    const fs::path candidate =
                        (dir.empty() ? fs::current_path() : fs::path(dir)) / written;
                    if (candidate.is_absolute() && is_executable_file(candidate)) {
                        node.executable = candidate.lexically_normal();
                        return;
                    }
                    if (colon == std::string_view::npos) {
                        break;
                    }
                    dirs.remove_prefix(colon + 1);
                }
            }
        }
        std::error_code ec;
        std::string problem =
            fs::exists(local, ec)
                ? "executable " + quote(text) + " of " + who +
                      (written.extension() == ".py" ? " is not a readable file ("
                                                    : " is not an executable file (") +
                      local.string() + ")"
                : "executable " + quote(text) + " of " + who + " not found (" + local.string() +
                      (text.find('/') == std::string::npos ? ", nor on PATH)" : ")");
        if (node.build) {
            warning(mark, problem + "; its 'build' command should create it");
        } else {
            error(mark, problem + "; build it first, or add a 'build' command");
        }
    }

    // `$VAR`, `${VAR}`, `${VAR:-default}` in `text` (detail::expand_variables) from this
    // process's environment; an error (reported at `mark`, naming `what`) gives nothing.
    std::optional<std::string> expand(const std::string& text, detail::UnsetVariable unset,
                                      const YAML::Mark& mark, const std::string& what) {
        auto expanded = detail::expand_variables(text, unset, detail::environment_variable);
        if (expanded.index() == 1) {
            error(mark, what + ": " + std::get<1>(expanded) + " (in " + quote(text) +
                            "; write ${NAME:-default} for a default, $$ for a '$')");
            return std::nullopt;
        }
        return std::get<0>(std::move(expanded));
    }

    // Each word, once split: a variable's value is never split into several arguments. An
    // unset variable stays as written (dora passes args unexpanded).
    void add_arg(Node& node, const std::string& word, const YAML::Mark& mark,
                 const std::string& who) {
        if (auto expanded = expand(word, detail::UnsetVariable::keep, mark, "'args' of " + who)) {
            node.args.push_back(std::move(*expanded));
        }
    }

    void parse_args(Node& node, const YAML::Node& value, const std::string& who) {
        if (value.IsScalar()) {
            auto split = detail::split_shell_words(value.Scalar());
            if (auto* words = std::get_if<std::vector<std::string>>(&split)) {
                for (const auto& word : *words) {
                    add_arg(node, word, value.Mark(), who);
                }
            } else {
                error(value.Mark(), "'args' of " + who + ": " + std::get<std::string>(split) +
                                        " in " + quote(value.Scalar()));
            }
            return;
        }
        if (!value.IsSequence()) {
            error(value.Mark(), "'args' of " + who + " must be a string or a list of strings");
            return;
        }
        for (const auto& item : value) {
            if (const auto text = scalar(item, "each of the 'args' of " + who)) {
                add_arg(node, *text, item.Mark(), who);
            }
        }
    }

    // `path: shell` (dora's): `args` is one command line that `/bin/sh -c` runs, in the
    // node's environment (the shell expands its variables; zeroflow does not).
    void parse_shell_command(Node& node, const std::optional<YAML::Node>& args,
                             const YAML::Mark& node_mark, const std::string& who) {
        node.executable = "/bin/sh";
        if (!args || args->IsNull()) {
            error(node_mark, who + " has 'path: shell' but no 'args': give the command to run "
                                   "as 'args', e.g. args: echo hello");
            return;
        }
        if (!args->IsScalar()) {
            error(args->Mark(), "'args' of " + who +
                                    " (path: shell) must be one string: the command line "
                                    "that /bin/sh -c runs");
            return;
        }
        node.shell = true;
        node.args = {"-c", args->Scalar()};
    }

    void parse_env(Node& node, const YAML::Node& value, const std::string& who) {
        if (value.IsNull()) {
            return;
        }
        if (!value.IsMap()) {
            error(value.Mark(), "'env' of " + who + " must be a map of variable names to values");
            return;
        }
        std::set<std::string> seen;
        for (const auto& entry : value) {
            const auto name = key_of(entry.first, seen);
            if (!name) {
                continue;
            }
            if (name->empty() || name->find('=') != std::string::npos ||
                name->find('\0') != std::string::npos) {
                error(entry.first.Mark(), "invalid environment variable name " + quote(*name));
                continue;
            }
            if (!entry.second.IsScalar()) {
                error(entry.second.Mark(), "environment variable " + quote(*name) + " of " + who +
                                               " must be a string, number or bool");
                continue;
            }
            if (auto expanded =
                    expand(entry.second.Scalar(), detail::UnsetVariable::error, entry.second.Mark(),
                           "environment variable " + quote(*name) + " of " + who)) {
                node.env.emplace_back(*name, std::move(*expanded));
            }
        }
    }

    // dora 1.0's top-level `env`: every node gets these, unless its own `env` sets the name.
    void parse_global_env(const YAML::Node& value) {
        Node holder;
        parse_env(holder, value, "the dataflow");
        global_env_ = std::move(holder.env);
    }

    struct Deploy {
        std::optional<std::string> machine;
        std::optional<std::pair<std::string, YAML::Mark>> working_dir; ///< as written, and where
    };

    /// A `deploy:` map (dora 1.0) or `_unstable_deploy:` (dora 0.3): the machine it names and
    /// the node's working directory there.
    Deploy parse_deploy(const YAML::Node& value, const std::string& what) {
        Deploy deploy;
        if (!value.IsMap()) {
            error(value.Mark(), what + " must be a map such as {machine: NAME}");
            return deploy;
        }
        auto& machine = deploy.machine;
        std::set<std::string> seen;
        for (const auto& entry : value) {
            const auto key = key_of(entry.first, seen);
            if (!key) {
                continue;
            }
            if (*key == "machine") {
                const auto text = scalar(entry.second, "'machine' in " + what, "a machine id");
                if (text && !detail::is_valid_id(*text)) {
                    error(entry.second.Mark(), "invalid machine id " + quote(*text) + " in " +
                                                   what +
                                                   ": use only letters, digits, '_' and '-'");
                } else if (text) {
                    machine = *text;
                }
            } else if (*key == "working_dir") {
                const auto text =
                    scalar(entry.second, "'working_dir' in " + what, "a directory path");
                if (text && text->empty()) {
                    error(entry.second.Mark(), "'working_dir' in " + what + " is empty");
                } else if (text) {
                    deploy.working_dir.emplace(*text, entry.second.Mark());
                }
            } else if (contains(kDeployUnsupported, *key)) {
                error(entry.first.Mark(),
                      quote(*key) + " in " + what +
                          " is not supported yet by zeroflow (only 'machine' and 'working_dir')");
            } else {
                error(entry.first.Mark(), "unknown key " + quote(*key) + " in " + what +
                                              detail::did_you_mean(*key, to_strings(kDeployKeys)));
            }
        }
        return deploy;
    }

    // Nodes without a machine of their own run on the top-level default, if there is one.
    void apply_default_machine() {
        if (!default_machine_) {
            return;
        }
        for (auto& draft : nodes_) {
            if (!draft.node.machine) {
                draft.node.machine = default_machine_;
            }
        }
    }

    // A node with a working_dir is checked here (its folder, its executable) only in a file
    // that places no node on a machine. Otherwise its folder may be on its machine only: the
    // full file, parsed on every machine, checks neither, and the daemon that runs the node
    // does (its part names no machine, so it is checked here; a daemon that runs the file
    // itself calls missing_working_dirs).
    void resolve_deferred_paths() {
        const bool placed = default_machine_.has_value() ||
                            std::any_of(nodes_.begin(), nodes_.end(),
                                        [](const NodeDraft& d) { return d.node.machine; });
        for (auto& draft : nodes_) {
            if (!draft.node.working_dir || draft.node.dynamic) {
                continue;
            }
            const std::string who =
                draft.has_id ? "node " + quote(draft.node.id) : std::string("node");
            std::error_code ec;
            const bool missing = !placed && !fs::is_directory(*draft.node.working_dir, ec);
            if (missing) {
                error(*draft.working_dir_mark, "'working_dir' of " + who + " (" +
                                                   draft.node.working_dir->string() +
                                                   ") is not a directory");
            }
            if (draft.deferred_path) {
                resolve_path(draft.node, draft.deferred_path->first, draft.deferred_path->second,
                             who, !placed && !missing);
            }
        }
    }

    void apply_global_env() {
        for (auto& draft : nodes_) {
            auto& env = draft.node.env;
            std::vector<std::pair<std::string, std::string>> merged;
            for (const auto& entry : global_env_) {
                if (std::none_of(env.begin(), env.end(),
                                 [&](const auto& own) { return own.first == entry.first; })) {
                    merged.push_back(entry);
                }
            }
            merged.insert(merged.end(), env.begin(), env.end());
            env = std::move(merged);
        }
    }

    void parse_outputs(NodeDraft& draft, const YAML::Node& value, const std::string& who) {
        if (value.IsNull()) {
            return;
        }
        if (!value.IsSequence()) {
            error(value.Mark(), "'outputs' of " + who + " must be a list of output ids");
            return;
        }
        for (const auto& item : value) {
            const auto id = scalar(item, "each output of " + who, "an output id");
            if (!id) {
                continue;
            }
            if (!detail::is_valid_id(*id)) {
                error(item.Mark(), "invalid output id " + quote(*id) + " in " + who +
                                       ": use only letters, digits, '_' and '-'");
                continue;
            }
            if (draft.node.has_output(*id)) {
                error(item.Mark(), "duplicate output " + quote(*id) + " in " + who);
                continue;
            }
            draft.node.outputs.push_back(*id);
            draft.output_marks.push_back(item.Mark());
        }
    }

    void parse_inputs(Node& node, const YAML::Node& value, const std::string& who) {
        if (value.IsNull()) {
            return;
        }
        if (!value.IsMap()) {
            error(value.Mark(), "'inputs' of " + who + " must be a map of input ids to sources");
            return;
        }
        std::set<std::string> seen;
        for (const auto& entry : value) {
            const auto id = key_of(entry.first, seen);
            if (!id) {
                continue;
            }
            if (!detail::is_valid_id(*id)) {
                error(entry.first.Mark(), "invalid input id " + quote(*id) + " in " + who +
                                              ": use only letters, digits, '_' and '-'");
                continue;
            }
            parse_input(node, *id, entry.second, who);
        }
    }

    void parse_input(Node& node, const std::string& id, const YAML::Node& value,
                     const std::string& who) {
        const std::string what = "input " + quote(id) + " of " + who;
        Input input;
        input.id = id;
        // Never assign to a bound YAML::Node: that overwrites the node in the tree.
        std::optional<YAML::Node> source;
        bool ok = true;
        if (!value.IsMap()) {
            source.emplace(value);
        } else {
            std::set<std::string> seen;
            for (const auto& entry : value) {
                const auto key = key_of(entry.first, seen);
                if (!key) {
                    continue;
                }
                if (*key == "source") {
                    source.emplace(entry.second);
                } else if (*key == "queue_size") {
                    if (const auto size =
                            integer(entry.second, "'queue_size' of " + what, 1, kMaxQueueSize)) {
                        input.queue_size = static_cast<std::uint32_t>(*size);
                    } else {
                        ok = false;
                    }
                } else if (contains(kInputUnsupported, *key)) {
                    error(entry.first.Mark(), "input key " + quote(*key) + " (dora 1.0) of " +
                                                  what + " is not supported yet by zeroflow");
                } else {
                    error(entry.first.Mark(),
                          "unknown key " + quote(*key) + " in " + what +
                              detail::did_you_mean(*key, to_strings(kInputKeys)));
                }
            }
            if (!source) {
                error(value.Mark(), what + " has no 'source'");
                return;
            }
        }
        const auto text =
            scalar(*source, what, "'node-id/output-id', a timer, or {source: ..., queue_size: N}");
        if (!text) {
            return;
        }
        input.where = location(source->Mark());
        if (*text == "dora/logs" || text->starts_with("dora/logs/")) {
            error(source->Mark(), what + ": " + quote(*text) +
                                      " (dora 1.0's stream of every node's logs) is not "
                                      "supported yet by zeroflow; 'send_stdout_as' sends a "
                                      "node's output lines on one of its outputs");
            return;
        }
        if (detail::looks_like_timer(*text)) {
            auto timer = detail::parse_timer(*text);
            if (auto* message = std::get_if<std::string>(&timer)) {
                error(source->Mark(), *message + " (" + what + ")");
                return;
            }
            input.source = std::get<Timer>(std::move(timer));
        } else {
            const auto slash = text->find('/');
            const bool well_formed = slash != std::string::npos &&
                                     detail::is_valid_id(text->substr(0, slash)) &&
                                     detail::is_valid_id(text->substr(slash + 1));
            const auto second = slash == std::string::npos ? slash : text->find('/', slash + 1);
            if (!well_formed && second != std::string::npos &&
                text->find('/', second + 1) == std::string::npos &&
                detail::is_valid_id(text->substr(0, slash)) &&
                detail::is_valid_id(text->substr(slash + 1, second - slash - 1)) &&
                detail::is_valid_id(text->substr(second + 1))) {
                // dora's runtime-node/operator/output
                error(source->Mark(), what + " refers to " + quote(*text) + ", output " +
                                          quote(text->substr(second + 1)) + " of operator " +
                                          quote(text->substr(slash + 1, second - slash - 1)) +
                                          " of node " + quote(text->substr(0, slash)) +
                                          ": operators are not supported yet by zeroflow");
                return;
            }
            if (!well_formed) {
                error(source->Mark(), what + ": malformed source " + quote(*text) +
                                          ": expected 'node-id/output-id' or a timer such as "
                                          "'zeroflow/timer/millis/100'");
                return;
            }
            input.source = OutputRef{text->substr(0, slash), text->substr(slash + 1)};
        }
        if (ok) {
            node.inputs.push_back(std::move(input));
        }
    }

    void parse_cpu_affinity(Node& node, const YAML::Node& value, const std::string& who) {
        if (!value.IsSequence()) {
            error(value.Mark(), "'cpu_affinity' of " + who + " must be a list of CPU indices");
            return;
        }
        const int cpus = cpu_count();
        for (const auto& item : value) {
            const auto index = integer(item, "a CPU index in 'cpu_affinity' of " + who, 0, INT_MAX);
            if (!index) {
                continue;
            }
            const int cpu = static_cast<int>(*index);
            if (std::find(node.cpu_affinity.begin(), node.cpu_affinity.end(), cpu) !=
                node.cpu_affinity.end()) {
                error(item.Mark(), "duplicate CPU index " + std::to_string(cpu) +
                                       " in 'cpu_affinity' of " + who);
                continue;
            }
            if (cpu >= cpus) {
                warning(item.Mark(), "CPU index " + std::to_string(cpu) + " in 'cpu_affinity' of " +
                                         who + " does not exist on this machine (it has " +
                                         std::to_string(cpus) + " CPUs)");
            }
            node.cpu_affinity.push_back(cpu);
        }
    }

    void parse_shm(const YAML::Node& value) {
        if (value.IsNull()) {
            return;
        }
        if (!value.IsMap()) {
            error(value.Mark(), "'shm' must be a map of 'node-id/output-id' to settings");
            return;
        }
        std::set<std::string> seen;
        for (const auto& entry : value) {
            const auto key = key_of(entry.first, seen);
            if (!key) {
                continue;
            }
            const auto slash = key->find('/');
            if (slash == std::string::npos || !detail::is_valid_id(key->substr(0, slash)) ||
                !detail::is_valid_id(key->substr(slash + 1))) {
                error(entry.first.Mark(),
                      "shm: expected an output as 'node-id/output-id', got " + quote(*key));
                continue;
            }
            ShmDraft draft{*key, entry.first.Mark(), {}};
            const std::string what = "shm settings of " + quote(*key);
            const YAML::Node& settings = entry.second;
            if (!settings.IsNull() && !settings.IsMap()) {
                error(settings.Mark(), what + " must be a map with 'max_message_size', "
                                              "'max_metadata_size' and/or 'chunks'");
                continue;
            }
            std::set<std::string> seen_settings;
            if (settings.IsMap()) {
                for (const auto& setting : settings) {
                    const auto name = key_of(setting.first, seen_settings);
                    if (!name) {
                        continue;
                    }
                    if (*name == "max_message_size") {
                        parse_max_message_size(draft, setting.second, what);
                    } else if (*name == "max_metadata_size") {
                        parse_max_metadata_size(draft, setting.second, what);
                    } else if (*name == "chunks") {
                        if (const auto chunks = integer(setting.second, "'chunks' of " + what,
                                                        kMinChunks, kMaxChunks)) {
                            draft.settings.chunks = static_cast<std::uint32_t>(*chunks);
                        }
                    } else {
                        error(setting.first.Mark(),
                              "unknown key " + quote(*name) + " in " + what +
                                  detail::did_you_mean(*name, to_strings(kShmKeys)));
                    }
                }
            }
            shm_.push_back(std::move(draft));
        }
    }

    // ---- restart policies (dora 1.0's keys) ----------------------------------------------

    /// A duration: a number of seconds (dora's form, e.g. 0.5) or a number with a unit
    /// (500ms, 2s, 1m, 1h). Empty (after an error) when it is neither or out of range.
    std::optional<std::chrono::milliseconds> duration(const YAML::Node& value,
                                                      const std::string& what) {
        const std::string expected = "a duration: seconds (0.5) or a number with a unit "
                                     "(500ms, 2s, 1m)";
        const auto text = scalar(value, what, expected);
        if (!text) {
            return std::nullopt;
        }
        std::size_t digits = 0;
        while (digits < text->size() &&
               (std::isdigit(static_cast<unsigned char>((*text)[digits])) != 0 ||
                (*text)[digits] == '.')) {
            ++digits;
        }
        std::string unit = text->substr(digits);
        while (!unit.empty() && unit.front() == ' ') {
            unit.erase(0, 1);
        }
        const double factor = unit.empty() || unit == "s"    ? 1000.0
                              : unit == "ms"                 ? 1.0
                              : unit == "m" || unit == "min" ? 60'000.0
                              : unit == "h"                  ? 3'600'000.0
                                                             : -1.0;
        char* end = nullptr;
        const std::string number = text->substr(0, digits);
        const double parsed = digits == 0 ? -1.0 : std::strtod(number.c_str(), &end);
        if (factor < 0 || parsed < 0 || end != number.c_str() + number.size()) {
            error(value.Mark(), what + " must be " + expected + ", got " + quote(*text));
            return std::nullopt;
        }
        const double ms = parsed * factor;
        if (ms > 86'400'000.0) {
            error(value.Mark(), what + " must be at most a day (got " + quote(*text) + ")");
            return std::nullopt;
        }
        return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
    }

    /// One of the restart keys: parsed into node.restart, true; any other key: false.
    bool parse_restart_key(Node& node, const std::string& key, const YAML::Node& value,
                           const YAML::Mark& key_mark, const std::string& who) {
        auto& r = node.restart;
        const std::string what = quote(key) + " of " + who;
        if (key == "restart_policy") {
            const auto text = scalar(value, what, "never, on-failure or always");
            if (text == "never") {
                r.policy = RestartPolicy::never;
            } else if (text == "on-failure") {
                r.policy = RestartPolicy::on_failure;
            } else if (text == "always") {
                r.policy = RestartPolicy::always;
            } else if (text) {
                error(value.Mark(),
                      what + " must be never, on-failure or always, got " + quote(*text) +
                          detail::did_you_mean(*text, {"never", "on-failure", "always"}));
            }
        } else if (key == "max_restarts") {
            if (const auto n = integer(value, what, 0, 1'000'000)) {
                r.max_restarts = static_cast<std::uint32_t>(*n);
            }
        } else if (key == "restart_window" || key == "restart_delay" ||
                   key == "max_restart_delay") {
            const auto d = duration(value, what);
            if (d && key == "restart_window" && d->count() == 0) {
                error(value.Mark(), what + " must be longer than 0 (leave it out to count "
                                           "restarts over the whole run)");
            } else if (d) {
                (key == "restart_window"  ? r.window.emplace()
                 : key == "restart_delay" ? r.delay
                                          : r.max_delay) = *d;
            }
        } else if (key == "health_check_timeout") {
            // dora kills a node that has not talked to its daemon for this long; zeroflow's
            // daemon is not on the data path, so it has nothing to measure that by.
            error(key_mark, "node key 'health_check_timeout' is not supported yet by zeroflow "
                            "(its daemon does not see a node's traffic); remove it");
        } else {
            return false;
        }
        restart_keys_.insert(key);
        return true;
    }

    /// After a node's keys: what the restart keys mean together.
    void check_restart(const Node& node, const YAML::Mark& mark, const std::string& who) {
        std::set<std::string> keys;
        keys.swap(restart_keys_);
        const bool has_policy = keys.erase("restart_policy") > 0;
        keys.erase("health_check_timeout");
        if (node.dynamic && node.restart.policy != RestartPolicy::never) {
            warning(mark, who + " is dynamic (started by the user): its 'restart_policy' is "
                                "ignored");
        } else if (!has_policy && !keys.empty()) {
            warning(mark, who + " has " + quote(*keys.begin()) +
                              " but no 'restart_policy' (on-failure or always): it is never "
                              "restarted");
        }
        if (node.restart.max_delay < node.restart.delay) {
            error(mark, who + ": 'max_restart_delay' is shorter than 'restart_delay'");
        }
    }

    void parse_max_log_size(Node& node, const YAML::Node& value, const std::string& who) {
        const std::string expected = "a size like 67108864, '512 KiB' or '64MiB'";
        const auto text = scalar(value, "'max_log_size' of " + who, expected);
        if (!text) {
            return;
        }
        auto size = parse_size(*text);
        if (!size) {
            size = detail::parse_dora_byte_size(*text); // "100MB", "1.5G", as dora 1.0 reads them
        }
        if (!size) {
            error(value.Mark(), "'max_log_size' of " + who + " must be " + expected +
                                    " (at least 4 KiB), got " + quote(*text));
            return;
        }
        if (*size < kMinLogSize) {
            // dora takes any size; rotating a log every few lines helps nobody.
            warning(value.Mark(), "'max_log_size' of " + who + " is " + quote(*text) +
                                      ", below zeroflow's minimum: 4 KiB is used");
            size = kMinLogSize;
        }
        node.max_log_size = *size;
    }

    void parse_max_message_size(ShmDraft& draft, const YAML::Node& value, const std::string& what) {
        const std::string expected = "a size like 8388608, '512 KiB' or '16MiB'";
        const auto text = scalar(value, "'max_message_size' of " + what, expected);
        if (!text) {
            return;
        }
        const auto size = parse_size(*text);
        if (!size) {
            const bool negative = text->starts_with('-');
            error(value.Mark(),
                  "'max_message_size' of " + what +
                      (negative ? " must be between 1 B and 4 GiB" : " must be " + expected) +
                      ", got " + quote(*text));
            return;
        }
        if (*size < 1 || *size > kMaxMessageSizeLimit) {
            error(value.Mark(), "'max_message_size' of " + what +
                                    " must be between 1 B and 4 GiB, got " + quote(*text));
            return;
        }
        draft.settings.max_message_size = *size;
    }

    void parse_max_metadata_size(ShmDraft& draft, const YAML::Node& value,
                                 const std::string& what) {
        const std::string expected = "a size like 1024, '1 KiB' or '64KiB'";
        const auto text = scalar(value, "'max_metadata_size' of " + what, expected);
        if (!text) {
            return;
        }
        const auto size = parse_size(*text);
        if (!size || *size > kMaxMetadataSizeLimit) {
            error(value.Mark(), "'max_metadata_size' of " + what +
                                    " must be between 0 B and 1 MiB, got " + quote(*text));
            return;
        }
        draft.settings.max_metadata_size = static_cast<std::uint32_t>(*size);
    }

    // dora 1.0's `output_types: {image: std/core/v1/UInt8}` (and `input_types`): stored so
    // such files load, with a warning that zeroflow does not check them yet.
    void parse_types(Node& node, const std::string& key, const YAML::Node& value,
                     const YAML::Mark& key_mark, const std::string& who) {
        if (value.IsNull()) {
            return;
        }
        if (!value.IsMap()) {
            error(value.Mark(), "'" + key + "' of " + who + " must be a map of id to type name");
            return;
        }
        auto& out = key == "output_types" ? node.output_types : node.input_types;
        std::set<std::string> seen;
        for (const auto& entry : value) {
            const auto id = key_of(entry.first, seen);
            if (!id) {
                continue;
            }
            if (const auto type =
                    scalar(entry.second, "type of " + quote(*id) + " in '" + key + "' of " + who)) {
                out.emplace_back(*id, *type);
            }
        }
        warning(key_mark, "'" + key + "' of " + who +
                              " is stored but not enforced yet: zeroflow does not check message "
                              "types against it (messages carry their own dtype and shape)");
    }

    // Checks across nodes: unique ids, inputs that name existing outputs, fan-out, shm keys.
    void check_graph() {
        std::map<std::string, const NodeDraft*> by_id;
        std::vector<std::string> node_ids;
        std::vector<std::string> all_outputs;
        for (const auto& draft : nodes_) {
            if (!draft.has_id) {
                continue;
            }
            const auto [it, inserted] = by_id.emplace(draft.node.id, &draft);
            if (!inserted) {
                error(draft.id_mark, "duplicate node id " + quote(draft.node.id) +
                                         " (first defined at line " +
                                         std::to_string(it->second->id_mark.line + 1) + ")");
                continue;
            }
            node_ids.push_back(draft.node.id);
            for (const auto& output : draft.node.outputs) {
                all_outputs.push_back(draft.node.id + "/" + output);
            }
        }

        std::map<std::string, std::size_t> fan_out;
        for (const auto& draft : nodes_) {
            const std::string who = "node " + quote(draft.node.id);
            for (const auto& input : draft.node.inputs) {
                const auto* ref = std::get_if<OutputRef>(&input.source);
                if (ref == nullptr) {
                    continue;
                }
                const std::string what = "input " + quote(input.id) + " of " + who;
                const auto it = by_id.find(ref->node);
                if (it == by_id.end()) {
                    error_at(input.where, what + " refers to unknown node " + quote(ref->node) +
                                              detail::did_you_mean(ref->node, node_ids));
                    continue;
                }
                if (it->second->has_unsupported) {
                    continue; // its unsupported keys are reported; what it declares is unknown
                }
                if (!it->second->node.has_output(ref->output)) {
                    const std::string hint =
                        it->second->node.outputs.empty()
                            ? " (node " + quote(ref->node) + " has no outputs)"
                            : detail::did_you_mean(ref->to_string(), all_outputs);
                    error_at(input.where,
                             what + " refers to unknown output " + quote(ref->to_string()) + hint);
                    continue;
                }
                ++fan_out[ref->to_string()];
            }
        }

        for (const auto& [id, draft] : by_id) {
            for (std::size_t i = 0; i < draft->node.outputs.size(); ++i) {
                const std::string output = id + "/" + draft->node.outputs[i];
                const auto it = fan_out.find(output);
                if (it != fan_out.end() && it->second > kMaxFanOut) {
                    error(draft->output_marks[i],
                          "output " + quote(output) + " feeds " + std::to_string(it->second) +
                              " inputs; at most " + std::to_string(kMaxFanOut) +
                              " are allowed (the data path's fan-out limit)");
                }
            }
        }

        for (const auto& shm : shm_) {
            if (std::find(all_outputs.begin(), all_outputs.end(), shm.key) == all_outputs.end()) {
                error(shm.mark, "shm: unknown output " + quote(shm.key) +
                                    detail::did_you_mean(shm.key, all_outputs));
            }
        }
    }

    void error_at(const Location& where, std::string message) {
        diagnostics_.push_back({Severity::error, where, printable(std::move(message))});
    }

    std::string file_;
    fs::path working_dir_;
    std::optional<std::string> default_machine_;
    std::vector<NodeDraft> nodes_;
    std::set<std::string> restart_keys_; ///< restart keys of the node being parsed
    std::vector<ShmDraft> shm_;
    std::vector<std::pair<std::string, std::string>> global_env_;
    std::vector<Diagnostic> diagnostics_;
};

/// A plain-words hint for yaml-cpp's common syntax errors ("illegal map value", "end of map
/// not found", a tab), from the line the error points at and the one above it; "" if none.
std::string syntax_hint(std::string_view yaml, const YAML::Mark& mark, const std::string& msg) {
    std::vector<std::string_view> lines;
    for (std::size_t at = 0; at <= yaml.size();) {
        const auto end = std::min(yaml.find('\n', at), yaml.size());
        lines.push_back(yaml.substr(at, end - at));
        at = end + 1;
    }
    if (mark.line < 0 || static_cast<std::size_t>(mark.line) >= lines.size()) {
        return {};
    }
    const auto line = static_cast<std::size_t>(mark.line);
    const auto indent = [](std::string_view text) { return text.find_first_not_of(' '); };
    if (msg.find("tab") != std::string::npos) {
        return "; YAML indents with spaces only: replace the tab on line " +
               std::to_string(line + 1) + " with spaces";
    }
    if (msg.find("flow not found") != std::string::npos) {
        return "; a '[' or '{' is not closed";
    }
    if (msg == "illegal map value") {
        // `key: a: b` — the second ': ' starts a key where a value was expected.
        std::string_view content =
            lines[line].substr(std::min(indent(lines[line]), lines[line].size()));
        if (content.starts_with("- ")) {
            content.remove_prefix(2);
        }
        const auto colon = content.find(": ");
        if (colon != std::string_view::npos) {
            const std::string_view key = content.substr(0, colon);
            std::string_view value = content.substr(colon + 2);
            while (!value.empty() && value.back() == ' ') {
                value.remove_suffix(1);
            }
            if (!value.empty() && value.front() != '"' && value.front() != '\'' &&
                (value.find(": ") != std::string_view::npos || value.back() == ':')) {
                return "; the value of '" + std::string(key) +
                       "' contains ': ', which YAML reads as a new key: quote the value, e.g. " +
                       std::string(key) + ": \"" + std::string(value) + "\"";
            }
        }
    }
    if (msg == "illegal map value" || msg.starts_with("end of map") ||
        msg.starts_with("end of sequence") || msg.find("indentation") != std::string::npos) {
        std::size_t above = line;
        while (above > 0) {
            --above;
            const auto first = indent(lines[above]);
            if (first != std::string_view::npos && lines[above][first] != '#') {
                break;
            }
        }
        const auto here = indent(lines[line]);
        const auto there = indent(lines[above]);
        std::string hint = "; check the indentation";
        if (above != line && here != std::string_view::npos && there != std::string_view::npos &&
            here != there) {
            hint += ": line " + std::to_string(line + 1) + " starts in column " +
                    std::to_string(here + 1) + ", line " + std::to_string(above + 1) +
                    " in column " + std::to_string(there + 1);
        }
        return hint + " (the keys of one map, and the '- ' items of one list, start in the same "
                      "column)";
    }
    return {};
}

// Records a failure without letting a second exception escape a noexcept function.
void fail(ParseResult& result, const char* message) noexcept {
    result.descriptor.reset();
    try {
        result.diagnostics.push_back({Severity::error, {}, message});
    } catch (...) { // out of memory again: the empty descriptor still says "failed"
    }
}

} // namespace

ParseResult parse_string(std::string_view yaml, const std::filesystem::path& file_for_messages,
                         const ParseLimits& limits) noexcept {
    ParseResult result;
    try {
        const std::string name =
            file_for_messages.empty() ? std::string("<dataflow>") : file_for_messages.string();
        std::error_code ec;
        fs::path absolute = file_for_messages.empty() ? fs::current_path(ec) / "dataflow.yml"
                                                      : fs::absolute(file_for_messages, ec);
        absolute = absolute.lexically_normal();
        Parser parser(name, absolute.parent_path());
        try {
            if (yaml.size() > limits.max_file_bytes) {
                result.limit = LimitHit{"max_descriptor_bytes", limits.max_file_bytes};
                parser.error_at(0, 0,
                                "the dataflow is " + std::to_string(yaml.size()) +
                                    " bytes, more than the limit max_descriptor_bytes = " +
                                    std::to_string(limits.max_file_bytes));
            } else if (!parser.parse(std::string(yaml), limits.max_yaml_nodes)) {
                result.limit = LimitHit{"max_yaml_nodes", limits.max_yaml_nodes};
                parser.error_at(1, 1,
                                "the dataflow's YAML expands (through anchors and aliases) to "
                                "more than max_yaml_nodes = " +
                                    std::to_string(limits.max_yaml_nodes) +
                                    " nodes: refused before it is read");
            }
        } catch (const YAML::Exception& e) {
            if (e.mark.is_null()) {
                parser.error_at(0, 0, "YAML error: " + e.msg);
            } else {
                parser.error(e.mark,
                             "YAML syntax error: " + e.msg + syntax_hint(yaml, e.mark, e.msg));
            }
        }
        const bool failed = parser.has_errors();
        if (!failed) {
            result.descriptor = parser.take_descriptor(absolute);
        }
        result.diagnostics = parser.take_diagnostics();
    } catch (const std::bad_alloc&) {
        result.out_of_memory = true;
        fail(result, "out of memory while parsing the dataflow");
    } catch (...) {
        fail(result, "internal error while parsing the dataflow");
    }
    return result;
}

} // namespace zeroflow::dataflow
