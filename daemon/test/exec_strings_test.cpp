// Unit tests of ExecStrings: argv/envp arrays as execve and posix_spawn take them.
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zeroflow/daemon/exec_strings.hpp>

namespace zeroflow::daemon {
namespace {

TEST(ExecStrings, DataIsNullTerminatedAndPointsIntoTheStrings) {
    ExecStrings sut{"/bin/sh", "-c"};
    sut.push_back("exit 3");
    char* const* argv = sut.data();
    EXPECT_STREQ(argv[0], "/bin/sh");
    EXPECT_STREQ(argv[1], "-c");
    EXPECT_STREQ(argv[2], "exit 3");
    EXPECT_EQ(argv[3], nullptr);
    EXPECT_EQ(ExecStrings{}.data()[0], nullptr) << "an empty vector is one NULL";
}

TEST(ExecStrings, SetReplacesTheFirstEntryOfAKeyOrAppends) {
    ExecStrings sut{"A=1", "AB=2", "A=3"};
    sut.set("A", "x");
    sut.set("B", "y=z");
    EXPECT_EQ(sut.items(), (std::vector<std::string>{"A=x", "AB=2", "A=3", "B=y=z"}));
    EXPECT_EQ(sut.get("A"), "x");
    EXPECT_EQ(sut.get("AB"), "2");
    EXPECT_EQ(sut.get("B"), "y=z");
    EXPECT_EQ(sut.get("C"), std::nullopt);
    sut.set("E", "");
    EXPECT_EQ(sut.get("E"), "");
}

TEST(ExecStrings, CurrentEnvironmentReachesAChildWithOverrides) {
    ::setenv("ZEROFLOW_EXEC_TEST_KEPT", "kept", 1);
    ::setenv("ZEROFLOW_EXEC_TEST_SET", "old", 1);
    auto env = ExecStrings::current_environment();
    ::unsetenv("ZEROFLOW_EXEC_TEST_KEPT");
    ::unsetenv("ZEROFLOW_EXEC_TEST_SET");
    env.set("ZEROFLOW_EXEC_TEST_SET", "new");
    ExecStrings argv{
        "/bin/sh", "-c",
        R"(test "$ZEROFLOW_EXEC_TEST_KEPT" = kept && test "$ZEROFLOW_EXEC_TEST_SET" = new)"};
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), env.data()), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the child saw another environment (status " << status << ")";
}

} // namespace
} // namespace zeroflow::daemon
