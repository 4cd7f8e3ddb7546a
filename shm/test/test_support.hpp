// Helpers shared by the shm unit tests: unique specs and a check that no segment is left mapped
// or open in this process.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::shm::test {

inline std::array<std::uint8_t, 16> random_uuid() {
    std::random_device rd;
    std::array<std::uint8_t, 16> uuid{};
    for (auto& b : uuid) {
        b = static_cast<std::uint8_t>(rd());
    }
    return uuid;
}

/// node 0 sends `outputs` outputs; node 1.. receive: each (output, receiver) pair gets a queue.
inline LayoutSpec simple_spec(std::uint32_t receivers, std::uint32_t queue_size,
                              std::uint64_t max_message = 1 << 20, std::uint32_t chunks = 0) {
    LayoutSpec spec;
    spec.uuid = random_uuid();
    spec.generation = 1;
    spec.node_count = 1 + receivers;
    spec.outputs.push_back(OutputSpec{0, "src/out", max_message, chunks});
    for (std::uint32_t r = 1; r <= receivers; ++r) {
        spec.connections.push_back(ConnectionSpec{0, r, queue_size, "in"});
    }
    return spec;
}

/// True while this process maps a segment named `name` or holds a descriptor of it.
inline bool segment_held(const std::string& name) {
    const auto needle = "/memfd:" + name;
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
        if (line.find(needle) != std::string::npos) {
            return true;
        }
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        if (std::filesystem::read_symlink(e.path(), ec).string().starts_with(needle)) {
            return true;
        }
    }
    return false;
}

} // namespace zeroflow::shm::test
