// A dataflow's shared-memory segment: one POSIX shm object (mode 0600) named after the user and
// the dataflow's UUID. The daemon creates and destroys it; nodes open it and validate it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <zeroflow/shm/layout.hpp>

namespace zeroflow::shm {

class Segment {
public:
    /// Creates the segment for `spec` (daemon side). Reserves the control area's pages so that a
    /// full /dev/shm fails here, not later. Fails with segment_exists if the name is taken.
    static Result<Segment> create(const LayoutSpec& spec) noexcept;

    /// Opens and validates the segment for `spec` (node side): magic, layout version, UUID,
    /// generation, size and layout hash must all match what the spec gives.
    static Result<Segment> open(const LayoutSpec& spec) noexcept;

    /// The shm object name for a dataflow: "zeroflow-<uid>-<uuid hex>".
    static std::string name_for(const std::array<std::uint8_t, 16>& uuid);

    /// Removes a segment by name (e.g. a dead daemon's leftover). True if one was removed.
    static bool remove(const std::string& name) noexcept;

    Segment(Segment&&) noexcept;
    Segment& operator=(Segment&&) noexcept;
    ~Segment(); ///< unmaps; unlinks too if this handle created it and destroy() was not called

    /// Unlinks the object now (creator only). Mappings stay valid until every process unmaps.
    void destroy() noexcept;

    std::byte* base() const noexcept;
    const Layout& layout() const noexcept;
    const LayoutSpec& spec() const noexcept;
    const std::string& name() const noexcept;
    int fd() const noexcept;

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
