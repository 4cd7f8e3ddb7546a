// Computes a machine's part of a dataflow and writes it as YAML (from the original file, so
// that every key of the kept nodes stays as the user wrote it).
#include "part.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "pump.hpp"
#include "remote_writer_abi.h" // what a directly publishing node is told

namespace zeroflow::bridge {

namespace {

constexpr const char* kBridgeNode = "zeroflow-bridge";

/// The bridge node's id: kBridgeNode, or with a number appended if the dataflow has that id.
std::string bridge_node_id(const dataflow::Descriptor& descriptor) {
    std::string id = kBridgeNode;
    for (int n = 1; descriptor.find_node(id) != nullptr; ++n) {
        id = std::string(kBridgeNode) + "-" + std::to_string(n);
    }
    return id;
}

/// Where a pump runs: on the CPUs of the local nodes it serves (its senders, or the readers of
/// what it stands in for) when every one of them is pinned (`cpu_affinity`), so that handing a
/// message to the pump or from it wakes no other CPU; unpinned (empty) when any one is not (a
/// dynamic node is not: the daemon does not start it, so its cpu_affinity is not applied).
std::vector<int> served_cpus(const dataflow::Descriptor& descriptor,
                             const std::set<std::string>& served) {
    std::set<int> cpus;
    for (const auto& id : served) {
        const auto* node = descriptor.find_node(id);
        if (node == nullptr || node->dynamic || node->cpu_affinity.empty()) {
            return {};
        }
        cpus.insert(node->cpu_affinity.begin(), node->cpu_affinity.end());
    }
    return {cpus.begin(), cpus.end()};
}

void pin(YAML::Node& node, const std::vector<int>& cpus) {
    for (const int cpu : cpus) {
        node["cpu_affinity"].push_back(cpu);
    }
}

} // namespace

void place_unplaced_nodes(dataflow::Descriptor& descriptor, const std::string& machine) {
    for (auto& node : descriptor.nodes) {
        if (!node.machine) {
            node.machine = machine;
        }
    }
}

bool is_valid_dataflow_name(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
}

std::expected<MachinePart, std::string> machine_part(const dataflow::Descriptor& descriptor,
                                                     const std::filesystem::path& file,
                                                     const std::string& machine,
                                                     const PumpCommand& pump, bool may_watch) {
    for (const auto& node : descriptor.nodes) {
        if (!node.machine) {
            return std::unexpected("node '" + node.id +
                                   "' names no machine: across machines every node needs one "
                                   "(deploy: {machine: NAME}, or a top-level default)");
        }
    }
    const auto machines = descriptor.machines();
    const bool hosts_nodes = std::find(machines.begin(), machines.end(), machine) != machines.end();
    const bool watching = !hosts_nodes && may_watch;
    if (!hosts_nodes && !watching) {
        std::string names;
        for (const auto& m : machines) {
            names += (names.empty() ? "" : ", ") + m;
        }
        return std::unexpected("no node of the dataflow is placed on machine '" + machine +
                               "' (its machines: " + names + ")");
    }
    MachinePart part;
    part.watching = watching;
    auto is_local = [&](const std::string& id) {
        const auto* node = descriptor.find_node(id);
        return node != nullptr && node->machine == machine;
    };
    // Remote outputs read here, and local outputs read elsewhere, in the file's order.
    std::map<std::string, std::vector<std::string>> stand_in_outputs; // node -> outputs
    for (const auto& node : descriptor.nodes) {
        for (const auto& input : node.inputs) {
            const auto* source = std::get_if<dataflow::OutputRef>(&input.source);
            if (source == nullptr || is_local(source->node) == is_local(node.id)) {
                continue;
            }
            if (is_local(node.id)) { // inbound: a remote output read here
                auto it = std::find_if(part.inbound.begin(), part.inbound.end(),
                                       [&](const Inbound& in) { return in.output == *source; });
                if (it == part.inbound.end()) {
                    part.inbound.push_back(
                        {*source, *descriptor.find_node(source->node)->machine, 1});
                    it = std::prev(part.inbound.end());
                    stand_in_outputs[source->node].push_back(source->output);
                }
                it->depth = std::max(it->depth, input.queue_size);
            } else { // outbound: a local output read on node.machine
                auto it = std::find_if(part.outbound.begin(), part.outbound.end(),
                                       [&](const Outbound& out) { return out.output == *source; });
                if (it == part.outbound.end()) {
                    part.outbound.push_back(
                        {*source, "o" + std::to_string(part.outbound.size()), 1, {}});
                    it = std::prev(part.outbound.end());
                }
                it->depth = std::max(it->depth, input.queue_size);
                if (std::find(it->machines.begin(), it->machines.end(), *node.machine) ==
                    it->machines.end()) {
                    it->machines.push_back(*node.machine);
                    std::sort(it->machines.begin(), it->machines.end());
                }
            }
        }
    }
    // The YAML: local nodes as written (less their machines), stand-ins, the bridge node.
    YAML::Node root;
    try {
        root = YAML::LoadFile(file.string());
    } catch (const std::exception& e) {
        return std::unexpected("cannot read " + file.string() + ": " + e.what());
    }
    root.remove("deploy");
    root.remove("_unstable_deploy");
    YAML::Node nodes(YAML::NodeType::Sequence);
    auto pump_node = [&pump](const std::string& id, const std::string& mode) {
        YAML::Node node;
        node["id"] = id;
        node["path"] = pump.executable.string();
        YAML::Node args(YAML::NodeType::Sequence);
        args.push_back("--pump");
        args.push_back(mode);
        for (const auto& arg : pump.args) {
            args.push_back(arg);
        }
        node["args"] = args;
        for (const auto& [key, value] : pump.env) {
            node["env"][key] = value;
        }
        return node;
    };
    std::set<std::string> present;
    for (auto node : root["nodes"]) {
        const auto id = node["id"].as<std::string>();
        if (is_local(id)) {
            // Its machine goes (it runs here); its working_dir stays, for this machine's daemon.
            for (const char* key : {"deploy", "_unstable_deploy"}) {
                const YAML::Node& written = node; // a const look adds no key
                if (written[key] && written[key].IsMap()) {
                    YAML::Node deploy = node[key];
                    deploy.remove("machine");
                    if (deploy.size() == 0) {
                        node.remove(key);
                    }
                }
            }
            nodes.push_back(node);
            present.insert(id);
        } else if (const auto it = stand_in_outputs.find(id); it != stand_in_outputs.end()) {
            YAML::Node stand_in = pump_node(id, "subscribe");
            for (const auto& output : it->second) {
                stand_in["outputs"].push_back(output);
                const auto in =
                    std::find_if(part.inbound.begin(), part.inbound.end(), [&](const Inbound& ib) {
                        return ib.output.node == id && ib.output.output == output;
                    });
                stand_in["args"].push_back("--topic");
                stand_in["args"].push_back(output + "=" + in->output.to_string() + "@" +
                                           std::to_string(in->depth));
            }
            std::set<std::string> readers;
            for (const auto& reader : descriptor.nodes) {
                for (const auto& input : reader.inputs) {
                    const auto* source = std::get_if<dataflow::OutputRef>(&input.source);
                    if (source != nullptr && source->node == id && is_local(reader.id)) {
                        readers.insert(reader.id);
                    }
                }
            }
            pin(stand_in, served_cpus(descriptor, readers));
            nodes.push_back(stand_in);
            present.insert(id);
            part.stand_ins.push_back(id);
        }
    }
    if (!part.outbound.empty()) {
        part.bridge_node = bridge_node_id(descriptor);
        YAML::Node bridge = pump_node(part.bridge_node, "publish");
        const bool direct = !pump.direct_writer.empty();
        std::set<std::string> senders;
        std::map<std::string, std::string> direct_outputs; // node: ZEROFLOW_DDS_OUTPUTS
        for (const auto& out : part.outbound) {
            senders.insert(out.output.node);
            YAML::Node input;
            input["source"] = out.output.to_string();
            // Publishing directly, the sender writes every message on DDS itself; the pump only
            // watches the output for its close (a sender that crashed), one message deep. A
            // dynamic node is not spawned here, so it is not told: its outputs go through the
            // pump.
            const bool sender_writes = direct && !descriptor.find_node(out.output.node)->dynamic;
            input["queue_size"] = sender_writes ? 1U : out.depth;
            bridge["inputs"][out.input_id] = input;
            if (sender_writes) {
                bridge["args"].push_back("--watch");
                bridge["args"].push_back(out.input_id);
                auto& spec = direct_outputs[out.output.node];
                spec += (spec.empty() ? pump.domain_and_flow : std::string()) + ";" +
                        out.output.output + "@" + std::to_string(out.depth) + "*" +
                        std::to_string(out.machines.size());
            }
            bridge["args"].push_back("--topic");
            bridge["args"].push_back(out.input_id + "=" + out.output.to_string() + "@" +
                                     std::to_string(out.depth) + "*" +
                                     std::to_string(out.machines.size()));
        }
        if (!direct_outputs.empty()) {
            for (auto node : nodes) {
                const auto it = direct_outputs.find(node["id"].as<std::string>());
                if (it == direct_outputs.end()) {
                    continue;
                }
                node["env"][ZF_REMOTE_WRITER_PATH_ENV] = pump.direct_writer.string();
                node["env"][ZF_REMOTE_OUTPUTS_ENV] = it->second;
                for (const auto& [key, value] : pump.env) {
                    const YAML::Node& written = node; // a const look adds no key
                    if (key == "CYCLONEDDS_URI" && !(written["env"] && written["env"][key])) {
                        node["env"][key] = value; // the pumps' configuration, unless its own
                    }
                }
            }
        }
        // A publish pump that busy-polls (ZEROFLOW_BRIDGE_SPIN_US) would poll on its senders'
        // cores, against them: it stays unpinned.
        const bool spins = std::any_of(pump.env.begin(), pump.env.end(),
                                       [](const auto& e) { return e.first == kSpinEnv; });
        if (!spins) {
            pin(bridge, served_cpus(descriptor, senders));
        }
        nodes.push_back(bridge);
    }
    if (part.watching) { // nothing of the dataflow runs here: one node that waits for Stop
        part.bridge_node = bridge_node_id(descriptor);
        nodes.push_back(pump_node(part.bridge_node, "hold"));
    }
    root["nodes"] = nodes;
    // `shm:` sizing of outputs that are not in the part would name unknown nodes.
    if (root["shm"] && root["shm"].IsMap()) {
        YAML::Node shm(YAML::NodeType::Map);
        for (const auto& entry : root["shm"]) {
            const auto key = entry.first.as<std::string>();
            if (present.contains(key.substr(0, key.find('/')))) {
                shm[key] = entry.second;
            }
        }
        root["shm"] = shm;
    }
    YAML::Emitter emitter;
    emitter << root;
    part.yaml = std::string("# zeroflow-bridge: machine '") + machine + "' of " + file.string() +
                "\n" + emitter.c_str() + "\n";
    return part;
}

} // namespace zeroflow::bridge
