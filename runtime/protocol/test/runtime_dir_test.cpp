// Unit tests of runtime-directory resolution and its safety checks.
#include <cstdlib>
#include <fstream>
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
