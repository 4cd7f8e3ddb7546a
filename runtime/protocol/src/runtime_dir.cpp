// Resolution, safety checks and layout of the per-user runtime directory; the dataflow index.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

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
    if (const char* dir = std::getenv(kRuntimeDirEnv); dir != nullptr && *dir != '\0') {
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
                              std::to_string(::geteuid()) + "); set " + kRuntimeDirEnv +
                              " to a directory of your own",
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

std::filesystem::path lock_path(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "daemon.lock";
}

std::filesystem::path daemon_log_path(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "daemon.log";
}

std::filesystem::path segments_dir(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "segments";
}

std::filesystem::path node_records_dir(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "nodes";
}

std::filesystem::path run_log_dir(const std::filesystem::path& working_dir, std::string_view uuid) {
    return working_dir / kRunsFolder / uuid;
}

std::filesystem::path node_log_path(const std::filesystem::path& run_log_dir,
                                    std::string_view node_id) {
    return run_log_dir / ("log_" + std::string(node_id) + ".txt");
}

std::optional<std::string> node_of_log_file(std::string_view file_name) {
    constexpr std::string_view prefix = "log_";
    constexpr std::string_view suffix = ".txt";
    if (file_name.size() <= prefix.size() + suffix.size() || !file_name.starts_with(prefix) ||
        !file_name.ends_with(suffix)) {
        return std::nullopt;
    }
    return std::string(
        file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size()));
}

std::filesystem::path dataflow_index_dir(const std::filesystem::path& runtime_dir) {
    return runtime_dir / "dataflows";
}

void write_dataflow_record(const std::filesystem::path& runtime_dir, const DataflowRecord& record,
                           std::size_t keep) {
    std::error_code ec;
    const auto index = dataflow_index_dir(runtime_dir);
    std::filesystem::create_directories(index, ec);
    std::ofstream(index / record.uuid, std::ios::trunc) << record.name << "\n"
                                                        << record.log_dir.string() << "\n";
    // Every entry counts here, malformed ones too: the index stays bounded whatever is in it.
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> entries;
    for (const auto& e : std::filesystem::directory_iterator(index, ec)) {
        entries.emplace_back(e.last_write_time(ec), e.path());
    }
    if (entries.size() > keep) {
        std::sort(entries.begin(), entries.end());
        for (std::size_t i = 0; i + keep < entries.size(); ++i) {
            std::filesystem::remove(entries[i].second, ec);
        }
    }
}

std::vector<DataflowRecord> read_dataflow_records(const std::filesystem::path& runtime_dir) {
    std::vector<DataflowRecord> records;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dataflow_index_dir(runtime_dir), ec)) {
        if (!e.is_regular_file(ec)) {
            continue;
        }
        std::ifstream in(e.path());
        DataflowRecord record;
        std::string folder;
        if (!std::getline(in, record.name) || !std::getline(in, folder) || folder.empty()) {
            continue;
        }
        record.uuid = e.path().filename().string();
        record.log_dir = folder;
        record.written = e.last_write_time(ec);
        records.push_back(std::move(record));
    }
    return records;
}

void remove_stale_dataflow_records(const std::filesystem::path& runtime_dir) {
    std::error_code ec;
    for (const auto& record : read_dataflow_records(runtime_dir)) {
        if (!std::filesystem::exists(record.log_dir, ec)) {
            std::filesystem::remove(dataflow_index_dir(runtime_dir) / record.uuid, ec);
        }
    }
}

} // namespace zeroflow::protocol
