// dynamic-node/ticker: on every timer tick, sends a running count (u64) on `count`.
//
//   args: [--ticks N]   stop after N ticks (default: run until the dataflow is stopped)
#include <charconv>
#include <cstdint>
#include <iostream>
#include <string_view>

#include <zeroflow/node.hpp>

int main(int argc, char** argv) {
    std::uint64_t max_ticks = 0; // 0: until stopped
    if (argc == 3 && std::string_view(argv[1]) == "--ticks") {
        const std::string_view text = argv[2];
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), max_ticks);
        if (ec != std::errc() || end != text.data() + text.size()) {
            std::cerr << "ticker: --ticks needs a whole number, got '" << text << "'\n";
            return 2;
        }
    } else if (argc != 1) {
        std::cerr << "usage: dynamic_ticker [--ticks N]\n";
        return 2;
    }

    auto node = zeroflow::Node::from_env();
    if (!node) {
        std::cerr << "ticker: " << node.error().message() << "\n";
        return 1;
    }
    std::uint64_t count = 0;
    for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next()) {
        if (event.kind == zeroflow::EventKind::Error) {
            std::cerr << "ticker: " << event.message << "\n";
            continue; // the stream ends with Stop
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        ++count;
        // Sent whether or not the monitor is attached: a full queue drops its oldest message.
        if (auto ok = node->send_output("count", std::as_bytes(std::span(&count, 1))); !ok) {
            if (ok.error().kind() == zeroflow::ErrorKind::closed) {
                break;
            }
            std::cerr << "ticker: " << ok.error().message() << "\n";
            return 1;
        }
        std::cout << "ticker: sent " << count << std::endl;
        if (max_ticks != 0 && count == max_ticks) {
            break; // the dataflow finishes when its spawned nodes have exited
        }
    }
    std::cout << "ticker: sent " << count << " counts" << std::endl;
    return 0;
}
