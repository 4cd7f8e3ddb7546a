// (6) Peers: a connection from another uid is refused by SO_PEERCRED (and logged), and the
// daemon goes on serving its own user.
#include <fstream>
#include <iterator>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

using Peers = FaultTest;

/// Child process body: as uid/gid 65534 (nobody), connect and ask for `ping`. Exit status 0:
/// refused (error reply `peer_refused`, or closed without an answer); 1: served; 2: could not
/// even connect (the test would prove nothing).
int connect_as_nobody(const fs::path& socket) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
        return 2;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket.c_str());
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        return 2;
    }
    const auto frame = frame_bytes(R"({"op":"ping"})");
    [[maybe_unused]] auto sent = ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    std::string reply;
    char buffer[4096];
    for (;;) {
        const auto n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
            break;
        }
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (reply.find("\"ok\":true") != std::string::npos) {
        return 1;
    }
    return reply.empty() || reply.find("peer_refused") != std::string::npos ? 0 : 1;
}

TEST_F(Peers, AnotherUserIsRefusedAndTheDaemonServesOn) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to act as another uid";
    }
    // Let another uid reach the socket at all: the runtime directory is 0700 by design, so
    // open it up for this test only; SO_PEERCRED must still refuse the peer.
    ASSERT_EQ(::chmod(root_.c_str(), 0711), 0);
    ASSERT_EQ(::chmod(rt_.c_str(), 0711), 0);
    ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::_exit(connect_as_nobody(socket_));
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 2) << "the other uid could not reach the socket: no proof";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a process of another uid was served";
    EXPECT_TRUE(ping());
    EXPECT_TRUE(eventually(
        [this] {
            std::ifstream in(root_ / "daemon.log");
            const std::string log((std::istreambuf_iterator<char>(in)), {});
            return log.find("refused a connection from uid 65534") != std::string::npos;
        },
        5s))
        << "the refusal is not in the daemon's log";
    ASSERT_EQ(::chmod(rt_.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(root_.c_str(), 0700), 0);
}

} // namespace
} // namespace zeroflow::fault_test
