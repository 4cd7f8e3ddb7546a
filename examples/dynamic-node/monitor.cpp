// dynamic-node/monitor: a node you start yourself. It connects to the running dataflow as its
// `path: dynamic` node `monitor`, prints every count it receives, and exits on Stop, when its
// input closes, or after N messages.
//
//   args: [N]   exit after N messages (default: run until the dataflow stops)
//   env:  ZEROFLOW_DATAFLOW=<uuid or name> picks the dataflow when several have a `monitor`
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string_view>

#include <zeroflow/node.hpp>

int main(int argc, char** argv) {
    std::uint64_t max_messages = 0; // 0: until the stream ends
    if (argc == 2) {
        const std::string_view text = argv[1];
        const auto [end, ec] =
            std::from_chars(text.data(), text.data() + text.size(), max_messages);
        if (ec != std::errc() || end != text.data() + text.size()) {
            std::cerr << "monitor: N must be a whole number, got '" << text << "'\n";
            return 2;
        }
    } else if (argc > 2) {
        std::cerr << "usage: dynamic_monitor [N]\n";
        return 2;
    }

    auto node = zeroflow::Node::connect_dynamic("monitor");
    if (!node) {
        std::cerr << "monitor: cannot connect (" << zeroflow::to_string(node.error().kind())
                  << "): " << node.error().message() << "\n";
        if (node.error().kind() == zeroflow::ErrorKind::daemon_unreachable ||
            node.error().kind() == zeroflow::ErrorKind::no_such_dataflow ||
            node.error().kind() == zeroflow::ErrorKind::no_such_node) {
            std::cerr << "monitor: start the dataflow first: zeroflow up && zeroflow start "
                         "examples/dynamic-node/dataflow.yml\n";
        }
        return 1;
    }
    std::cout << "monitor: connected to dataflow " << node->dataflow_id() << std::endl;

    std::uint64_t received = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "monitor: " << event.message << "\n";
            continue; // the stream ends with Stop
        }
        if (event.kind == zeroflow::EventKind::InputClosed) {
            std::cout << "monitor: input " << event.id << " closed" << std::endl;
            continue; // AllInputsClosed, then Stop, follow
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        std::uint64_t count = 0;
        if (event.data.size() != sizeof(count)) {
            std::cerr << "monitor: unexpected " << event.data.size() << "-byte message on "
                      << event.id << "\n";
            continue;
        }
        std::memcpy(&count, event.data.data(), sizeof(count));
        ++received;
        std::cout << "monitor: " << event.id << " = " << count << " (seq " << event.sequence
                  << ", dropped so far " << node->dropped(event.id) << ")" << std::endl;
        if (max_messages != 0 && received == max_messages) {
            break; // disconnecting leaves the dataflow running; the monitor may connect again
        }
    }
    std::cout << "monitor: received " << received << " messages" << std::endl;
    return 0;
}
