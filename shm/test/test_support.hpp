// Helpers shared by the shm unit tests: unique specs and a check that /dev/shm is clean.
#pragma once

#include <filesystem>
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

inline bool shm_object_exists(const std::string& name) {
    return std::filesystem::exists(std::filesystem::path("/dev/shm") / name);
}

} // namespace zeroflow::shm::test
