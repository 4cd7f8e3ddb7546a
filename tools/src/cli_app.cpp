// CLI11 parsing for every `zeroflow` command; the only translation unit that includes CLI11.
// To add a command: declare it in commands/commands.hpp, register its options here.
#include "cli_app.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <zeroflow/dataflow/suggest.hpp>

#include "commands/client.hpp"
#include "commands/commands.hpp"
#include "commands/daemon_commands.hpp"
#include "commands/duration.hpp"
#include "commands/record.hpp"
#include "commands/replay.hpp"
#include "commands/top.hpp"
#include "commands/topic.hpp"

namespace zeroflow::cli {

namespace {

/// A duration option (500ms, 5s, 2m; a bare number is seconds) in [min_s, max_s], handed on
/// to CLI11 as seconds.
CLI::Validator duration(double min_s, double max_s) {
    return {[min_s, max_s](std::string& value) -> std::string {
                auto seconds = parse_duration(value);
                if (!seconds) {
                    return seconds.error();
                }
                if (*seconds < min_s) {
                    return "'" + value + "' is too short: at least " + format_duration(min_s);
                }
                if (*seconds > max_s) {
                    return "'" + value + "' is too long: at most " + format_duration(max_s);
                }
                char buffer[40];
                std::snprintf(buffer, sizeof(buffer), "%.17g", *seconds);
                value = buffer;
                return {};
            },
            "DURATION"};
}

/// Whether the command line starts with a word that names no command: then that word and the
/// nearest command are the most useful answer (CLI11 would say "a subcommand is required").
std::optional<std::string> unknown_command(const CLI::App& app, int argc, const char* const* argv) {
    if (argc < 2 || argv[1][0] == '-') {
        return std::nullopt;
    }
    const std::string word = argv[1];
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name() == word) {
            return std::nullopt;
        }
        names.push_back(sub->get_name());
    }
    std::string message = "unknown command '" + word + "'";
    if (auto near = dataflow::suggest(word, names)) {
        message += " (did you mean '" + *near + "'?)";
    } else {
        message += "; the commands are:";
        for (const auto& name : names) {
            message += " " + name;
        }
    }
    return message + "\nRun `zeroflow --help` for what each does.";
}

} // namespace

int App::run(int argc, const char* const* argv) {
    CLI::App app{"zeroflow: run and inspect robot dataflows", "zeroflow"};
    app.set_version_flag("--version", std::string("zeroflow ") + ZEROFLOW_VERSION,
                         "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough(false);
    std::string target_machine;
    app.add_option("--machine", target_machine,
                   "Send the command to machine NAME's daemon, through this machine's daemon "
                   "(both run with --machine-id): list, stop, logs, stats (docs/dataflow.md)")
        ->type_name("NAME");
    app.footer("Durations: 500ms, 5s, 2m, 1h (a bare number is seconds). Run `zeroflow COMMAND "
               "--help` for a command's options.");

    NewOptions create;
    CLI::App* new_command =
        app.add_subcommand("new", "Create a project: a dataflow with a talker and a listener");
    new_command->add_option("NAME", create.name, "The project's folder (created; must not exist)")
        ->required();
    new_command->add_option("--lang", create.lang, "The nodes' language: cpp (default), c, python");
    new_command
        ->add_option("--kind", create.kind,
                     "dataflow (default: dataflow.yml and two nodes) or node (one node)")
        ->check(CLI::IsMember({"dataflow", "node"}));

    CheckOptions check;
    CLI::App* check_command =
        app.add_subcommand("check", "Validate a dataflow file and report every problem");
    CLI::Option* check_file =
        check_command->add_option("FILE", check.file, "The dataflow YAML file");
    check_command
        ->add_option("--dataflow", check.file, "The dataflow YAML file (dora's spelling of FILE)")
        ->excludes(check_file);

    GraphOptions graph;
    std::string graph_format = "mermaid";
    CLI::App* graph_command =
        app.add_subcommand("graph", "Print or render the graph of a dataflow");
    graph_command->add_option("FILE", graph.file, "The dataflow YAML file")->required();
    CLI::Option* format_option =
        graph_command
            ->add_option("-f,--format", graph_format, "Text format: mermaid (default) or dot")
            ->check(CLI::IsMember({"mermaid", "dot"}));
    bool graph_mermaid = false;
    graph_command
        ->add_flag("--mermaid", graph_mermaid,
                   "Print Mermaid (dora's spelling of --format mermaid)")
        ->excludes(format_option);
    graph_command->add_option("-o,--output", graph.output,
                              "Write to PATH instead of stdout: .mmd or .dot text, or .svg, .png, "
                              ".pdf, .jpg rendered with Graphviz");

    CLI::App* up_command =
        app.add_subcommand("up", "Start the daemon in the background (if none runs)");
    std::string up_machine_id;
    up_command->add_option("--machine-id", up_machine_id,
                           "This machine's id: the daemon runs the nodes placed on it (deploy:)");
    std::uint32_t up_dds_domain = 0;
    up_command->add_option("--dds-domain", up_dds_domain,
                           "The DDS domain where the machines' daemons meet (default 0)");

    double destroy_grace = 10;
    CLI::App* destroy_command =
        app.add_subcommand("destroy", "Stop every dataflow, then the daemon");
    destroy_command->add_option("--grace", destroy_grace, "Time nodes get to stop (default 10s)")
        ->transform(duration(0.0, 3600.0))
        ->type_name("DURATION");

    DaemonOptions daemon_options;
    CLI::App* daemon_command = app.add_subcommand("daemon", "Run the daemon in the foreground");
    daemon_command->add_option("--log-file", daemon_options.log_file,
                               "Log to this file instead of stderr");
    daemon_command->add_option("--run-dataflow", daemon_options.run_dataflow,
                               "Start this dataflow at once; exit when it finishes (status 0 "
                               "only if every node exited 0)");
    daemon_command->add_option("--machine-id", daemon_options.machine_id,
                               "This machine's id: the daemon runs the nodes a dataflow places on "
                               "it (deploy: {machine: ID}) beside those placed nowhere");
    daemon_command->add_option("--dds-domain", daemon_options.dds_domain,
                               "The DDS domain where the machines' daemons meet (default 0; "
                               "interfaces and peers: CYCLONEDDS_URI)");

    StartOptions start;
    CLI::App* start_command =
        app.add_subcommand("start", "Start a dataflow on the daemon; prints its UUID");
    start_command->add_option("FILE", start.file, "The dataflow YAML file")->required();
    start_command->add_option("--name", start.name, "A name, unique among running dataflows");
    CLI::Option* attach_flag = start_command->add_flag(
        "--attach", start.attach, "Wait for the dataflow to finish and report");
    bool start_detach = false;
    start_command
        ->add_flag("--detach", start_detach,
                   "Return once it runs (the default; dora's spelling, accepted)")
        ->excludes(attach_flag);
    start_command
        ->add_option("--start-timeout", start.start_timeout_s,
                     "Time every node gets to register (default 60s)")
        ->transform(duration(0.001, 86400.0))
        ->type_name("DURATION");

    StopOptions stop;
    CLI::App* stop_command =
        app.add_subcommand("stop", "Stop a dataflow (the only running one by default)");
    CLI::Option* stop_positional =
        stop_command->add_option("DATAFLOW", stop.dataflow, "UUID (or a unique prefix) or name");
    stop_command->add_option("--name", stop.dataflow, "The dataflow's name (dora's spelling)")
        ->excludes(stop_positional);
    stop_command
        ->add_option("--grace,--grace-duration", stop.grace_s,
                     "Time nodes get after Stop before SIGTERM (default 10s)")
        ->transform(duration(0.0, 3600.0))
        ->type_name("DURATION");

    ListOptions list;
    CLI::App* list_command =
        app.add_subcommand("list", "List dataflows, running and recently finished");
    list_command->add_flag("--json", list.json, "Print JSON");

    LogsOptions logs;
    CLI::App* logs_command = app.add_subcommand("logs", "Print a node's log (stdout and stderr)");
    // `logs NODE` (dora's spelling) when one dataflow runs: CLI11 fills DATAFLOW first, so a
    // lone word is moved to NODE after parsing.
    logs_command->add_option("DATAFLOW", logs.dataflow,
                             "UUID (or a unique prefix) or name; may be left out when only one "
                             "dataflow runs");
    logs_command->add_option("NODE", logs.node, "Node id");
    logs_command->add_flag("-f,--follow", logs.follow, "Keep printing until the dataflow ends");

    BuildOptions build;
    CLI::App* build_command = app.add_subcommand("build", "Run each node's `build` command");
    build_command->add_option("FILE", build.file, "The dataflow YAML file")->required();

    RunOptions run;
    std::string color = "auto";
    CLI::App* run_command =
        app.add_subcommand("run", "Run a dataflow to its end (embeds a daemon if none runs)");
    run_command->add_option("FILE", run.file, "The dataflow YAML file")->required();
    run_command->add_option("--stop-after", run.stop_after_s, "Stop the dataflow after this long")
        ->transform(duration(0.0, 1e9))
        ->type_name("DURATION");
    run_command->add_option("--name", run.name, "A name, unique among running dataflows");
    run_command
        ->add_option("--start-timeout", run.start_timeout_s,
                     "Time every node gets to register (default 60s)")
        ->transform(duration(0.001, 86400.0))
        ->type_name("DURATION");
    run_command->add_option("--grace", run.grace_s, "Time nodes get after Stop (default 10s)")
        ->transform(duration(0.0, 3600.0))
        ->type_name("DURATION");
    run_command->add_flag("-q,--quiet", run.quiet,
                          "Do not stream the nodes' output (it is still in their log files)");
    run_command->add_option("--color", color, "Colour node names: auto (default), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));

    CleanOptions clean;
    CLI::App* clean_command = app.add_subcommand(
        "clean", "Delete the logs (out/<uuid>/) of dataflows that are not running");
    clean_command->add_option("FILE", clean.file,
                              "Only the logs beside this dataflow file (default: every run this "
                              "runtime directory remembers)");

    // `topic list|info|hz|bw|echo` (issue 13): observers through the daemon's taps.
    TopicOptions topic;
    CLI::App* topic_command =
        app.add_subcommand("topic", "See what flows on a running dataflow's outputs");
    topic_command->require_subcommand(1);
    CLI::App* topic_list = topic_command->add_subcommand(
        "list", "List the outputs of a dataflow (the only running one by default)");
    topic_list->add_option("DATAFLOW", topic.dataflow, "UUID (or a unique prefix) or name");
    const std::vector<std::pair<std::string, std::string>> kTopicActions = {
        {"info", "Show an output's queues, receivers, drops and what it sends"},
        {"hz", "Measure an output's rate from send timestamps (payloads are never copied)"},
        {"bw", "Measure an output's bandwidth"},
        {"echo", "Print an output's messages: metadata and (truncated) values"}};
    std::vector<CLI::App*> topic_actions{topic_list};
    for (const auto& [name, help] : kTopicActions) {
        auto* sub = topic_command->add_subcommand(name, help);
        sub->add_option("NODE/OUTPUT", topic.output, "The output, e.g. camera/image")->required();
        sub->add_option("-d,--dataflow", topic.dataflow, "UUID (or a unique prefix) or name");
        if (name != "info") {
            sub->add_option("-n,--count", topic.count, "Stop after N messages");
            sub->add_option("--duration", topic.duration_s, "Stop after this long")
                ->transform(duration(0.001, 1e9))
                ->type_name("DURATION");
        }
        if (name == "hz" || name == "bw") {
            sub->add_option("--window", topic.window, "Messages the statistics cover (1000)")
                ->check(CLI::Range(2, 1000000));
        }
        topic_actions.push_back(sub);
    }
    for (auto* sub : topic_actions) {
        sub->add_flag("--json", topic.json, "Print JSON");
    }

    RecordOptions record;
    std::string record_outputs;
    CLI::App* record_command = app.add_subcommand(
        "record", "Record a running dataflow's outputs into an MCAP file (docs/recording.md)");
    record_command->add_option("DATAFLOW", record.dataflow, "UUID (or a unique prefix) or name");
    record_command->add_option("-o,--output", record.file, "The MCAP file to write")->required();
    record_command->add_option("--outputs", record_outputs,
                               "Comma-separated NODE/OUTPUTs (default: every output)");
    record_command->add_option("--compression", record.compression,
                               "Chunk compression: zstd (default), lz4 or none");
    record_command->add_option("--duration", record.duration_s, "Stop after this long")
        ->transform(duration(0.001, 1e9))
        ->type_name("DURATION");
    record_command->add_flag("--json", record.json, "Print the summary as JSON");

    TopOptions top;
    CLI::App* top_command = app.add_subcommand(
        "top", "A live view of a running dataflow: nodes, outputs, queues (q quits)");
    top_command->add_option("DATAFLOW", top.dataflow, "UUID (or a unique prefix) or name");
    top_command->add_flag("--once", top.once, "Print one snapshot (rates over one interval)");
    top_command->add_flag("--json", top.json, "With --once: print JSON");
    top_command->add_option("--interval", top.interval_s, "Refresh every (default 1s)")
        ->transform(duration(0.1, 3600.0))
        ->type_name("DURATION");

    ReplayOptions replay;
    CLI::App* replay_command = app.add_subcommand(
        "replay", "Play a recording into a dataflow in place of the recorded nodes");
    replay_command->add_option("FILE", replay.file, "The MCAP recording")->required();
    replay_command->add_option("--dataflow", replay.dataflow, "The dataflow YAML file")->required();
    replay_command->add_option("--rate", replay.rate,
                               "Speed: 1 original timing (default), 2 twice as fast, 0 at once");
    replay_command->add_flag("--loop", replay.loop, "Start over at the end, until Ctrl-C");
    replay_command->add_option("--name", replay.name, "A name for the started dataflow");
    replay_command->add_flag("--json", replay.json, "Print the summary as JSON");
    BenchOptions bench;
    CLI::App* bench_command = app.add_subcommand(
        "bench", "Measure latency on this machine: real nodes through the daemon, beside the "
                 "raw shared-memory floor");
    bench_command->add_option("--sizes", bench.sizes, "Message sizes (default 8,4KiB,1MiB)");
    bench_command->add_option("--mode", bench.mode, "busy, blocking or both (default)");
    bench_command->add_option("--pattern", bench.pattern,
                              "pingpong (default), oneway, fanout:N or chain:K");
    bench_command->add_option("--cpus", bench.cpus, "CPUs to run the nodes on, e.g. 2,3");
    bench_command->add_option("--duration", bench.duration_s, "Time per point (default 2s)")
        ->transform(duration(0.001, 3600.0))
        ->type_name("DURATION");
    bench_command->add_flag("--json", bench.json, "Print JSON");
    bench_command->add_option("--plot", bench.plot, "Also plot to FILE.svg (gnuplot)");
    bench_command->add_option("--lang", bench.lang, "Node language: cpp (default), c, python");

    if (argc < 2) {
        out_ << app.help();
        return kExitOk;
    }
    if (auto unknown = unknown_command(app, argc, argv)) {
        err_ << "zeroflow: error: " << *unknown << "\n";
        return kExitUsage;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 exits with its own codes (105, 106, 109...); we promise 2 for usage errors.
        const int code = app.exit(e, out_, err_);
        return code == static_cast<int>(CLI::ExitCodes::Success) ? kExitOk : kExitUsage;
    }
    set_target_machine(target_machine);

    try {
        if (*new_command) {
            return run_new(create, out_, err_);
        }
        if (*check_command) {
            if (check.file.empty()) {
                err_ << "zeroflow check: error: give the dataflow file: zeroflow check FILE (or "
                        "--dataflow FILE)\n";
                return kExitUsage;
            }
            return run_check(check, out_, err_);
        }
        if (*up_command) {
            return run_up(out_, err_, up_machine_id, up_dds_domain);
        }
        if (*destroy_command) {
            return run_destroy(destroy_grace, out_, err_);
        }
        if (*daemon_command) {
            return run_daemon_foreground(daemon_options, out_, err_);
        }
        if (*start_command) {
            return run_start(start, out_, err_);
        }
        if (*stop_command) {
            return run_stop(stop, out_, err_);
        }
        if (*list_command) {
            return run_list(list, out_, err_);
        }
        if (*logs_command) {
            if (logs.node.empty()) {
                logs.node = std::exchange(logs.dataflow, std::string());
            }
            if (logs.node.empty()) {
                err_ << "zeroflow logs: error: give the node: zeroflow logs [DATAFLOW] NODE\n";
                return kExitUsage;
            }
            return run_logs(logs, out_, err_);
        }
        if (*build_command) {
            return run_build(build, out_, err_);
        }
        if (*run_command) {
            const char* no_color = std::getenv("NO_COLOR");
            run.color = color == "always" ||
                        (color == "auto" && &out_ == &std::cout && ::isatty(STDOUT_FILENO) == 1 &&
                         (no_color == nullptr || *no_color == '\0'));
            return run_run(run, out_, err_);
        }
        if (*bench_command) {
            return run_bench(bench, out_, err_);
        }
        if (*clean_command) {
            return run_clean(clean, out_, err_);
        }
        if (*topic_command) {
            for (auto* sub : topic_actions) {
                if (*sub) {
                    topic.action = sub->get_name();
                }
            }
            return run_topic(topic, out_, err_);
        }
        if (*top_command) {
            return run_top(top, out_, err_);
        }
        if (*replay_command) {
            return run_replay(replay, out_, err_);
        }
        if (*record_command) {
            std::stringstream list(record_outputs);
            for (std::string item; std::getline(list, item, ',');) {
                if (!item.empty()) {
                    record.outputs.push_back(item);
                }
            }
            return run_record(record, out_, err_);
        }
        if (*graph_command) {
            graph.format = graph_format == "dot" ? GraphFormat::dot : GraphFormat::mermaid;
            graph.format_given = format_option->count() > 0 || graph_mermaid;
            return run_graph(graph, out_, err_);
        }
    } catch (const std::exception& e) {
        err_ << "zeroflow: error: " << e.what() << "\n";
        return kExitFailure;
    }
    err_ << app.help();
    return kExitUsage;
}

} // namespace zeroflow::cli
