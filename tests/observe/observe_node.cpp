// A node for the observer tests, sending until Stop, one message every PERIOD_US:
//   text_source [PERIOD_US]          "hello <k> été" with encoding utf-8 (for `topic echo`);
//   pattern_source PERIOD_US SIZE    message k: u8 of shape {SIZE + k % 7}, byte i =
//                                    (k * 7 + i * 13) % 256, encoding "pattern", parameter
//                                    k = k (recordings are checked against this, byte by byte).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include <zeroflow/node.hpp>

int main(int argc, char** argv) {
    const std::string role = argc > 1 ? argv[1] : "";
    const auto period = std::chrono::microseconds(argc > 2 ? std::stoll(argv[2]) : 1000);
    auto node = zeroflow::Node::from_env();
    if (!node || (role != "text_source" && role != "pattern_source")) {
        std::cerr << "usage: observe_node text_source|pattern_source [PERIOD_US] [SIZE]\n";
        return 2;
    }
    auto output = node->output("out");
    if (!output) {
        std::cerr << output.error().message() << "\n";
        return 1;
    }
    const std::uint64_t size = argc > 3 ? std::stoull(argv[3]) : 1000;
    auto next = std::chrono::steady_clock::now();
    for (std::uint64_t k = 1; role == "pattern_source"; ++k) {
        next += period;
        const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(
            next - std::chrono::steady_clock::now());
        if (auto event = node->next(std::max(wait, std::chrono::nanoseconds(0)));
            event && event->kind == zeroflow::EventKind::Stop) {
            return 0;
        }
        const std::uint64_t n = size + k % 7;
        auto sample = output->loan<std::uint8_t>(n);
        if (!sample) {
            continue;
        }
        // The pattern repeats every 256 bytes: one period, then copies (1 MiB at 1 kHz).
        std::array<std::byte, 256> period_bytes{};
        for (std::uint64_t i = 0; i < 256; ++i) {
            period_bytes[i] = static_cast<std::byte>((k * 7 + i * 13) % 256);
        }
        auto data = sample->data();
        for (std::uint64_t i = 0; i < n; i += 256) {
            std::memcpy(data.data() + i, period_bytes.data(), std::min<std::uint64_t>(256, n - i));
        }
        sample->set_encoding("pattern");
        sample->metadata().set("k", k);
        if (!node->send(std::move(*sample))) {
            return 0;
        }
    }
    for (std::uint64_t k = 1;; ++k) {
        if (auto event = node->next(period); event && event->kind == zeroflow::EventKind::Stop) {
            return 0;
        }
        const auto text = "hello " + std::to_string(k) + " \xc3\xa9t\xc3\xa9";
        auto sample = output->loan(text.size());
        if (!sample) {
            continue; // pool_exhausted while an observer holds chunks: try at the next tick
        }
        std::memcpy(sample->data().data(), text.data(), text.size());
        sample->set_encoding("utf-8");
        if (!node->send(std::move(*sample))) {
            return 0; // closed: the dataflow ends
        }
    }
}
