// Creation, sealing, validation and mapping of a dataflow's segment: a memfd sealed against
// shrinking and growing (named POSIX shm cannot be sealed; docs/design/shm.md says why that
// matters), mapped with mmap, pages reserved with posix_fallocate.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/shm/segment.hpp>

namespace zeroflow::shm {

struct Segment::Impl {
    LayoutSpec spec;
    Layout layout;
    std::string name;
    int fd = -1;
    void* base = nullptr;
    std::uint64_t mapped = 0;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (base != nullptr) {
            ::munmap(base, mapped);
        }
        if (fd >= 0) {
            ::close(fd);
        }
    }
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

Result<void*> map_fd(int fd, const std::string& name, std::uint64_t size) {
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        return std::unexpected(system_error(
            "cannot map shared memory '" + name + "' (" + std::to_string(size) + " bytes)", errno));
    }
    return base;
}

} // namespace

int required_seals() noexcept {
    return F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
}

std::string Segment::name_for(const std::array<std::uint8_t, 16>& uuid) {
    return "zeroflow-" + hex(uuid);
}

Result<void> Segment::check_seals(int fd) noexcept {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
        return std::unexpected(Error{ErrorCode::segment_unsealed,
                                     std::string("the segment's descriptor cannot be sealed (") +
                                         std::strerror(errno) + "): it is not a zeroflow memfd"});
    }
    if ((seals & required_seals()) != required_seals()) {
        return std::unexpected(
            Error{ErrorCode::segment_unsealed,
                  "the segment's descriptor is not sealed against shrinking and growing (seals " +
                      std::to_string(seals) + "): refusing to map it"});
    }
    return {};
}

Segment::Segment(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Segment::Segment(Segment&&) noexcept = default;
Segment& Segment::operator=(Segment&&) noexcept = default;
Segment::~Segment() = default;

std::byte* Segment::base() const noexcept {
    return static_cast<std::byte*>(impl_->base);
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
    return impl_->fd;
}
std::uint64_t Segment::mapped_size() const noexcept {
    return impl_->mapped;
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
        if (rc == ENOSPC || rc == ENOMEM) {
            return std::unexpected(
                Error{ErrorCode::no_space,
                      "no memory left for " + std::to_string(size) +
                          " bytes of shared memory; free memory or lower the dataflow's "
                          "max_message_size/chunks (shm: section)"});
        }
        return std::unexpected(system_error("fallocate on " + impl_->name, rc));
    }
}

Result<Segment> Segment::create(const LayoutSpec& spec, Mapping mapping) noexcept {
    auto layout = compute_layout(spec);
    if (!layout) {
        return std::unexpected(layout.error());
    }
    std::unique_ptr<Impl> impl(new (std::nothrow) Impl);
    if (!impl) {
        return std::unexpected(Error{ErrorCode::system, "out of memory creating a segment"});
    }
    try {
        impl->spec = spec;
        impl->layout = std::move(*layout);
        impl->name = name_for(spec.uuid);
    } catch (const std::bad_alloc&) {
        return std::unexpected(Error{ErrorCode::system, "out of memory creating a segment"});
    }
    impl->fd = ::memfd_create(impl->name.c_str(), MFD_ALLOW_SEALING | MFD_CLOEXEC);
    if (impl->fd < 0) {
        return std::unexpected(system_error("memfd_create " + impl->name, errno));
    }
    const auto total = impl->layout.total_size;
    if (::ftruncate(impl->fd, static_cast<off_t>(total)) != 0) {
        return std::unexpected(system_error("cannot size shared memory '" + impl->name + "' to " +
                                                std::to_string(total) + " bytes",
                                            errno));
    }
    Segment segment(std::move(impl));
    auto& in = *segment.impl_;
    if (auto reserved = segment.reserve(0, in.layout.control_size); !reserved) {
        return std::unexpected(reserved.error());
    }
    if (::fcntl(in.fd, F_ADD_SEALS, required_seals()) != 0) {
        return std::unexpected(system_error("cannot seal shared memory '" + in.name + "'", errno));
    }
    const auto size = mapping == Mapping::whole ? total : in.layout.daemon_size;
    auto mapped = map_fd(in.fd, in.name, size);
    if (!mapped) {
        return std::unexpected(mapped.error());
    }
    in.base = *mapped;
    in.mapped = size;
    // The memfd is zero-filled; atomics start at 0. Write the header last.
    auto& header = segment.at<SegmentHeader>(0);
    header.layout_version = kLayoutVersion;
    header.header_size = sizeof(SegmentHeader);
    header.uuid = spec.uuid;
    header.generation = spec.generation;
    header.total_size = total;
    header.layout_hash = in.layout.hash;
    std::atomic_thread_fence(std::memory_order_release);
    header.magic = kMagic;
    return segment;
}

Result<Segment> Segment::open(const LayoutSpec& spec, int fd) noexcept {
    std::unique_ptr<Impl> impl(new (std::nothrow) Impl);
    if (!impl) {
        if (fd >= 0) {
            ::close(fd);
        }
        return std::unexpected(Error{ErrorCode::system, "out of memory opening a segment"});
    }
    impl->fd = fd;
    if (fd < 0) {
        return std::unexpected(
            Error{ErrorCode::segment_missing,
                  "the daemon sent no shared-memory descriptor: the dataflow is not running"});
    }
    auto layout = compute_layout(spec);
    if (!layout) {
        return std::unexpected(layout.error());
    }
    try {
        impl->spec = spec;
        impl->layout = std::move(*layout);
        impl->name = name_for(spec.uuid);
    } catch (const std::bad_alloc&) {
        return std::unexpected(Error{ErrorCode::system, "out of memory opening a segment"});
    }
    // Seals first: once they hold, the size checked below is the size for good, and no access
    // within it can SIGBUS.
    if (auto sealed = check_seals(fd); !sealed) {
        return std::unexpected(sealed.error());
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return std::unexpected(system_error("fstat of shared memory '" + impl->name + "'", errno));
    }
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) != impl->layout.total_size) {
        return std::unexpected(Error{ErrorCode::segment_truncated,
                                     "shared memory '" + impl->name + "' has " +
                                         std::to_string(st.st_size) + " bytes, its layout needs " +
                                         std::to_string(impl->layout.total_size)});
    }
    auto mapped = map_fd(impl->fd, impl->name, impl->layout.total_size);
    if (!mapped) {
        return std::unexpected(mapped.error());
    }
    impl->base = *mapped;
    impl->mapped = impl->layout.total_size;
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

Result<Segment> Segment::open_held_by(pid_t pid, const LayoutSpec& spec) noexcept {
    try {
        const auto want = "/memfd:" + name_for(spec.uuid);
        const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/fd";
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
            if (ec || !target.starts_with(want)) {
                continue;
            }
            const int fd = ::open(entry.path().c_str(), O_RDWR | O_CLOEXEC);
            if (fd >= 0) {
                return open(spec, fd);
            }
        }
        return std::unexpected(
            Error{ErrorCode::segment_missing,
                  "process " + std::to_string(pid) + " holds no segment " + name_for(spec.uuid)});
    } catch (const std::exception& e) {
        return std::unexpected(Error{ErrorCode::system, e.what()});
    }
}

} // namespace zeroflow::shm
