// Unit tests of the runtime directory: resolution, safety checks, layout, the dataflow index.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/protocol/runtime_dir.hpp>

namespace zeroflow::protocol {
namespace {

// Sets or unsets an environment variable for one test and restores it afterwards.
class EnvGuard {
public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;
    ~EnvGuard() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/zf-protocol-test-XXXXXX";
        path_ = ::mkdtemp(pattern.data());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

mode_t mode_of(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
}

TEST(RuntimeDir, PrefersZeroflowRuntimeDir) {
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", "/run/zf-test");
    const EnvGuard xdg("XDG_RUNTIME_DIR", "/run/user/1234");
    EXPECT_EQ(runtime_dir(), std::filesystem::path("/run/zf-test"));
}

TEST(RuntimeDir, MakesARelativeZeroflowRuntimeDirAbsolute) {
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", "rel/dir");
    EXPECT_EQ(runtime_dir(), std::filesystem::current_path() / "rel/dir");
}

TEST(RuntimeDir, FallsBackToXdgRuntimeDir) {
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", nullptr);
    const EnvGuard xdg("XDG_RUNTIME_DIR", "/run/user/1234");
    EXPECT_EQ(runtime_dir(), std::filesystem::path("/run/user/1234/zeroflow"));
}

TEST(RuntimeDir, IgnoresEmptyValuesAndRelativeXdg) {
    const std::filesystem::path tmp = "/tmp/zeroflow-" + std::to_string(::geteuid());
    {
        const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", "");
        const EnvGuard xdg("XDG_RUNTIME_DIR", "");
        EXPECT_EQ(runtime_dir(), tmp);
    }
    {
        const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", nullptr);
        const EnvGuard xdg("XDG_RUNTIME_DIR", "relative/run");
        EXPECT_EQ(runtime_dir(), tmp);
    }
}

TEST(RuntimeDir, FallsBackToTmpPerUid) {
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", nullptr);
    const EnvGuard xdg("XDG_RUNTIME_DIR", nullptr);
    EXPECT_EQ(runtime_dir(), std::filesystem::path("/tmp/zeroflow-" + std::to_string(::geteuid())));
}

TEST(RuntimeDir, FindsASystemDaemonsDirectoryOfOurOwnBeforeXdg) {
    const TempDir run;
    const auto system = run.path() / "zeroflow";
    std::filesystem::create_directory(system);
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", nullptr);
    const EnvGuard xdg("XDG_RUNTIME_DIR", "/run/user/1234");
    EXPECT_EQ(runtime_dir(system), system);
    // Not there (no system daemon): the per-user rule.
    EXPECT_EQ(runtime_dir(run.path() / "absent"), std::filesystem::path("/run/user/1234/zeroflow"));
    // A symlink is not the service's directory.
    std::filesystem::create_directory_symlink(system, run.path() / "link");
    EXPECT_EQ(runtime_dir(run.path() / "link"), std::filesystem::path("/run/user/1234/zeroflow"));
}

TEST(RuntimeDir, ZeroflowRuntimeDirWinsOverTheSystemDirectory) {
    const TempDir run;
    const EnvGuard zf("ZEROFLOW_RUNTIME_DIR", "/run/zf-test");
    EXPECT_EQ(runtime_dir(run.path()), std::filesystem::path("/run/zf-test"));
}

TEST(SocketPath, IsDaemonSockInTheRuntimeDir) {
    EXPECT_EQ(socket_path("/run/zf"), std::filesystem::path("/run/zf/daemon.sock"));
}

TEST(Layout, NamesEveryFileOfTheRuntimeDirectory) {
    EXPECT_EQ(lock_path("/run/zf"), std::filesystem::path("/run/zf/daemon.lock"));
    EXPECT_EQ(daemon_log_path("/run/zf"), std::filesystem::path("/run/zf/daemon.log"));
    EXPECT_EQ(segments_dir("/run/zf"), std::filesystem::path("/run/zf/segments"));
    EXPECT_EQ(node_records_dir("/run/zf"), std::filesystem::path("/run/zf/nodes"));
    EXPECT_EQ(dataflow_index_dir("/run/zf"), std::filesystem::path("/run/zf/dataflows"));
}

TEST(Layout, RunLogsAreDorasOutFolderAndLogFiles) {
    const auto dir = run_log_dir("/home/me/robot", "0a1b");
    EXPECT_EQ(dir, std::filesystem::path("/home/me/robot/out/0a1b"));
    EXPECT_EQ(node_log_path(dir, "camera"),
              std::filesystem::path("/home/me/robot/out/0a1b/log_camera.txt"));
    EXPECT_EQ(node_of_log_file("log_camera.txt"), "camera");
    EXPECT_EQ(node_of_log_file(node_log_path(dir, "a_b.c").filename().string()), "a_b.c");
    EXPECT_EQ(node_of_log_file("log_camera.txt.1"), std::nullopt) << "the rotated part";
    EXPECT_EQ(node_of_log_file("log_.txt"), std::nullopt);
    EXPECT_EQ(node_of_log_file("camera.txt"), std::nullopt);
    EXPECT_EQ(node_of_log_file("daemon.log"), std::nullopt);
}

/// The index entries of `dir`, by UUID.
std::map<std::string, DataflowRecord> records_of(const std::filesystem::path& dir) {
    std::map<std::string, DataflowRecord> out;
    for (auto& r : read_dataflow_records(dir)) {
        out.emplace(r.uuid, std::move(r));
    }
    return out;
}

TEST(DataflowIndex, WhatIsWrittenReadsBack) {
    const TempDir tmp;
    write_dataflow_record(tmp.path(), {"0a1b-uuid", "cam", tmp.path() / "out" / "0a1b-uuid"});
    write_dataflow_record(tmp.path(), {"2c3d-uuid", "", tmp.path() / "out" / "2c3d-uuid"});
    auto records = records_of(tmp.path());
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records["0a1b-uuid"].name, "cam");
    EXPECT_EQ(records["0a1b-uuid"].log_dir, tmp.path() / "out" / "0a1b-uuid");
    EXPECT_EQ(records["2c3d-uuid"].name, "") << "an unnamed dataflow";
    EXPECT_EQ(records["2c3d-uuid"].log_dir, tmp.path() / "out" / "2c3d-uuid");
    EXPECT_EQ(records["2c3d-uuid"].written,
              std::filesystem::last_write_time(dataflow_index_dir(tmp.path()) / "2c3d-uuid"));
    // Written again (a name given later): replaced, not added.
    write_dataflow_record(tmp.path(), {"2c3d-uuid", "arm", tmp.path() / "elsewhere"});
    records = records_of(tmp.path());
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records["2c3d-uuid"].name, "arm");
    EXPECT_EQ(records["2c3d-uuid"].log_dir, tmp.path() / "elsewhere");
    // The format on disk: name line, folder line (what daemons of earlier versions wrote).
    std::ifstream in(dataflow_index_dir(tmp.path()) / "0a1b-uuid");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "cam\n" + (tmp.path() / "out" / "0a1b-uuid").string() + "\n");
}

TEST(DataflowIndex, MalformedEntriesAreLeftOut) {
    const TempDir tmp;
    const auto index = dataflow_index_dir(tmp.path());
    EXPECT_TRUE(read_dataflow_records(tmp.path()).empty()) << "no index at all";
    write_dataflow_record(tmp.path(), {"good", "n", "/runs/out/good"});
    std::ofstream(index / "empty");
    std::ofstream(index / "name-only") << "cam\n";
    std::ofstream(index / "no-newline") << "cam";
    std::ofstream(index / "empty-folder") << "cam\n\n/extra\n";
    std::filesystem::create_directory(index / "a-directory");
    const auto records = records_of(tmp.path());
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records.begin()->first, "good");
    // An entry without its final newline still has both lines.
    std::ofstream(index / "unterminated") << "cam\n/runs/out/unterminated";
    EXPECT_EQ(records_of(tmp.path())["unterminated"].log_dir,
              std::filesystem::path("/runs/out/unterminated"));
}

TEST(DataflowIndex, KeepsTheNewestEntriesOnly) {
    const TempDir tmp;
    const auto index = dataflow_index_dir(tmp.path());
    const auto now = std::filesystem::file_time_type::clock::now();
    for (int i = 0; i < 4; ++i) {
        const auto uuid = "run" + std::to_string(i);
        write_dataflow_record(tmp.path(), {uuid, "", "/runs/out/" + uuid}, 3);
        // Distinct, increasing times whatever the file system's resolution.
        std::filesystem::last_write_time(index / uuid, now - std::chrono::hours(10 - i));
    }
    std::ofstream(index / "junk"); // malformed entries count, so they cannot pile up either
    std::filesystem::last_write_time(index / "junk", now - std::chrono::hours(20));
    write_dataflow_record(tmp.path(), {"run4", "", "/runs/out/run4"}, 3);
    const auto records = records_of(tmp.path());
    EXPECT_EQ(records.size(), 3U);
    EXPECT_TRUE(records.contains("run2") && records.contains("run3") && records.contains("run4"));
    EXPECT_FALSE(std::filesystem::exists(index / "junk"));
}

TEST(DataflowIndex, ForgetsRunsWhoseFolderIsGone) {
    const TempDir tmp;
    const auto kept = tmp.path() / "out" / "kept";
    std::filesystem::create_directories(kept);
    write_dataflow_record(tmp.path(), {"kept", "", kept});
    write_dataflow_record(tmp.path(), {"gone", "", tmp.path() / "out" / "gone"});
    std::ofstream(dataflow_index_dir(tmp.path()) / "junk") << "name only\n";
    remove_stale_dataflow_records(tmp.path());
    const auto records = records_of(tmp.path());
    ASSERT_EQ(records.size(), 1U);
    EXPECT_TRUE(records.contains("kept"));
    EXPECT_TRUE(std::filesystem::exists(dataflow_index_dir(tmp.path()) / "junk"))
        << "malformed entries are left to the bound";
}

TEST(EnsureRuntimeDir, CreatesMissingDirectoriesWithMode0700) {
    const TempDir tmp;
    const auto dir = tmp.path() / "a" / "zeroflow";
    const auto result = ensure_runtime_dir(dir);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_TRUE(ensure_runtime_dir(dir).has_value()); // idempotent
}

TEST(EnsureRuntimeDir, FixesTheModeOfOurOwnOpenDirectory) {
    const TempDir tmp;
    const auto dir = tmp.path() / "zeroflow";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    const auto result = ensure_runtime_dir(dir);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(mode_of(dir), 0700u);
}

TEST(EnsureRuntimeDir, RefusesASymlink) {
    const TempDir tmp;
    const auto target = tmp.path() / "target";
    const auto link = tmp.path() / "zeroflow";
    std::filesystem::create_directory(target);
    std::filesystem::create_directory_symlink(target, link);
    const auto result = ensure_runtime_dir(link);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::io_error);
    EXPECT_NE(result.error().message.find("symbolic link"), std::string::npos);
}

TEST(EnsureRuntimeDir, RefusesAFile) {
    const TempDir tmp;
    const auto file = tmp.path() / "zeroflow";
    std::ofstream(file) << "x";
    const auto result = ensure_runtime_dir(file);
    ASSERT_FALSE(result.has_value());
    EXPECT_NE(result.error().message.find("not a directory"), std::string::npos);
}

TEST(EnsureRuntimeDir, RefusesADirectoryOfAnotherUser) {
    const TempDir tmp;
    // As root, hand a directory to "nobody"; otherwise a root-owned one is another user's.
    std::filesystem::path dir = tmp.path() / "zeroflow";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    if (::chown(dir.c_str(), 65534, 65534) != 0) {
        dir = "/usr";
    }
    const mode_t before = mode_of(dir);
    const auto result = ensure_runtime_dir(dir);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::io_error);
    EXPECT_NE(result.error().message.find("not by us"), std::string::npos)
        << result.error().message;
    EXPECT_EQ(mode_of(dir), before); // left alone
}

} // namespace
} // namespace zeroflow::protocol
