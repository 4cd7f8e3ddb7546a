// The descriptor model's helpers, diagnostics formatting, sizes and reading files.
#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

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

ParseResult parse_file(const std::filesystem::path& file) noexcept {
    try {
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec)) {
            ParseResult result;
            result.diagnostics.push_back(
                {Severity::error, {file.string(), 0, 0}, "is a directory, not a dataflow file"});
            return result;
        }
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            ParseResult result;
            const bool exists = std::filesystem::exists(file, ec);
            result.diagnostics.push_back(
                {Severity::error,
                 {file.string(), 0, 0},
                 exists ? "cannot read the dataflow file" : "no such dataflow file"});
            return result;
        }
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) {
            ParseResult result;
            result.diagnostics.push_back(
                {Severity::error, {file.string(), 0, 0}, "cannot read the dataflow file"});
            return result;
        }
        return parse_string(text.str(), file);
    } catch (...) {
        ParseResult result;
        result.diagnostics.push_back(
            {Severity::error, {}, "cannot read the dataflow file (out of memory?)"});
        return result;
    }
}

} // namespace zeroflow::dataflow
