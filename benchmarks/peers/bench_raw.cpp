// bench_raw: the floor. Two processes, two raw SPSC index rings (raw_ring.hpp) and two payload
// areas in one POSIX shm object (mode 0600, unlinked at the end); busy or futex waiting.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zeroflow/bench/peer.hpp>
#include <zeroflow/bench/process.hpp>
#include <zeroflow/bench/raw_ring.hpp>

namespace zb = zeroflow::bench;
namespace raw = zeroflow::bench::raw;

namespace {

constexpr std::size_t kSlotHeader = 64; // holds the message length; keeps payloads aligned
// Payload slots per direction: as many as fit in 64 MiB, at least 2, at most 1024.
constexpr std::uint64_t kPayloadAreaTarget = 64ULL << 20;
// Slots of at least this size are reused last-released-first (hot in cache, as a chunk pool
// would); smaller ones rotate (cheaper: no read of the consumer's index per message, and
// 1024 small slots fit in cache anyway).
constexpr std::size_t kReuseMinSlot = 64 * 1024;

/// Where everything lives in the segment. Both processes compute it from the point size.
struct Layout {
    std::uint32_t capacity{0}; // ring capacity == payload slots per direction
    std::size_t slot_bytes{0};
    std::size_t ring_bytes{0};
    std::size_t total{0};
    std::size_t ring_offset(int direction) const {
        return static_cast<std::size_t>(direction) * ring_bytes;
    }
    std::size_t payload_offset(int direction) const {
        return 2 * ring_bytes + static_cast<std::size_t>(direction) * capacity * slot_bytes;
    }
};

Layout layout_for(std::uint64_t size) {
    Layout l;
    l.slot_bytes = (kSlotHeader + size + raw::kCacheLine - 1) / raw::kCacheLine * raw::kCacheLine;
    const std::uint64_t fit = std::max<std::uint64_t>(1, kPayloadAreaTarget / l.slot_bytes);
    l.capacity =
        static_cast<std::uint32_t>(std::clamp<std::uint64_t>(std::bit_floor(fit), 2, 1024));
    l.ring_bytes = raw::ring_bytes(l.capacity);
    l.total = 2 * l.ring_bytes + 2 * std::size_t{l.capacity} * l.slot_bytes;
    return l;
}

/// One side of the link. Direction 0 is parent -> child, direction 1 child -> parent.
class RawEndpoint {
public:
    RawEndpoint(std::byte* base, const Layout& layout, bool parent, zb::Mode mode)
        : layout_(layout),
          mode_(mode == zb::Mode::busy ? raw::WaitMode::busy : raw::WaitMode::futex),
          tx_(base + layout.ring_offset(parent ? 0 : 1), layout.capacity),
          rx_(base + layout.ring_offset(parent ? 1 : 0), layout.capacity),
          tx_payload_(base + layout.payload_offset(parent ? 0 : 1)),
          rx_payload_(base + layout.payload_offset(parent ? 1 : 0)), slot_of_(layout.capacity) {
        for (std::uint32_t i = layout.capacity; i > 0; --i) {
            free_.push_back(i - 1); // slot 0 on top
        }
    }

    std::span<std::byte> loan(std::size_t n) {
        // Wait for room first: then at least one slot is not held by the consumer.
        tx_.wait_for_space(mode_);
        if (layout_.slot_bytes < kReuseMinSlot) {
            slot_ = static_cast<std::uint32_t>(tx_seq_ & (layout_.capacity - 1));
        } else {
            // Big slots: take back what the consumer released and reuse the slot released
            // last (LIFO, like a chunk pool), so one-in-flight patterns keep a hot buffer.
            const std::uint32_t consumed = tx_.consumed();
            while (reclaimed_ != consumed) {
                free_.push_back(slot_of_[reclaimed_ & (layout_.capacity - 1)]);
                ++reclaimed_;
            }
            slot_ = free_.back();
            free_.pop_back();
        }
        std::byte* p = tx_payload_ + std::size_t{slot_} * layout_.slot_bytes;
        const std::uint64_t length = std::min<std::uint64_t>(n, layout_.slot_bytes - kSlotHeader);
        std::memcpy(p, &length, sizeof length);
        return {p + kSlotHeader, length};
    }

    void send(std::span<std::byte> /*message*/) {
        slot_of_[tx_seq_ & (layout_.capacity - 1)] = slot_;
        tx_.push(slot_, mode_);
        ++tx_seq_;
    }

    std::span<const std::byte> receive() {
        const std::uint32_t slot = rx_.front(mode_);
        if (slot >= layout_.capacity) {
            std::fprintf(stderr, "error: raw ring delivered slot %u out of range\n", slot);
            std::abort();
        }
        const std::byte* p = rx_payload_ + std::size_t{slot} * layout_.slot_bytes;
        std::uint64_t length = 0;
        std::memcpy(&length, p, sizeof length);
        length = std::min<std::uint64_t>(length, layout_.slot_bytes - kSlotHeader);
        return {p + kSlotHeader, length};
    }

    void release() { rx_.pop(mode_); }

private:
    Layout layout_;
    raw::WaitMode mode_;
    raw::Producer tx_;
    raw::Consumer rx_;
    std::byte* tx_payload_;
    std::byte* rx_payload_;
    std::uint64_t tx_seq_{0};
    std::uint32_t slot_{0};
    std::vector<std::uint32_t> free_;    // big slots not in the ring, last released on top
    std::vector<std::uint32_t> slot_of_; // ring position -> slot pushed there
    std::uint32_t reclaimed_{0};         // ring positions whose slot went back to free_
};

/// MAP_POPULATE: every page is mapped before the first sample. Small slots rotate through up to
/// 1,024 of them, so a short round (bench_interleave's 500 samples) would otherwise take a page
/// fault per message at 4 KiB and measure the kernel instead of the floor.
std::byte* map_segment(int fd, std::size_t bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        std::perror("mmap");
        return nullptr;
    }
    return static_cast<std::byte*>(p);
}

int run_child(const zb::Options& options) {
    const zb::PointSpec point = zb::child_setup(options);
    const auto it = options.extra.find("shm");
    if (it == options.extra.end()) {
        std::fprintf(stderr, "error: child needs --shm\n");
        return 2;
    }
    const Layout layout = layout_for(point.size);
    const int fd = ::shm_open(it->second.c_str(), O_RDWR, 0600);
    if (fd < 0) {
        std::perror("shm_open (child)");
        return 1;
    }
    std::byte* base = map_segment(fd, layout.total);
    ::close(fd);
    if (base == nullptr) {
        return 1;
    }
    RawEndpoint ep(base, layout, false, point.mode);
    zb::run_child(ep, point);
    ::munmap(base, layout.total);
    return 0;
}

int run_parent(const zb::Options& options) {
    zb::JsonlWriter writer(std::cout);
    zb::parent_setup(options, writer);
    int index = 0;
    for (const auto& point : zb::expand_points(options)) {
        const Layout layout = layout_for(point.size);
        const std::string name =
            "/zfbench-raw-" + std::to_string(::getpid()) + "-" + std::to_string(index++);
        zb::cleanup_add_shm(name);
        const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(layout.total)) != 0) {
            std::perror("shm_open/ftruncate");
            zb::run_cleanup();
            return 1;
        }
        std::byte* base = map_segment(fd, layout.total);
        ::close(fd);
        if (base == nullptr) {
            zb::run_cleanup();
            return 1;
        }
        raw::ring_init(base + layout.ring_offset(0), layout.capacity);
        raw::ring_init(base + layout.ring_offset(1), layout.capacity);

        const auto pid = zb::spawn_self(zb::child_args(point, {{"shm", name}}));
        if (!pid) {
            std::fprintf(stderr, "error: cannot spawn child: %s\n", std::strerror(pid.error()));
            zb::run_cleanup();
            return 1;
        }
        zb::cleanup_add_child(*pid);
        zb::Measured measured;
        {
            zb::ChildWatch watch(*pid, zb::point_deadline(point), "bench_raw child");
            RawEndpoint ep(base, layout, true, point.mode);
            measured = zb::run_parent(ep, point, watch);
            if (const int status = watch.finish(); status != 0) {
                std::fprintf(stderr, "warning: bench_raw child exited with %d\n", status);
            }
        }
        ::munmap(base, layout.total);
        ::shm_unlink(name.c_str());
        zb::cleanup_forget_shm(name);
        writer.point(zb::make_result("raw", point, std::move(measured)));
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    auto options = zb::parse_options(argc, argv);
    if (!options) {
        if (options.error() != "help") {
            std::fprintf(stderr, "error: %s\n", options.error().c_str());
        }
        std::fputs(zb::options_usage("bench_raw").c_str(), stderr);
        return options.error() == "help" ? 0 : 2;
    }
    return options->role == "child" ? run_child(*options) : run_parent(*options);
}
