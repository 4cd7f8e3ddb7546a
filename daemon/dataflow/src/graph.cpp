// Mermaid and Graphviz DOT renderings of a dataflow: nodes, timers and labelled edges.
#include <map>

#include <zeroflow/dataflow/graph.hpp>

namespace zeroflow::dataflow {

namespace {

// Graph-local ids ("n0", "t0") keep user ids (which may contain '-') out of the syntax.
struct GraphIds {
    std::map<std::string, std::string> nodes;  // node id -> graph id
    std::map<std::string, std::string> timers; // timer spec -> graph id
    std::vector<std::string> timer_order;      // specs in first-use order

    explicit GraphIds(const Descriptor& descriptor) {
        for (std::size_t i = 0; i < descriptor.nodes.size(); ++i) {
            nodes.emplace(descriptor.nodes[i].id, "n" + std::to_string(i));
        }
        for (const auto& node : descriptor.nodes) {
            for (const auto& input : node.inputs) {
                if (const auto* timer = std::get_if<Timer>(&input.source)) {
                    if (timers.emplace(timer->spec, "t" + std::to_string(timers.size())).second) {
                        timer_order.push_back(timer->spec);
                    }
                }
            }
        }
    }

    const std::string& source_of(const Input& input) const {
        if (const auto* timer = std::get_if<Timer>(&input.source)) {
            return timers.at(timer->spec);
        }
        return nodes.at(std::get<OutputRef>(input.source).node);
    }
};

std::string dot_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string mermaid_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"') {
            out += "#quot;";
        } else {
            out += c;
        }
    }
    return out;
}

std::string edge_label(const Input& input, std::string_view arrow) {
    if (const auto* ref = std::get_if<OutputRef>(&input.source)) {
        return ref->output + std::string(arrow) + input.id;
    }
    return input.id;
}

} // namespace

std::string to_mermaid(const Descriptor& descriptor) {
    const GraphIds ids(descriptor);
    std::string out = "flowchart TB\n";
    for (const auto& node : descriptor.nodes) {
        const auto& id = ids.nodes.at(node.id);
        if (node.dynamic) {
            out += "    " + id + "([\"" + mermaid_escape(node.id) + " (dynamic)\"])\n";
        } else {
            out += "    " + id + "[\"" + mermaid_escape(node.id) + "\"]\n";
        }
    }
    for (const auto& spec : ids.timer_order) {
        out += "    " + ids.timers.at(spec) + "((\"" + mermaid_escape(spec) + "\"))\n";
    }
    for (const auto& node : descriptor.nodes) {
        for (const auto& input : node.inputs) {
            out += "    " + ids.source_of(input) + " -- \"" +
                   mermaid_escape(edge_label(input, " → ")) + "\" --> " + ids.nodes.at(node.id) +
                   "\n";
        }
    }
    return out;
}

std::string to_dot(const Descriptor& descriptor) {
    const GraphIds ids(descriptor);
    std::string out = "digraph dataflow {\n"
                      "    rankdir=TB;\n"
                      "    node [shape=box, fontname=\"Helvetica\"];\n"
                      "    edge [fontname=\"Helvetica\", fontsize=10];\n";
    for (const auto& node : descriptor.nodes) {
        const auto& id = ids.nodes.at(node.id);
        if (node.dynamic) {
            out += "    " + id + " [label=\"" + dot_escape(node.id) +
                   "\\n(dynamic)\", style=\"rounded,dashed\"];\n";
        } else {
            out += "    " + id + " [label=\"" + dot_escape(node.id) + "\"];\n";
        }
    }
    for (const auto& spec : ids.timer_order) {
        out += "    " + ids.timers.at(spec) + " [label=\"" + dot_escape(spec) +
               "\", shape=ellipse, style=dotted];\n";
    }
    for (const auto& node : descriptor.nodes) {
        for (const auto& input : node.inputs) {
            out += "    " + ids.source_of(input) + " -> " + ids.nodes.at(node.id) + " [label=\"" +
                   dot_escape(edge_label(input, " -> ")) + "\"];\n";
        }
    }
    out += "}\n";
    return out;
}

} // namespace zeroflow::dataflow
