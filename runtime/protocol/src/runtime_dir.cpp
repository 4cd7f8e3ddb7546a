// Resolution and safety checks of the per-user runtime directory.
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/protocol/runtime_dir.hpp>

namespace zeroflow::protocol {
namespace {

std::unexpected<ProtocolError> io_failure(const std::filesystem::path& dir, const std::string& what,
                                          int err) {
    return std::unexpected(ProtocolError{
        ErrorCode::io_error,
        "runtime directory " + dir.string() + ": " + what +
            (err != 0 ? " (" + std::system_category().message(err) + ")" : std::string())});
}

// Closes a file descriptor on scope exit.
struct FdGuard {
    explicit FdGuard(int descriptor) noexcept : fd(descriptor) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    int fd;
};

} // namespace

std::filesystem::path runtime_dir() {
    return runtime_dir(kSystemRuntimeDir);
}

std::filesystem::path runtime_dir(const std::filesystem::path& system_dir) {
    if (const char* dir = std::getenv("ZEROFLOW_RUNTIME_DIR"); dir != nullptr && *dir != '\0') {
        // Absolute, so that processes with another working directory find the same socket.
        std::error_code ec;
        auto absolute = std::filesystem::absolute(dir, ec);
        return ec ? std::filesystem::path(dir) : absolute;
    }
    // A system daemon's directory exists while its service runs; only its own uid may use it.
    if (struct stat st{};
        ::lstat(system_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid()) {
        return system_dir;
    }
    // The XDG base directory spec says relative values are invalid and must be ignored.
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') {
        return std::filesystem::path(xdg) / "zeroflow";
    }
    return std::filesystem::path("/tmp") / ("zeroflow-" + std::to_string(::geteuid()));
}

std::expected<void, ProtocolError> ensure_runtime_dir(const std::filesystem::path& dir) {
    if (dir.empty()) {
        return std::unexpected(ProtocolError{ErrorCode::io_error, "runtime directory is empty"});
    }
    if (const auto parent = dir.parent_path(); !parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            return io_failure(dir, "cannot create parent directories", ec.value());
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return io_failure(dir, "cannot create it", errno);
    }
    // Check through a descriptor of the directory itself, so that what is checked is what
    // gets fixed (no swap between stat and chmod), and a symlink planted there is refused.
    const FdGuard guard{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (guard.fd < 0) {
        const int err = errno;
        if (err == ELOOP || err == ENOTDIR) { // Linux says ENOTDIR for a symlink here
            struct stat link {};
            if (::lstat(dir.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
                return io_failure(dir, "is a symbolic link; refusing to use it", 0);
            }
            return io_failure(dir, "exists and is not a directory", 0);
        }
        return io_failure(dir, "cannot open it", err);
    }
    struct stat st {};
    if (::fstat(guard.fd, &st) != 0) {
        return io_failure(dir, "cannot stat it", errno);
    }
    if (st.st_uid != ::geteuid()) {
        return io_failure(dir,
                          "is owned by uid " + std::to_string(st.st_uid) + ", not by us (uid " +
                              std::to_string(::geteuid()) +
                              "); set ZEROFLOW_RUNTIME_DIR to a directory of your own",
                          0);
    }
    if ((st.st_mode & 07777) != 0700 && ::fchmod(guard.fd, 0700) != 0) {
        return io_failure(dir, "cannot set its mode to 0700", errno);
    }
    return {};
}

std::filesystem::path socket_path(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "daemon.sock";
}

} // namespace zeroflow::protocol
