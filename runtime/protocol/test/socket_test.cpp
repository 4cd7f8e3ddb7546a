// Unit tests of the Unix-socket transport: Client against a small server thread.
#include <array>
#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/protocol/message.hpp>
#include <zeroflow/protocol/socket.hpp>

namespace zeroflow::protocol {
namespace {

using namespace std::chrono_literals;

class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/zf-sock-XXXXXX";
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

enum class Behaviour {
    echo,       // reply {"ok": true, "echo": request}
    silent,     // read requests, never answer
    hang_up,    // close the connection on the first request
    half_frame, // answer with the first bytes of a frame, then close
    oversized,  // answer with a length prefix above the default limit
};

// A one-connection-at-a-time server on its own thread, as the daemon would use the helpers:
// non-blocking accept, SO_PEERCRED check, decode, reply; a bad frame gets an error reply and
// the connection is closed.
class TestServer {
public:
    TestServer(const std::filesystem::path& socket, Behaviour behaviour)
        : behaviour_(behaviour), listen_fd_(listen_unix(socket).value()),
          thread_([this] { run(); }) {}
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;
    ~TestServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    uid_t seen_peer_uid() const { return peer_uid_; }

private:
    bool wait_readable(int fd) const {
        while (!stop_) {
            pollfd pfd{fd, POLLIN, 0};
            if (::poll(&pfd, 1, 10) > 0) {
                return true;
            }
        }
        return false;
    }

    void run() {
        while (wait_readable(listen_fd_)) {
            auto conn = accept_unix(listen_fd_);
            if (!conn) {
                continue;
            }
            if (auto uid = peer_uid(*conn)) {
                peer_uid_ = *uid;
            }
            serve(*conn);
            ::close(*conn);
        }
    }

    void serve(int conn) {
        FrameDecoder decoder;
        std::array<char, 4096> buffer{};
        while (wait_readable(conn)) {
            const ssize_t n = ::recv(conn, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                return;
            }
            decoder.feed(std::span<const char>(buffer.data(), static_cast<std::size_t>(n)));
            while (true) {
                auto frame = decoder.next();
                if (!frame) {
                    (void)send_all(conn, encode_frame(error_reply(frame.error())), 1s);
                    return;
                }
                if (!*frame) {
                    break;
                }
                if (!respond(conn, **frame)) {
                    return;
                }
            }
        }
    }

    // false: close the connection.
    bool respond(int conn, const Json& request) {
        switch (behaviour_) {
        case Behaviour::echo: {
            auto op = get_op(request);
            const Json reply = op ? ok_reply({{"echo", request}}) : error_reply(op.error());
            return send_all(conn, encode_frame(reply), 1s).has_value();
        }
        case Behaviour::silent:
            return true;
        case Behaviour::hang_up:
            return false;
        case Behaviour::half_frame:
            (void)send_all(conn, encode_frame(ok_reply()).substr(0, 7), 1s);
            return false;
        case Behaviour::oversized:
            (void)send_all(conn, std::string("\x00\x00\x20\x00", 4), 1s); // 2 MiB
            return true;
        }
        return false;
    }

    Behaviour behaviour_;
    int listen_fd_;
    std::atomic<bool> stop_{false};
    std::atomic<uid_t> peer_uid_{static_cast<uid_t>(-1)};
    std::thread thread_;
};

struct SocketTest : testing::Test {
    TempDir dir;
    std::filesystem::path socket = dir.path() / "daemon.sock";
};

TEST_F(SocketTest, RequestRoundTripsThroughTheServer) {
    const TestServer server(socket, Behaviour::echo);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value()) << sut.error().message;
    for (int i = 0; i < 3; ++i) {
        const Json request{{"op", "ping"}, {"i", i}, {"text", "héllo"}};
        auto reply = sut->request(request, 2s);
        ASSERT_TRUE(reply.has_value()) << reply.error().message;
        EXPECT_EQ((*reply)["ok"], true);
        EXPECT_EQ((*reply)["echo"], request);
    }
    EXPECT_GE(sut->fd(), 0);
}

TEST_F(SocketTest, ServerErrorsComeBackAsReplies) {
    const TestServer server(socket, Behaviour::echo);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    auto reply = sut->request(Json{{"no_op", 1}}, 2s);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    const auto error = unwrap_reply(*reply);
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error().kind, "bad_request");
    EXPECT_EQ(error.error().message, "missing field 'op' (a string)");
}

TEST_F(SocketTest, MalformedFrameGetsAnErrorReplyThenOnlyThatConnectionCloses) {
    const TestServer server(socket, Behaviour::echo);
    auto bad = Client::connect(socket, 1s);
    ASSERT_TRUE(bad.has_value());
    ASSERT_TRUE(send_all(bad->fd(), std::string("\x02\x00\x00\x00[]", 6), 1s));
    auto reply = bad->receive(2s);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    EXPECT_EQ((*reply)["error"]["kind"], "bad_frame");
    auto after = bad->receive(2s);
    ASSERT_FALSE(after.has_value());
    EXPECT_EQ(after.error().code, ErrorCode::closed);

    auto good = Client::connect(socket, 1s); // the server serves the next one
    ASSERT_TRUE(good.has_value());
    auto ok = good->request(Json{{"op", "ping"}}, 2s);
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ((*ok)["ok"], true);
}

TEST_F(SocketTest, RequestTimesOutWhenTheServerNeverAnswers) {
    const TestServer server(socket, Behaviour::silent);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    const auto start = std::chrono::steady_clock::now();
    auto reply = sut->request(Json{{"op", "stop"}}, 100ms);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(reply.error().code, ErrorCode::timeout);
    EXPECT_NE(reply.error().message.find("'stop'"), std::string::npos) << reply.error().message;
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 2s);
    // A late reply would be taken for the next request's: the connection is abandoned.
    auto next = sut->request(Json{{"op", "list"}}, 100ms);
    ASSERT_FALSE(next.has_value());
    EXPECT_EQ(next.error().code, ErrorCode::closed);
}

TEST_F(SocketTest, ReceiveTimeoutLeavesTheConnectionUsable) {
    const TestServer server(socket, Behaviour::echo);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    auto nothing = sut->receive(20ms);
    ASSERT_FALSE(nothing.has_value());
    EXPECT_EQ(nothing.error().code, ErrorCode::timeout);
    ASSERT_TRUE(sut->send(Json{{"op", "ping"}}));
    auto reply = sut->receive(2s);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    EXPECT_EQ((*reply)["echo"]["op"], "ping");
}

TEST_F(SocketTest, ClosedWhenTheServerHangsUp) {
    const TestServer server(socket, Behaviour::hang_up);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    auto reply = sut->request(Json{{"op", "ping"}}, 2s);
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(reply.error().code, ErrorCode::closed);
    auto again = sut->send(Json{{"op", "ping"}});
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ErrorCode::closed);
}

TEST_F(SocketTest, ClosedInTheMiddleOfAFrameSaysSo) {
    const TestServer server(socket, Behaviour::half_frame);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    auto reply = sut->request(Json{{"op", "ping"}}, 2s);
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(reply.error().code, ErrorCode::closed);
    EXPECT_NE(reply.error().message.find("middle of a frame"), std::string::npos);
}

TEST_F(SocketTest, OversizedReplyIsFrameTooLarge) {
    const TestServer server(socket, Behaviour::oversized);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    auto reply = sut->request(Json{{"op", "ping"}}, 2s);
    ASSERT_FALSE(reply.has_value());
    EXPECT_EQ(reply.error().code, ErrorCode::frame_too_large);
    EXPECT_NE(reply.error().message.find("2097152"), std::string::npos);
}

TEST_F(SocketTest, OversizedRequestIsRefusedBeforeSending) {
    const TestServer server(socket, Behaviour::echo);
    auto sut = Client::connect(socket, 1s, 64);
    ASSERT_TRUE(sut.has_value());
    auto big = sut->request(Json{{"op", "ping"}, {"pad", std::string(100, 'x')}}, 1s);
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().code, ErrorCode::frame_too_large);
    auto small = sut->request(Json{{"op", "ping"}}, 2s); // still usable
    ASSERT_TRUE(small.has_value()) << small.error().message;
}

TEST_F(SocketTest, ConnectWithoutSocketFileIsPeerRefused) {
    auto sut = Client::connect(socket, 100ms);
    ASSERT_FALSE(sut.has_value());
    EXPECT_EQ(sut.error().code, ErrorCode::peer_refused);
    EXPECT_NE(sut.error().message.find("does not exist"), std::string::npos);
}

TEST_F(SocketTest, ConnectToALeftoverSocketIsPeerRefused) {
    const int fd = listen_unix(socket).value();
    ::close(fd); // the file stays, no one listens: a dead daemon's leftover
    auto sut = Client::connect(socket, 100ms);
    ASSERT_FALSE(sut.has_value());
    EXPECT_EQ(sut.error().code, ErrorCode::peer_refused);
    EXPECT_NE(sut.error().message.find("connection refused"), std::string::npos);
}

TEST_F(SocketTest, ConnectWithTooLongPathIsIoError) {
    auto sut = Client::connect(dir.path() / std::string(200, 'x'), 100ms);
    ASSERT_FALSE(sut.has_value());
    EXPECT_EQ(sut.error().code, ErrorCode::io_error);
}

TEST_F(SocketTest, ListenCreatesA0600SocketAndNeverReplacesOne) {
    const auto fd = listen_unix(socket);
    ASSERT_TRUE(fd.has_value()) << fd.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(socket.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    const auto second = listen_unix(socket);
    ASSERT_FALSE(second.has_value());
    EXPECT_NE(second.error().message.find("address in use"), std::string::npos);
    auto none = accept_unix(*fd);
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, ErrorCode::timeout);
    ::close(*fd);
}

TEST_F(SocketTest, PeerUidIsOurUid) {
    const TestServer server(socket, Behaviour::echo);
    auto sut = Client::connect(socket, 1s);
    ASSERT_TRUE(sut.has_value());
    ASSERT_TRUE(sut->request(Json{{"op", "ping"}}, 2s).has_value());
    EXPECT_EQ(server.seen_peer_uid(), ::geteuid());
    EXPECT_EQ(peer_uid(sut->fd()).value(), ::geteuid());
    EXPECT_TRUE(check_same_user(sut->fd()).has_value());
}

TEST(PeerUid, WorksOnASocketPairAndFailsOnANonSocket) {
    std::array<int, 2> fds{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
    EXPECT_EQ(peer_uid(fds[0]).value(), ::geteuid());
    ::close(fds[0]);
    ::close(fds[1]);
    std::array<int, 2> pipe_fds{};
    ASSERT_EQ(::pipe(pipe_fds.data()), 0);
    EXPECT_EQ(peer_uid(pipe_fds[0]).error().code, ErrorCode::io_error);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST(SendAll, PeerGoneIsClosedWithoutSigpipe) {
    std::array<int, 2> fds{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
    ::close(fds[1]);
    auto sent = send_all(fds[0], "hello", 100ms);
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code, ErrorCode::closed);
    ::close(fds[0]);
}

TEST(SendAll, TimesOutWhenThePeerDoesNotRead) {
    std::array<int, 2> fds{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
    const std::string big(8u << 20, 'x'); // more than the socket buffers hold
    auto sent = send_all(fds[0], big, 50ms);
    ASSERT_FALSE(sent.has_value());
    EXPECT_EQ(sent.error().code, ErrorCode::timeout);
    ::close(fds[0]);
    ::close(fds[1]);
}

} // namespace
} // namespace zeroflow::protocol
