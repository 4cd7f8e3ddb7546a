// The replayer: a temporary copy of the dataflow where each recorded node is `path: dynamic`,
// started on the daemon; this process connects as those nodes (Node::connect_dynamic) and
// sends each recorded message at its log time (scaled by --rate) through the ordinary
// zero-copy path, with dtype, shape, encoding and parameters as recorded.
#include "replay.hpp"

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/node.hpp>

#include "client.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "mcap_reader.hpp"
#include "parameters.hpp"
#include "record_format.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Item {
    std::size_t output = 0; ///< index into the replayer's outputs
    std::uint64_t log_time = 0;
    record_format::Fields fields;
    std::span<const std::uint8_t> payload;
};

} // namespace

int run_replay(const ReplayOptions& o, std::ostream& out, std::ostream& err) {
    if (o.rate < 0) {
        err << "zeroflow: error: --rate must be >= 0 (0: as fast as possible)\n";
        return kExitUsage;
    }
    auto recording = mcap::read_file(o.file);
    if (!recording) {
        return fail(err, "cannot replay " + recording.error());
    }
    // Which nodes and outputs the recording has.
    std::map<std::uint16_t, std::pair<std::string, std::string>> channel_to; // node, output
    std::set<std::string> nodes;
    for (const auto& [id, ch] : recording->channels) {
        if (ch.message_encoding != record_format::kMessageEncoding ||
            ch.schema_name != record_format::kSchemaName) {
            return fail(err, o.file + " is not a zeroflow recording: channel '" + ch.topic +
                                 "' holds " + ch.message_encoding + " messages of schema '" +
                                 ch.schema_name + "' (zeroflow records zeroflow.Message)");
        }
        const auto slash = ch.topic.find('/');
        if (slash == std::string::npos) {
            return fail(err, o.file + ": channel '" + ch.topic + "' names no node/output");
        }
        channel_to[id] = {ch.topic.substr(0, slash), ch.topic.substr(slash + 1)};
        nodes.insert(ch.topic.substr(0, slash));
    }
    if (recording->messages.empty()) {
        return fail(err, o.file + " holds no messages");
    }
    const auto parsed = dataflow::parse_file(o.dataflow);
    if (!parsed.ok()) {
        return report_invalid(parsed, o.dataflow, err);
    }
    for (const auto& [id, where] : channel_to) {
        const auto* node = parsed.descriptor->find_node(where.first);
        if (node == nullptr || !node->has_output(where.second)) {
            return fail(err, "the dataflow " + o.dataflow.string() + " has no output '" +
                                 where.first + "/" + where.second +
                                 "' that the recording has: replay needs the dataflow that was "
                                 "recorded");
        }
    }
    // The dataflow with the recorded nodes made dynamic, beside the original (relative paths
    // resolve the same).
    const auto original = std::filesystem::absolute(o.dataflow);
    const auto copy = original.parent_path() / ("." + original.stem().string() + ".replay-" +
                                                std::to_string(::getpid()) + ".yml");
    try {
        YAML::Node yaml = YAML::LoadFile(original.string());
        for (auto node : yaml["nodes"]) {
            if (nodes.contains(node["id"].as<std::string>())) {
                node["path"] = "dynamic";
                node.remove("args");
                node.remove("build");
            }
        }
        YAML::Emitter emitter;
        emitter << yaml;
        std::ofstream(copy) << "# zeroflow replay of " << o.file << "\n" << emitter.c_str() << "\n";
    } catch (const std::exception& e) {
        return fail(err, "cannot rewrite " + o.dataflow.string() + ": " + e.what());
    }
    Json start{{"op", "start"}, {"path", copy.string()}};
    if (o.name) {
        start["name"] = *o.name;
    }
    auto started = daemon_call(start, 120s);
    std::error_code ec;
    std::filesystem::remove(copy, ec);
    if (!started) {
        print_daemon_error(started.error(), err);
        return kExitFailure;
    }
    const auto uuid = (*started)["uuid"].get<std::string>();
    // Connect as every recorded node; resolve each channel to an output handle.
    std::vector<Node> replayers;
    std::map<std::string, std::size_t> node_index;
    for (const auto& id : nodes) {
        auto node = Node::connect_dynamic(id, uuid);
        if (!node) {
            daemon_call(Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 2.0}}, 30s);
            return fail(err, "cannot connect as node '" + id + "': " + node.error().message());
        }
        node_index[id] = replayers.size();
        replayers.push_back(std::move(*node));
    }
    std::vector<Output> outputs;
    std::vector<std::size_t> output_node;
    std::map<std::uint16_t, std::size_t> channel_output;
    for (const auto& [id, where] : channel_to) {
        auto& node = replayers[node_index[where.first]];
        auto output = node.output(where.second);
        if (!output) {
            return fail(err, output.error().message());
        }
        channel_output[id] = outputs.size();
        outputs.push_back(*output);
        output_node.push_back(node_index[where.first]);
    }
    std::vector<Item> items;
    items.reserve(recording->messages.size());
    for (const auto& m : recording->messages) {
        Item item;
        item.output = channel_output.at(m.channel);
        item.log_time = m.log_time;
        auto fields = record_format::decode(m.data, item.payload);
        if (!fields) {
            return fail(err, o.file + ": a message on '" + recording->channels[m.channel].topic +
                                 "' is " + fields.error());
        }
        item.fields = std::move(*fields);
        items.push_back(std::move(item));
    }
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& a, const Item& b) { return a.log_time < b.log_time; });

    std::optional<InterruptScope> interrupts(std::in_place);
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    std::string failure;
    const auto begin = Clock::now();
    do {
        const auto t0 = Clock::now();
        const auto first = items.front().log_time;
        for (const auto& item : items) {
            if (InterruptScope::interrupted()) {
                break;
            }
            if (o.rate > 0) {
                const auto due = t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                          static_cast<double>(item.log_time - first) / o.rate));
                std::this_thread::sleep_until(due);
            }
            // Inputs the replaced nodes had: drain them so their chunks go back.
            for (auto& node : replayers) {
                while (auto e = node.next(0ns)) {
                    if (e->kind == EventKind::Stop || e->kind == EventKind::Error) {
                        InterruptScope::interrupt();
                    }
                }
            }
            const auto& f = item.fields;
            const auto& output = outputs[item.output];
            const auto dtype = static_cast<DataType>(f.dtype);
            std::expected<Sample, Error> sample =
                std::unexpected(Error{ErrorKind::pool_exhausted, "no chunk free"});
            for (int attempt = 0; attempt < 1000; ++attempt) {
                sample = dtype == DataType::bytes
                             ? output.loan(item.payload.size())
                             : output.loan_typed(dtype, item.payload.size() / element_size(dtype));
                if (sample || sample.error().kind() != ErrorKind::pool_exhausted) {
                    break;
                }
                std::this_thread::sleep_for(1ms); // receivers hold every chunk: wait a little
            }
            if (!sample) {
                ++failed;
                failure = sample.error().message();
                continue;
            }
            std::memcpy(sample->data().data(), item.payload.data(), item.payload.size());
            if (!f.shape.empty()) {
                sample->set_shape(f.shape);
            }
            if (!f.encoding.empty()) {
                sample->set_encoding(f.encoding);
            }
            if (!f.parameters.empty()) {
                copy_parameters(
                    MetadataView(reinterpret_cast<const std::byte*>(f.parameters.data()),
                                 f.parameters.size()),
                    sample->metadata());
            }
            if (auto ok = replayers[output_node[item.output]].send(std::move(*sample)); !ok) {
                ++failed;
                failure = ok.error().message();
                continue;
            }
            ++sent;
        }
    } while (o.loop && !InterruptScope::interrupted());
    interrupts.reset();
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    // Give receivers the last messages, then end the dataflow (its replayed nodes never exit).
    std::this_thread::sleep_for(200ms);
    replayers.clear();
    auto stopped = daemon_call(Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 5.0}}, 60s);
    const Json summary{{"dataflow", uuid},          {"messages", sent},
                       {"failed", failed},          {"seconds", seconds},
                       {"outputs", outputs.size()}, {"recorded", items.size()}};
    if (o.json) {
        out << summary.dump() << "\n";
    } else {
        out << "replayed " << sent << " of " << items.size() << " messages on " << outputs.size()
            << " outputs in " << seconds << " s into dataflow " << uuid << "\n";
    }
    if (failed > 0) {
        return fail(err, std::to_string(failed) + " messages could not be sent: " + failure);
    }
    if (!stopped) {
        return fail(err, stopped.error().message);
    }
    return kExitOk;
}

} // namespace zeroflow::cli
