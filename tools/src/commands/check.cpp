// `zeroflow check`: validates a dataflow file and prints a summary or every diagnostic.
#include <algorithm>
#include <string>

#include <zeroflow/dataflow/descriptor.hpp>

#include "commands/commands.hpp"

namespace zeroflow::cli {

namespace {

std::string count(std::size_t n, const std::string& noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace

int report_invalid(const dataflow::ParseResult& result, const std::filesystem::path& file,
                   std::ostream& err) {
    err << result.format();
    err << file.string() << ": " << count(result.error_count(), "error")
        << ", not a valid dataflow\n";
    return kExitFailure;
}

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
    const auto result = dataflow::parse_file(options.file);
    if (!result.ok()) {
        return report_invalid(result, options.file, err);
    }
    err << result.format();
    const auto& descriptor = *result.descriptor;
    const auto dynamic = static_cast<std::size_t>(
        std::count_if(descriptor.nodes.begin(), descriptor.nodes.end(),
                      [](const dataflow::Node& node) { return node.dynamic; }));
    out << options.file.string() << ": ok — " << count(descriptor.nodes.size(), "node");
    if (dynamic > 0) {
        out << " (" << dynamic << " dynamic)";
    }
    out << ", " << count(descriptor.connection_count(), "connection") << ", "
        << count(descriptor.timer_count(), "timer");
    if (const std::size_t warnings = result.warning_count(); warnings > 0) {
        out << ", " << count(warnings, "warning");
    }
    out << '\n';
    // Where each node runs, when the dataflow places nodes on machines.
    if (const auto machines = descriptor.machines(); !machines.empty()) {
        for (const auto& machine : machines) {
            out << "  machine " << machine << ":";
            for (const auto& node : descriptor.nodes) {
                if (node.machine == machine) {
                    out << ' ' << node.id;
                    if (node.working_dir) { // checked there, not here
                        out << " (in " << node.working_dir->string() << ")";
                    }
                }
            }
            out << '\n';
        }
        bool header = false;
        for (const auto& node : descriptor.nodes) {
            if (!node.machine) {
                out << (header ? " " : "  where started:") << (header ? "" : " ") << node.id;
                if (node.working_dir) {
                    out << " (in " << node.working_dir->string() << ")";
                }
                header = true;
            }
        }
        if (header) {
            out << '\n';
        }
    }
    return kExitOk;
}

} // namespace zeroflow::cli
