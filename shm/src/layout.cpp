// Computes where every block, ring and pool of a dataflow's segment lands.
#include <algorithm>
#include <bit>
#include <limits>
#include <string>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::shm {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kMaxSegmentSize = 1ULL << 40; // 1 TiB of address space, mostly sparse
// Size classes below the output's maximum; the maximum itself is always the last class.
constexpr std::array<std::uint64_t, 6> kClassSteps = {1ULL << 10, 16ULL << 10, 256ULL << 10,
                                                      4ULL << 20, 64ULL << 20, 1ULL << 30};

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

class Hasher {
public:
    void add(const void* data, std::size_t size) {
        const auto* bytes = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < size; ++i) {
            value_ = (value_ ^ bytes[i]) * 0x100000001b3ULL;
        }
    }
    template <typename T>
    void add(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        add(&value, sizeof(value));
    }
    void add(const std::string& text) {
        add(text.size());
        add(text.data(), text.size());
    }
    std::uint64_t value() const { return value_; }

private:
    std::uint64_t value_ = 0xcbf29ce484222325ULL;
};

std::uint64_t hash_spec(const LayoutSpec& spec) {
    Hasher h;
    h.add(kLayoutVersion);
    h.add(spec.uuid);
    h.add(spec.generation);
    h.add(spec.node_count);
    h.add(spec.outputs.size());
    for (const auto& o : spec.outputs) {
        h.add(o.owner);
        h.add(o.name);
        h.add(o.max_message_size);
        h.add(o.chunks_per_class);
        h.add(o.max_metadata_size);
    }
    h.add(spec.connections.size());
    for (const auto& c : spec.connections) {
        h.add(c.output);
        h.add(c.receiver);
        h.add(c.queue_size);
        h.add(c.input);
    }
    return h.value();
}

Error invalid(std::string message) {
    return Error{ErrorCode::invalid_layout, std::move(message)};
}

} // namespace

std::uint32_t default_chunks_per_class(const std::vector<std::uint32_t>& queue_sizes) noexcept {
    // Enough for the fullest queue, two chunks held by each receiver and two loans in flight.
    std::uint32_t largest = 0;
    for (auto q : queue_sizes) {
        largest = std::max(largest, q);
    }
    const auto receivers = static_cast<std::uint32_t>(queue_sizes.size());
    return std::max<std::uint32_t>(4, largest + 2 * receivers + 2);
}

Result<Layout> compute_layout(const LayoutSpec& spec) noexcept {
    try {
        Layout layout;
        layout.hash = hash_spec(spec);
        std::uint64_t offset = kPage; // the header owns the first page

        layout.node_blocks.reserve(spec.node_count);
        for (std::uint32_t n = 0; n < spec.node_count; ++n) {
            layout.node_blocks.push_back(offset);
            offset += sizeof(NodeBlock);
        }

        layout.outputs.resize(spec.outputs.size());
        for (std::size_t o = 0; o < spec.outputs.size(); ++o) {
            const auto& os = spec.outputs[o];
            if (os.owner != kDaemonOwner && os.owner >= spec.node_count) {
                return std::unexpected(invalid("output '" + os.name + "' has no owner node"));
            }
            if (os.max_message_size == 0 || os.max_message_size > kMaxMessageSizeLimit) {
                return std::unexpected(
                    invalid("output '" + os.name + "': max_message_size must be 1 byte .. 4 GiB"));
            }
            if (os.max_metadata_size > kMaxMetadataSizeLimit) {
                return std::unexpected(
                    invalid("output '" + os.name + "': max_metadata_size must be at most 1 MiB"));
            }
            auto& ol = layout.outputs[o];
            ol.block_offset = offset;
            ol.owner = os.owner;
            ol.max_message_size = os.max_message_size;
            ol.max_metadata_size = os.max_metadata_size;
            ol.metadata_area = kParametersOffset + align_up(os.max_metadata_size, kCacheLine);
            ol.name = os.name;
            offset += sizeof(OutputBlock);
        }

        layout.connections.resize(spec.connections.size());
        for (std::size_t c = 0; c < spec.connections.size(); ++c) {
            const auto& cs = spec.connections[c];
            if (cs.output >= spec.outputs.size() || cs.receiver >= spec.node_count) {
                return std::unexpected(invalid("connection to input '" + cs.input +
                                               "' names an unknown output or node"));
            }
            if (cs.queue_size == 0 || cs.queue_size > kMaxQueueSize) {
                return std::unexpected(
                    invalid("input '" + cs.input + "': queue_size must be 1..1024"));
            }
            auto& ol = layout.outputs[cs.output];
            if (ol.connections.size() >= kMaxFanOut) {
                return std::unexpected(invalid("output '" + ol.name + "' feeds more than " +
                                               std::to_string(kMaxFanOut) + " inputs"));
            }
            auto& cl = layout.connections[c];
            cl.output = cs.output;
            cl.receiver = cs.receiver;
            cl.queue_size = cs.queue_size;
            cl.input = cs.input;
            cl.index_in_output = static_cast<std::uint32_t>(ol.connections.size());
            ol.connections.push_back(static_cast<std::uint32_t>(c));
        }

        // Pools: size classes per output, then the rings whose return side depends on them.
        std::uint64_t pool_bytes = 0;
        for (std::size_t o = 0; o < spec.outputs.size(); ++o) {
            const auto& os = spec.outputs[o];
            auto& ol = layout.outputs[o];
            std::uint32_t count = os.chunks_per_class;
            if (count == 0) {
                std::vector<std::uint32_t> queues;
                for (auto c : ol.connections) {
                    queues.push_back(layout.connections[c].queue_size);
                }
                count = default_chunks_per_class(queues);
            }
            if (count < 2) {
                return std::unexpected(invalid("output '" + os.name + "': chunks must be >= 2"));
            }
            std::vector<std::uint64_t> capacities;
            for (auto step : kClassSteps) {
                if (step < os.max_message_size) {
                    capacities.push_back(step);
                }
            }
            capacities.push_back(align_up(os.max_message_size, kCacheLine));
            std::uint64_t chunks = 0;
            for (auto capacity : capacities) {
                ClassLayout cl;
                cl.capacity = capacity;
                cl.stride = align_up(sizeof(ChunkHeader) + capacity + ol.metadata_area,
                                     capacity >= (16U << 10) ? kPage : kCacheLine);
                cl.count = count;
                cl.first_chunk = static_cast<std::uint32_t>(chunks);
                chunks += count;
                if (chunks > kMaxChunksPerOutput) {
                    return std::unexpected(invalid("output '" + os.name + "' has too many chunks"));
                }
                const auto bytes = static_cast<long double>(cl.stride) * count;
                if (bytes + static_cast<long double>(pool_bytes) >
                    static_cast<long double>(kMaxSegmentSize)) {
                    return std::unexpected(
                        invalid("output '" + os.name +
                                "': pools exceed 1 TiB of address space; lower max_message_size, "
                                "chunks or queue_size"));
                }
                pool_bytes += cl.stride * count;
                ol.classes.push_back(cl);
            }
            ol.total_chunks = static_cast<std::uint32_t>(chunks);
        }

        for (auto& cl : layout.connections) {
            const auto& ol = layout.outputs[cl.output];
            offset = align_up(offset, kCacheLine);
            cl.block_offset = offset;
            offset += sizeof(ConnectionBlock);
            cl.submit_slots = offset;
            offset =
                align_up(offset + std::uint64_t{cl.queue_size} * sizeof(std::uint64_t), kCacheLine);
            cl.return_capacity = std::bit_ceil(std::max<std::uint32_t>(ol.total_chunks, 2));
            cl.return_slots = offset;
            offset = align_up(offset + std::uint64_t{cl.return_capacity} * sizeof(std::uint32_t),
                              kCacheLine);
        }

        layout.control_size = align_up(offset, kPage);
        offset = layout.control_size;
        // The daemon's own pools (timers) first: it maps [0, daemon_size) and nothing more.
        for (const bool daemon_owned : {true, false}) {
            for (auto& ol : layout.outputs) {
                if ((ol.owner == kDaemonOwner) != daemon_owned) {
                    continue;
                }
                for (auto& cl : ol.classes) {
                    cl.offset = offset;
                    offset += cl.stride * cl.count;
                }
            }
            if (daemon_owned) {
                offset = align_up(offset, kPage);
                layout.daemon_size = offset;
            }
        }
        layout.total_size = offset;
        return layout;
    } catch (const std::exception& e) {
        return std::unexpected(invalid(std::string("cannot lay out the segment: ") + e.what()));
    }
}

const char* to_string(ErrorCode code) noexcept {
    switch (code) {
    case ErrorCode::invalid_layout:
        return "invalid_layout";
    case ErrorCode::segment_exists:
        return "segment_exists";
    case ErrorCode::segment_missing:
        return "segment_missing";
    case ErrorCode::segment_mismatch:
        return "segment_mismatch";
    case ErrorCode::segment_truncated:
        return "segment_truncated";
    case ErrorCode::segment_unsealed:
        return "segment_unsealed";
    case ErrorCode::no_space:
        return "no_space";
    case ErrorCode::message_too_large:
        return "message_too_large";
    case ErrorCode::pool_exhausted:
        return "pool_exhausted";
    case ErrorCode::invalid_argument:
        return "invalid_argument";
    case ErrorCode::closed:
        return "closed";
    case ErrorCode::system:
        return "system";
    }
    return "unknown";
}

} // namespace zeroflow::shm
