// CLI11 parsing for every `zeroflow` command; the only translation unit that includes CLI11.
// To add a command: declare it in commands/commands.hpp, register its options here.
#include "cli_app.hpp"

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "commands/commands.hpp"

namespace zeroflow::cli {

int App::run(int argc, const char* const* argv) {
    CLI::App app{"zeroflow: run and inspect robot dataflows", "zeroflow"};
    app.set_version_flag("--version", std::string("zeroflow ") + ZEROFLOW_VERSION,
                         "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough(false);

    CheckOptions check;
    CLI::App* check_command =
        app.add_subcommand("check", "Validate a dataflow file and report every problem");
    check_command->add_option("FILE", check.file, "The dataflow YAML file")->required();

    GraphOptions graph;
    std::string graph_format = "mermaid";
    CLI::App* graph_command =
        app.add_subcommand("graph", "Print or render the graph of a dataflow");
    graph_command->add_option("FILE", graph.file, "The dataflow YAML file")->required();
    CLI::Option* format_option =
        graph_command
            ->add_option("-f,--format", graph_format, "Text format: mermaid (default) or dot")
            ->check(CLI::IsMember({"mermaid", "dot"}));
    graph_command->add_option("-o,--output", graph.output,
                              "Write to PATH instead of stdout: .mmd or .dot text, or .svg, .png, "
                              ".pdf rendered with Graphviz");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 exits with its own codes (105, 106, 109...); we promise 2 for usage errors.
        const int code = app.exit(e, out_, err_);
        return code == static_cast<int>(CLI::ExitCodes::Success) ? kExitOk : kExitUsage;
    }

    try {
        if (*check_command) {
            return run_check(check, out_, err_);
        }
        if (*graph_command) {
            graph.format = graph_format == "dot" ? GraphFormat::dot : GraphFormat::mermaid;
            graph.format_given = format_option->count() > 0;
            return run_graph(graph, out_, err_);
        }
    } catch (const std::exception& e) {
        err_ << "zeroflow: error: " << e.what() << '\n';
        return kExitFailure;
    }
    err_ << app.help();
    return kExitUsage;
}

} // namespace zeroflow::cli
