// The descriptor model's helpers, diagnostics formatting, sizes and reading files.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/dataflow/descriptor.hpp>

#include "text.hpp"

namespace zeroflow::dataflow {

std::string Diagnostic::to_string() const {
    std::string out = where.file.empty() ? std::string("<dataflow>") : where.file;
    if (where.line > 0) {
        out += ':' + std::to_string(where.line) + ':' + std::to_string(where.column);
    }
    out += severity == Severity::error ? ": error: " : ": warning: ";
    out += message;
    return out;
}

const Input* Node::find_input(std::string_view input_id) const {
    const auto it = std::find_if(inputs.begin(), inputs.end(),
                                 [&](const Input& input) { return input.id == input_id; });
    return it == inputs.end() ? nullptr : &*it;
}

bool Node::has_output(std::string_view output_id) const {
    return std::find(outputs.begin(), outputs.end(), output_id) != outputs.end();
}

const Node* Descriptor::find_node(std::string_view id) const {
    const auto it =
        std::find_if(nodes.begin(), nodes.end(), [&](const Node& node) { return node.id == id; });
    return it == nodes.end() ? nullptr : &*it;
}

OutputShm Descriptor::shm_for(const OutputRef& output) const {
    const auto it = shm.find(output.to_string());
    return it == shm.end() ? OutputShm{} : it->second;
}

std::size_t Descriptor::timer_count() const {
    std::size_t count = 0;
    for (const auto& node : nodes) {
        count += static_cast<std::size_t>(
            std::count_if(node.inputs.begin(), node.inputs.end(),
                          [](const Input& input) { return input.is_timer(); }));
    }
    return count;
}

std::size_t Descriptor::connection_count() const {
    std::size_t count = 0;
    for (const auto& node : nodes) {
        count += static_cast<std::size_t>(
            std::count_if(node.inputs.begin(), node.inputs.end(),
                          [](const Input& input) { return !input.is_timer(); }));
    }
    return count;
}

std::vector<std::string> Descriptor::machines() const {
    std::vector<std::string> names;
    for (const auto& node : nodes) {
        if (node.machine && std::find(names.begin(), names.end(), *node.machine) == names.end()) {
            names.push_back(*node.machine);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string Descriptor::missing_working_dirs() const {
    std::string missing;
    for (const auto& node : nodes) {
        if (!node.working_dir || node.dynamic) {
            continue;
        }
        std::error_code ec;
        const bool exe_ok =
            node.shell || (std::filesystem::is_regular_file(node.executable, ec) &&
                           ::access(node.executable.c_str(),
                                    node.executable.extension() == ".py" ? R_OK : X_OK) == 0);
        if (!std::filesystem::is_directory(*node.working_dir, ec)) {
            missing += "'working_dir' of node '" + node.id + "' (" + node.working_dir->string() +
                       ") is not a directory\n";
        } else if (!exe_ok) {
            missing += "executable of node '" + node.id + "' not found in its working_dir (" +
                       node.executable.string() + ")\n";
        }
    }
    return missing;
}

std::size_t ParseResult::error_count() const {
    return static_cast<std::size_t>(
        std::count_if(diagnostics.begin(), diagnostics.end(),
                      [](const Diagnostic& d) { return d.severity == Severity::error; }));
}

std::size_t ParseResult::warning_count() const {
    return diagnostics.size() - error_count();
}

std::string ParseResult::format() const {
    std::string out;
    for (const auto& diagnostic : diagnostics) {
        out += diagnostic.to_string();
        out += '\n';
    }
    return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text) noexcept {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    const auto number = detail::parse_unsigned(text.substr(0, digits));
    if (!number) {
        return std::nullopt;
    }
    std::string_view suffix = text.substr(digits);
    while (suffix.starts_with(' ')) {
        suffix.remove_prefix(1);
    }
    unsigned shift = 0;
    if (suffix.empty() && digits == text.size()) {
        shift = 0;
    } else if (suffix == "B") {
        shift = 0;
    } else if (suffix == "KiB") {
        shift = 10;
    } else if (suffix == "MiB") {
        shift = 20;
    } else if (suffix == "GiB") {
        shift = 30;
    } else {
        return std::nullopt;
    }
    if (shift > 0 && *number > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
        return std::nullopt;
    }
    return *number << shift;
}

namespace {

ParseResult refusal(const std::filesystem::path& file, std::string message) {
    ParseResult result;
    result.diagnostics.push_back({Severity::error, {file.string(), 0, 0}, std::move(message)});
    return result;
}

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISCHR(mode)) {
        return "a character device";
    }
    if (S_ISBLK(mode)) {
        return "a block device";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return "not a regular file";
}

} // namespace

ParseResult parse_file(const std::filesystem::path& file, const ParseLimits& limits) noexcept {
    try {
        // O_NONBLOCK: opening a FIFO must not wait for a writer. Nothing but a regular file is
        // read (a FIFO would block, /dev/zero would never end).
        const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            const int err = errno;
            return refusal(file, err == ENOENT ? "no such dataflow file"
                                               : std::string("cannot read the dataflow file: ") +
                                                     std::strerror(err));
        }
        struct Closer {
            int fd;
            ~Closer() { ::close(fd); }
        } closer{fd};
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            return refusal(file,
                           std::string("cannot read the dataflow file: ") + std::strerror(errno));
        }
        if (!S_ISREG(st.st_mode)) {
            if (S_ISDIR(st.st_mode)) {
                return refusal(file, "is a directory, not a dataflow file");
            }
            return refusal(file, std::string("is ") + kind_of(st.st_mode) +
                                     ", not a regular file: a dataflow is a YAML file");
        }
        if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > limits.max_file_bytes) {
            auto result = refusal(file, "the dataflow file is " + std::to_string(st.st_size) +
                                            " bytes, more than the limit max_descriptor_bytes = " +
                                            std::to_string(limits.max_file_bytes));
            result.limit = LimitHit{"max_descriptor_bytes", limits.max_file_bytes};
            return result;
        }
        // Read at most one byte past the limit: a file that grows meanwhile is caught too.
        std::string text;
        text.resize(static_cast<std::size_t>(limits.max_file_bytes) + 1);
        std::size_t got = 0;
        while (got < text.size()) {
            const auto n = ::read(fd, text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return refusal(file, std::string("cannot read the dataflow file: ") +
                                         std::strerror(errno));
            }
            if (n == 0) {
                break;
            }
            got += static_cast<std::size_t>(n);
        }
        text.resize(got);
        return parse_string(text, file, limits);
    } catch (...) {
        auto result = refusal(file, "cannot read the dataflow file (out of memory?)");
        result.out_of_memory = true;
        return result;
    }
}

} // namespace zeroflow::dataflow
