// A node for the observer tests, sending until Stop, one message every PERIOD_US:
//   text_source [PERIOD_US]          "hello <k> été" with encoding utf-8 (for `topic echo`);
//   pattern_source PERIOD_US SIZE    message k: u8 of shape {SIZE + k % 7}, byte i =
//                                    (k * 7 + i * 13) % 256, encoding "pattern", parameter
//                                    k = k (recordings are checked against this, byte by byte);
//   pattern_sink REPORT              checks every message on `in` against that pattern (by its
//                                    parameter k) and writes received/ok/bad/first/last/gaps.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include <zeroflow/node.hpp>

namespace {

void write_report(const std::string& path, const std::string& text) {
    const auto tmp = path + ".tmp";
    std::ofstream(tmp) << text;
    std::rename(tmp.c_str(), path.c_str());
}

int pattern_sink(zeroflow::Node& node, const std::string& report) {
    std::uint64_t received = 0, ok = 0, bad = 0, first = 0, last = 0, gaps = 0;
    const auto save = [&](bool done) {
        write_report(report,
                     "received=" + std::to_string(received) + "\nok=" + std::to_string(ok) +
                         "\nbad=" + std::to_string(bad) + "\nfirst=" + std::to_string(first) +
                         "\nlast=" + std::to_string(last) + "\ngaps=" + std::to_string(gaps) +
                         "\ndone=" + (done ? "1" : "0") + "\n");
    };
    save(false);
    for (;;) {
        const auto event = node.next();
        if (event.kind == zeroflow::EventKind::Stop) {
            break;
        }
        if (event.kind != zeroflow::EventKind::Input) {
            continue;
        }
        ++received;
        const auto k = event.metadata().get<std::uint64_t>("k").value_or(0);
        bool good = k != 0 && event.dtype() == zeroflow::DataType::u8 &&
                    event.encoding() == "pattern" && event.shape().size() == 1 &&
                    event.shape()[0] == event.data.size() && event.metadata().keys().size() == 1;
        for (std::size_t i = 0; good && i < event.data.size(); ++i) {
            good = event.data[i] == static_cast<std::byte>((k * 7 + i * 13) % 256);
        }
        (good ? ok : bad) += 1;
        if (first == 0) {
            first = k;
        } else if (k != last + 1) {
            ++gaps;
        }
        last = k;
        if (received % 100 == 0) {
            save(false);
        }
    }
    save(true);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string role = argc > 1 ? argv[1] : "";
    const bool sink = role == "pattern_sink";
    const auto period = std::chrono::microseconds(argc > 2 && !sink ? std::stoll(argv[2]) : 1000);
    auto node = zeroflow::Node::from_env();
    if (node && role == "pattern_sink" && argc > 2) {
        return pattern_sink(*node, argv[2]);
    }
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
