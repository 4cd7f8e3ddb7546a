// libFuzzer target: the dataflow descriptor parser (parse_string, yaml-cpp underneath) and the
// graph renderings on arbitrary bytes. Checks, beyond "no crash, no UB, no exception": ok() iff
// there is no error; positions lie inside the text; format() has one line per diagnostic; and a
// valid descriptor keeps every promise of the model (unique ids, inputs that resolve, queue and
// shm limits), and renders to Mermaid/DOT with one line per node, timer and edge.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/dataflow/graph.hpp>

namespace zd = zeroflow::dataflow;

namespace {

// Larger inputs only measure yaml-cpp's speed; real dataflow files are a few KiB.
constexpr std::size_t kMaxInput = 64 * 1024;

// Diagnostics are one line each: the parser escapes control characters from the file (the
// finding of docs/fuzzing.md, fixed). A newline inside a message is a crash.
constexpr bool kMessagesMayEchoNewlines = false;

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

std::size_t count(std::string_view text, char c) {
    std::size_t n = 0;
    for (const char x : text) {
        n += x == c ? 1 : 0;
    }
    return n;
}

bool is_valid_id(std::string_view id) {
    if (id.empty()) {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void check_diagnostics(const zd::ParseResult& result, std::string_view text) {
    check(result.ok() == (result.error_count() == 0));
    check(result.error_count() + result.warning_count() == result.diagnostics.size());
    // yaml-cpp counts lines on '\n' only; a UTF-16/32 text decodes to at most as many '\n' as
    // it has 0x0A bytes, so this bound holds for every encoding yaml-cpp detects.
    const auto last_line = static_cast<int>(count(text, '\n')) + 1;
    for (const auto& d : result.diagnostics) {
        check(d.where.line >= 0 && d.where.column >= 0);
        check(d.where.line <= last_line);
        check((d.where.line == 0) == (d.where.column == 0)); // both 0 = no position
        check(d.where.file == "fuzz.yml");
        check(!d.message.empty());
    }
    // One line per diagnostic: a message that echoes a newline from the file would forge lines.
    const std::string formatted = result.format();
    std::size_t echoed = 0;
    for (const auto& d : result.diagnostics) {
        echoed += count(d.message, '\n');
    }
    check(kMessagesMayEchoNewlines || echoed == 0);
    check(count(formatted, '\n') == result.diagnostics.size() + echoed);
    check(formatted.empty() || formatted.back() == '\n');
}

void check_descriptor(const zd::Descriptor& d) {
    std::set<std::string> ids;
    std::set<std::string> outputs; // "node/output"
    std::size_t inputs = 0;
    for (const auto& node : d.nodes) {
        check(is_valid_id(node.id));
        check(ids.insert(node.id).second);
        check(node.dynamic == node.executable.empty());
        std::set<std::string> own_outputs;
        for (const auto& output : node.outputs) {
            check(is_valid_id(output));
            check(own_outputs.insert(output).second);
            outputs.insert(node.id + "/" + output);
        }
        check(node.busy_poll_us.value_or(0) <= zd::kMaxBusyPollUs);
        std::set<int> cpus;
        for (const int cpu : node.cpu_affinity) {
            check(cpu >= 0 && cpus.insert(cpu).second);
        }
        for (const auto& env : node.env) {
            check(!env.first.empty() && env.first.find('=') == std::string::npos);
        }
        inputs += node.inputs.size();
    }
    check(d.timer_count() + d.connection_count() == inputs);

    std::set<std::string> timers;
    std::map<std::string, std::size_t> fan_out; // "node/output" -> inputs it feeds
    for (const auto& node : d.nodes) {
        check(d.find_node(node.id) == &node);
        std::set<std::string> input_ids;
        for (const auto& input : node.inputs) {
            check(is_valid_id(input.id));
            check(input_ids.insert(input.id).second);
            check(node.find_input(input.id) == &input);
            check(input.queue_size >= 1 && input.queue_size <= zd::kMaxQueueSize);
            check(input.where.line >= 1 && input.where.column >= 1);
            if (const auto* timer = std::get_if<zd::Timer>(&input.source)) {
                check(timer->period >= std::chrono::microseconds(1));
                check(!timer->spec.empty());
                timers.insert(timer->spec);
            } else {
                const auto& ref = std::get<zd::OutputRef>(input.source);
                const zd::Node* source = d.find_node(ref.node);
                check(source != nullptr && source->has_output(ref.output));
                check(outputs.contains(ref.to_string()));
                check(++fan_out[ref.to_string()] <= zd::kMaxFanOut);
            }
        }
    }
    for (const auto& [key, shm] : d.shm) {
        check(outputs.contains(key));
        check(shm.max_message_size >= 1 && shm.max_message_size <= zd::kMaxMessageSizeLimit);
        check(!shm.chunks || (*shm.chunks >= zd::kMinChunks && *shm.chunks <= zd::kMaxChunks));
    }

    // One line per node, timer and edge, plus the fixed header (and footer): nothing from the
    // file may break out of a label.
    const std::size_t lines = d.nodes.size() + timers.size() + inputs;
    const std::string mermaid = zd::to_mermaid(d);
    check(count(mermaid, '\n') == 1 + lines);
    const std::string dot = zd::to_dot(d);
    check(count(dot, '\n') == 4 + lines + 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kMaxInput) {
        return -1; // not worth keeping in the corpus
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const zd::ParseResult result = zd::parse_string(text, "fuzz.yml");
    check_diagnostics(result, text);
    if (result.ok()) {
        check_descriptor(*result.descriptor);
    }
    return 0;
}
