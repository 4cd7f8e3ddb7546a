// `zeroflow graph`: prints a dataflow as Mermaid or DOT, or renders it with Graphviz `dot`.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/dataflow/graph.hpp>

#include "commands/commands.hpp"

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in unistd.h

namespace zeroflow::cli {

namespace {

enum class OutputKind { mermaid, dot, rendered };

std::string lowercase_extension(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

const char* format_name(GraphFormat format) {
    return format == GraphFormat::dot ? "dot" : "mermaid";
}

// Restores the SIGPIPE disposition on scope exit: a `dot` that dies early must not kill us.
class IgnoreSigpipe {
public:
    IgnoreSigpipe() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGPIPE, &ignore, &previous_);
    }
    ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &previous_, nullptr); }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

private:
    struct sigaction previous_ {};
};

// Runs `dot -T<format> -o <output>` with the DOT text on its stdin.
int render_with_graphviz(const std::string& dot_text, const std::filesystem::path& output,
                         const std::string& format, std::ostream& err) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        err << "zeroflow: error: cannot create a pipe: " << std::strerror(errno) << '\n';
        return kExitFailure;
    }
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    // dup2 clears close-on-exec on fd 0; the pipe's own fds close at exec.
    ::posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    std::string type_arg = "-T" + format;
    std::string output_arg = "-o" + output.string();
    std::string program = "dot";
    char* argv[] = {program.data(), type_arg.data(), output_arg.data(), nullptr};
    pid_t pid = -1;
    const int spawn_error = ::posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    if (spawn_error != 0) {
        ::close(fds[1]);
        if (spawn_error == ENOENT) {
            err << "zeroflow: error: Graphviz 'dot' is not installed, so '" << output.string()
                << "' cannot be rendered.\n"
                << "Install it with 'apt-get install graphviz' (Debian/Ubuntu), or write the "
                   "text instead with --output graph.dot or --output graph.mmd.\n";
        } else {
            err << "zeroflow: error: cannot run Graphviz 'dot': " << std::strerror(spawn_error)
                << '\n';
        }
        return kExitFailure;
    }

    bool write_failed = false;
    {
        const IgnoreSigpipe ignore_sigpipe;
        std::size_t written = 0;
        while (written < dot_text.size()) {
            const ssize_t n = ::write(fds[1], dot_text.data() + written, dot_text.size() - written);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                write_failed = true;
                break;
            }
            written += static_cast<std::size_t>(n);
        }
        ::close(fds[1]);
    }

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            err << "zeroflow: error: waiting for Graphviz 'dot': " << std::strerror(errno) << '\n';
            return kExitFailure;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || write_failed) {
        err << "zeroflow: error: Graphviz 'dot' failed to render '" << output.string() << "'";
        if (WIFEXITED(status)) {
            err << " (exit status " << WEXITSTATUS(status) << ")";
        } else if (WIFSIGNALED(status)) {
            err << " (killed by signal " << WTERMSIG(status) << ")";
        }
        err << '\n';
        return kExitFailure;
    }
    return kExitOk;
}

int write_text(const std::string& text, const std::filesystem::path& output, std::ostream& err) {
    std::ofstream file(output, std::ios::binary | std::ios::trunc);
    if (file) {
        file << text;
        file.flush();
    }
    if (!file) {
        err << "zeroflow: error: cannot write '" << output.string() << "': " << std::strerror(errno)
            << '\n';
        return kExitFailure;
    }
    return kExitOk;
}

} // namespace

int run_graph(const GraphOptions& options, std::ostream& out, std::ostream& err) {
    // Decide what to produce before parsing, so that a usage error is reported as one.
    OutputKind kind = options.format == GraphFormat::dot ? OutputKind::dot : OutputKind::mermaid;
    std::string render_format;
    if (options.output) {
        const std::string ext = lowercase_extension(*options.output);
        std::optional<GraphFormat> implied;
        if (ext == ".mmd" || ext == ".mermaid") {
            kind = OutputKind::mermaid;
            implied = GraphFormat::mermaid;
        } else if (ext == ".dot" || ext == ".gv") {
            kind = OutputKind::dot;
            implied = GraphFormat::dot;
        } else if (ext == ".svg" || ext == ".png" || ext == ".pdf" || ext == ".jpg" ||
                   ext == ".jpeg") {
            kind = OutputKind::rendered;
            implied = GraphFormat::dot;
            render_format = ext == ".jpeg" ? "jpg" : ext.substr(1);
        } else {
            // Writing Mermaid text into g.gif would look like success and open as garbage.
            err << "zeroflow: error: cannot tell the format of '" << options.output->string()
                << "' from its extension" << (ext.empty() ? std::string() : " '" + ext + "'")
                << ": use .mmd or .dot for text, or .svg, .png, .pdf or .jpg (rendered with "
                   "Graphviz)\n";
            return kExitUsage;
        }
        if (implied && options.format_given && *implied != options.format) {
            err << "zeroflow: error: --format " << format_name(options.format)
                << " does not match the output file '" << options.output->string() << "' ("
                << (kind == OutputKind::rendered ? "rendered by Graphviz from dot"
                                                 : format_name(*implied))
                << ")\n";
            return kExitUsage;
        }
    }

    const auto result = dataflow::parse_file(options.file);
    if (!result.ok()) {
        return report_invalid(result, options.file, err);
    }
    err << result.format();
    const auto& descriptor = *result.descriptor;
    const std::string text = kind == OutputKind::mermaid ? dataflow::to_mermaid(descriptor)
                                                         : dataflow::to_dot(descriptor);
    if (!options.output) {
        out << text;
        return out ? kExitOk : kExitFailure;
    }
    if (kind == OutputKind::rendered) {
        return render_with_graphviz(text, *options.output, render_format, err);
    }
    return write_text(text, *options.output, err);
}

} // namespace zeroflow::cli
