// Creation, validation and removal of a dataflow's segment (Boost.Interprocess for the object
// and its mapping; fallocate for page reservation).
#include <cerrno>
#include <cstring>
#include <new>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <zeroflow/shm/segment.hpp>

namespace zeroflow::shm {

namespace bip = boost::interprocess;

struct Segment::Impl {
    LayoutSpec spec;
    Layout layout;
    std::string name;
    bip::shared_memory_object object;
    bip::mapped_region region;
    bool owner = false;
    bool unlinked = false;
};

namespace {

std::string hex(const std::array<std::uint8_t, 16>& uuid) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (auto b : uuid) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

Error system_error(const std::string& what, int err) {
    return Error{ErrorCode::system, what + ": " + std::strerror(err)};
}

} // namespace

std::string Segment::name_for(const std::array<std::uint8_t, 16>& uuid) {
    return "zeroflow-" + std::to_string(::getuid()) + "-" + hex(uuid);
}

bool Segment::remove(const std::string& name) noexcept {
    try {
        return bip::shared_memory_object::remove(name.c_str());
    } catch (...) {
        return false;
    }
}

Segment::Segment(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Segment::Segment(Segment&&) noexcept = default;
Segment& Segment::operator=(Segment&&) noexcept = default;

Segment::~Segment() {
    if (impl_ && impl_->owner && !impl_->unlinked) {
        destroy();
    }
}

void Segment::destroy() noexcept {
    if (impl_ && !impl_->unlinked) {
        remove(impl_->name);
        impl_->unlinked = true;
    }
}

std::byte* Segment::base() const noexcept {
    return static_cast<std::byte*>(impl_->region.get_address());
}
const Layout& Segment::layout() const noexcept {
    return impl_->layout;
}
const LayoutSpec& Segment::spec() const noexcept {
    return impl_->spec;
}
const std::string& Segment::name() const noexcept {
    return impl_->name;
}
int Segment::fd() const noexcept {
    return impl_->object.get_mapping_handle().handle;
}

Result<void> Segment::reserve(std::uint64_t offset, std::uint64_t size) const noexcept {
    for (;;) {
        const int rc =
            ::posix_fallocate(fd(), static_cast<off_t>(offset), static_cast<off_t>(size));
        if (rc == 0) {
            return {};
        }
        if (rc == EINTR) {
            continue;
        }
        if (rc == ENOSPC) {
            return std::unexpected(
                Error{ErrorCode::no_space,
                      "no space left in /dev/shm for " + std::to_string(size) +
                          " bytes of shared memory; free space there or lower the dataflow's "
                          "max_message_size/chunks (shm: section)"});
        }
        return std::unexpected(system_error("fallocate on " + impl_->name, rc));
    }
}

Result<Segment> Segment::create(const LayoutSpec& spec) noexcept {
    auto layout = compute_layout(spec);
    if (!layout) {
        return std::unexpected(layout.error());
    }
    auto impl = std::make_unique<Impl>();
    impl->spec = spec;
    impl->layout = std::move(*layout);
    impl->name = name_for(spec.uuid);
    try {
        impl->object = bip::shared_memory_object(bip::create_only, impl->name.c_str(),
                                                 bip::read_write, bip::permissions(0600));
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::already_exists_error) {
            return std::unexpected(Error{ErrorCode::segment_exists,
                                         "shared memory '" + impl->name + "' already exists"});
        }
        return std::unexpected(Error{ErrorCode::system, "cannot create shared memory '" +
                                                            impl->name + "': " + e.what()});
    }
    impl->owner = true;
    Segment segment(std::move(impl));
    auto& in = *segment.impl_;
    try {
        in.object.truncate(static_cast<bip::offset_t>(in.layout.total_size));
        in.region = bip::mapped_region(in.object, bip::read_write);
    } catch (const std::exception& e) {
        return std::unexpected(Error{
            ErrorCode::system, "cannot size or map shared memory '" + in.name + "' (" +
                                   std::to_string(in.layout.total_size) + " bytes): " + e.what()});
    }
    if (auto reserved = segment.reserve(0, in.layout.control_size); !reserved) {
        return std::unexpected(reserved.error());
    }
    // The object is zero-filled; atomics start at 0. Write the header last.
    auto& header = segment.at<SegmentHeader>(0);
    header.layout_version = kLayoutVersion;
    header.header_size = sizeof(SegmentHeader);
    header.uuid = spec.uuid;
    header.generation = spec.generation;
    header.total_size = in.layout.total_size;
    header.layout_hash = in.layout.hash;
    std::atomic_thread_fence(std::memory_order_release);
    header.magic = kMagic;
    return segment;
}

Result<Segment> Segment::open(const LayoutSpec& spec) noexcept {
    auto layout = compute_layout(spec);
    if (!layout) {
        return std::unexpected(layout.error());
    }
    auto impl = std::make_unique<Impl>();
    impl->spec = spec;
    impl->layout = std::move(*layout);
    impl->name = name_for(spec.uuid);
    try {
        impl->object =
            bip::shared_memory_object(bip::open_only, impl->name.c_str(), bip::read_write);
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::not_found_error) {
            return std::unexpected(Error{ErrorCode::segment_missing,
                                         "no shared memory '" + impl->name +
                                             "': the dataflow is not running (or was stopped)"});
        }
        return std::unexpected(Error{ErrorCode::system, "cannot open shared memory '" + impl->name +
                                                            "': " + e.what()});
    }
    bip::offset_t size = 0;
    if (!impl->object.get_size(size) || size < 0 ||
        static_cast<std::uint64_t>(size) < impl->layout.total_size) {
        return std::unexpected(Error{ErrorCode::segment_truncated,
                                     "shared memory '" + impl->name + "' has " +
                                         std::to_string(size) + " bytes, its layout needs " +
                                         std::to_string(impl->layout.total_size)});
    }
    try {
        impl->region =
            bip::mapped_region(impl->object, bip::read_write, 0, impl->layout.total_size);
    } catch (const std::exception& e) {
        return std::unexpected(
            Error{ErrorCode::system, "cannot map shared memory '" + impl->name + "': " + e.what()});
    }
    Segment segment(std::move(impl));
    const auto& in = *segment.impl_;
    const auto& header = segment.at<SegmentHeader>(0);
    const auto magic = header.magic;
    std::atomic_thread_fence(std::memory_order_acquire);
    std::string mismatch;
    if (magic != kMagic) {
        mismatch = "bad magic";
    } else if (header.layout_version != kLayoutVersion) {
        mismatch = "layout version " + std::to_string(header.layout_version) + ", expected " +
                   std::to_string(kLayoutVersion);
    } else if (header.uuid != spec.uuid) {
        mismatch = "another dataflow's UUID";
    } else if (header.generation != spec.generation) {
        mismatch = "generation " + std::to_string(header.generation) + ", expected " +
                   std::to_string(spec.generation);
    } else if (header.total_size != in.layout.total_size) {
        mismatch = "size " + std::to_string(header.total_size) + ", expected " +
                   std::to_string(in.layout.total_size);
    } else if (header.layout_hash != in.layout.hash) {
        mismatch = "layout hash differs";
    }
    if (!mismatch.empty()) {
        return std::unexpected(
            Error{ErrorCode::segment_mismatch,
                  "shared memory '" + in.name + "' does not match: " + mismatch});
    }
    return segment;
}

} // namespace zeroflow::shm
