// A dataflow's shared-memory segment: one sealed memfd ("zeroflow-<uuid hex>"), sized once and
// sealed against shrinking and growing before anyone maps it. The daemon creates it; nodes get
// its descriptor over the control socket (SCM_RIGHTS) and check its seals before mapping it.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>

#include <sys/types.h>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::shm {

/// The seals every segment carries: no process can change its size (F_SEAL_SHRINK, F_SEAL_GROW),
/// nor take the seals off or add F_SEAL_WRITE (F_SEAL_SEAL).
int required_seals() noexcept;

/// How much of a segment a process maps.
enum class Mapping : std::uint8_t {
    whole,  ///< everything (nodes: they send and receive in the pools)
    daemon, ///< the control area and the daemon's own (timer) pools: Layout::daemon_size
};

class Segment {
public:
    /// Creates the segment for `spec` (daemon side): memfd_create(MFD_ALLOW_SEALING |
    /// MFD_CLOEXEC), ftruncate to the layout's size, reserve the control area's pages (so that
    /// no memory is an error here, not a SIGBUS later), seal, map `mapping`, write the header.
    static Result<Segment> create(const LayoutSpec& spec,
                                  Mapping mapping = Mapping::whole) noexcept;

    /// Opens the segment behind `fd` (node side; takes ownership of `fd` whatever the result):
    /// the seals must be in place and the size exact (segment_unsealed, segment_truncated), and
    /// magic, layout version, UUID, generation, size and layout hash must all match `spec`.
    static Result<Segment> open(const LayoutSpec& spec, int fd) noexcept;

    /// Opens the segment of `spec` that process `pid` holds, through /proc/<pid>/fd (tests,
    /// benchmarks and tools of the same user). segment_missing when `pid` holds none.
    static Result<Segment> open_held_by(pid_t pid, const LayoutSpec& spec) noexcept;

    /// The memfd name of a dataflow's segment: "zeroflow-<uuid hex>". It shows in
    /// /proc/<pid>/maps as "/memfd:zeroflow-<uuid hex> (deleted)".
    static std::string name_for(const std::array<std::uint8_t, 16>& uuid);

    /// Checks that `fd` carries required_seals() (F_GET_SEALS). segment_unsealed otherwise.
    static Result<void> check_seals(int fd) noexcept;

    Segment(Segment&&) noexcept;
    Segment& operator=(Segment&&) noexcept;
    ~Segment(); ///< unmaps and closes; the memory goes when the last process lets go of it

    std::byte* base() const noexcept;
    const Layout& layout() const noexcept;
    const LayoutSpec& spec() const noexcept;
    const std::string& name() const noexcept;
    /// The memfd (close-on-exec). Hand a dup of it to a node; never close it.
    int fd() const noexcept;
    /// Bytes mapped from base(): total_size, or daemon_size for Mapping::daemon.
    std::uint64_t mapped_size() const noexcept;

    /// Reserves the pages of [offset, offset + size) so that later writes cannot SIGBUS.
    Result<void> reserve(std::uint64_t offset, std::uint64_t size) const noexcept;

    template <typename T>
    T& at(std::uint64_t offset) const noexcept {
        return *reinterpret_cast<T*>(base() + offset);
    }

private:
    struct Impl;
    explicit Segment(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

} // namespace zeroflow::shm
