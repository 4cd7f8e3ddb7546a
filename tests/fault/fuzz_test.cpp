// Scenario (c): random and mutated frames against the live socket, stalled half-frames and
// connect/disconnect loops. Every frame that the daemon can answer gets a reply; a frame that
// breaks framing closes only its own connection.
#include <cstdlib>
#include <random>

#include "harness.hpp"

namespace zeroflow::fault_test {
namespace {

using FrameFuzz = FaultTest;
using ConnectionFlood = FaultTest;

class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }

    std::string text(std::size_t max) {
        static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz_-/.0123456789";
        std::string s(below(max + 1), 'a');
        for (auto& c : s) {
            c = alphabet[below(alphabet.size())];
        }
        return s;
    }

    Json value(int depth = 0) {
        switch (below(depth > 2 ? 6 : 8)) {
        case 0:
            return nullptr;
        case 1:
            return chance(50);
        case 2:
            return static_cast<std::int64_t>(rng_()) >> below(64);
        case 3:
            return static_cast<double>(rng_()) / 1e9 * (chance(50) ? -1 : 1);
        case 4:
        case 5:
            return text(20);
        case 6: {
            Json a = Json::array();
            for (std::uint64_t i = below(4); i > 0; --i) {
                a.push_back(value(depth + 1));
            }
            return a;
        }
        default: {
            Json o = Json::object();
            for (std::uint64_t i = below(4); i > 0; --i) {
                o[text(8)] = value(depth + 1);
            }
            return o;
        }
        }
    }

    /// A request that decodes: a known op (never destroy) or an unknown one, with fields of
    /// random types (including the fields the op reads). It names no real dataflow or node.
    Json request() {
        static const std::vector<std::string> ops = {
            "start", "register", "connect_dynamic", "stop", "wait", "list", "logs", "ping"};
        static const std::vector<std::string> fields = {
            "path",    "name", "start_timeout_s",  "dataflow_id", "node_id", "dataflow",
            "grace_s", "node", "protocol_version", "pid"};
        Json r = Json::object();
        if (chance(90)) {
            r["op"] = chance(85) ? ops[below(ops.size())] : "x" + text(12);
        } else if (chance(50)) {
            r["op"] = value(1); // wrong type, or missing below
        }
        for (std::uint64_t i = below(5); i > 0; --i) {
            r[chance(80) ? fields[below(fields.size())] : text(10)] = value();
        }
        if (r.contains("op") && r["op"].is_string() && r["op"] == "stop" &&
            !r.contains("dataflow")) {
            r["dataflow"] = "ghost-" + text(6); // `stop` alone would stop the only live one
        }
        if (r.contains("op") && r["op"] == "start" && r.contains("path") && r["path"].is_string()) {
            r["path"] = "/nonexistent/" + r["path"].get<std::string>(); // no real dataflow file
        }
        return r;
    }

    /// Flips, inserts, deletes and duplicates bytes of `body`.
    std::string mutate(std::string body) {
        for (std::uint64_t n = 1 + below(4); n > 0; --n) {
            const auto pos = body.empty() ? 0 : below(body.size());
            switch (below(5)) {
            case 0:
                if (!body.empty()) {
                    body[pos] = static_cast<char>(body[pos] ^ (1 << below(8)));
                }
                break;
            case 1:
                body.insert(pos, 1, static_cast<char>(below(256)));
                break;
            case 2:
                if (!body.empty()) {
                    body.erase(pos, 1 + below(4));
                }
                break;
            case 3:
                body.insert(pos, body.substr(pos, below(16)));
                break;
            default:
                if (!body.empty()) {
                    body[pos] = static_cast<char>(0x80 + below(0x80)); // invalid UTF-8 bytes
                }
                break;
            }
        }
        return body;
    }

    std::mt19937_64 rng_;
};

/// Whether a body would make the daemon act on something the test needs (never the case for
/// generated requests, but a mutation may turn one into a valid request).
bool harmful(const std::string& body) {
    try {
        const auto j = Json::parse(body);
        if (!j.is_object() || !j.contains("op") || !j["op"].is_string()) {
            return false;
        }
        const auto op = j["op"].get<std::string>();
        return op == "destroy" || (op == "stop" && !j.contains("dataflow")) || op == "start";
    } catch (...) {
        return false;
    }
}

} // namespace

TEST_F(FrameFuzz, RandomAndMutatedFrames) {
    // A second live dataflow: `stop` without a dataflow stays ambiguous.
    const auto other = start("dynonly", "other");
    ASSERT_FALSE(other.empty());
    std::uint64_t seed = 0x5eed;
    if (const char* env = std::getenv("ZEROFLOW_FAULT_SEED"); env != nullptr) {
        seed = std::strtoull(env, nullptr, 0);
    }
    std::printf("[fault] (c) seed %llu (ZEROFLOW_FAULT_SEED)\n",
                static_cast<unsigned long long>(seed));
    Generator gen(seed);
    const int total = scaled(100000);

    // Clients that send half a frame and stall while the others are served.
    std::vector<Raw> stalled;
    for (int i = 0; i < 8; ++i) {
        stalled.emplace_back(socket_);
        const auto frame = protocol::encode_frame({{"op", "ping"}});
        ASSERT_TRUE(stalled.back().write(frame.substr(0, i % 2 == 0 ? 2 : frame.size() - 3)));
    }

    std::map<std::string, int> kinds;
    int frames = 0;
    int connections = 0;
    int unanswered = 0;
    std::vector<double> close_ms;
    std::vector<double> ping_ms;
    std::optional<Raw> conn;
    auto fresh = [&] {
        conn.emplace(socket_);
        ++connections;
        ASSERT_TRUE(conn->ok()) << "cannot connect after " << frames << " frames";
    };
    auto expect_closed = [&](const char* what) {
        const auto t0 = Clock::now();
        EXPECT_TRUE(conn->closed_within(5s)) << what << ": the connection stays open";
        close_ms.push_back(ms_since(t0));
        conn.reset();
    };
    fresh();
    while (frames < total && !HasFailure()) {
        if (!conn) {
            fresh();
        }
        const auto category = gen.below(100);
        if (category < 45) {
            // A batch of decodable requests, pipelined: one reply each, in order; stays open.
            const auto batch = 1 + gen.below(16);
            std::string bytes;
            for (std::uint64_t i = 0; i < batch; ++i) {
                bytes += protocol::encode_frame(gen.request());
            }
            ASSERT_TRUE(conn->write(bytes));
            for (std::uint64_t i = 0; i < batch; ++i) {
                const auto reply = conn->read(10s);
                ASSERT_TRUE(reply.has_value()) << "no reply to a decodable request";
                ASSERT_TRUE(reply->contains("ok") && (*reply)["ok"].is_boolean()) << reply->dump();
                const auto kind = error_kind(reply);
                ASSERT_NE(kind, "internal") << reply->dump();
                ++kinds[kind.empty() ? "ok" : kind];
                if (kind == "protocol_mismatch") {
                    expect_closed("protocol_mismatch"); // the rest of the batch is dropped
                    break;
                }
            }
            frames += static_cast<int>(batch);
        } else if (category < 75) {
            // A mutated request: an error reply if the framing survived, then maybe a close.
            const auto body = gen.mutate(gen.request().dump());
            if (harmful(body) || body.empty()) {
                continue;
            }
            ASSERT_TRUE(conn->write(frame_bytes(body)));
            ++frames;
            const auto reply = conn->read(10s);
            ASSERT_TRUE(reply.has_value()) << "no reply to a mutated frame: " << body;
            const auto kind = error_kind(reply);
            ASSERT_NE(kind, "internal") << reply->dump();
            ++kinds[kind.empty() ? "ok" : kind];
            if (kind == "bad_frame" || kind == "protocol_mismatch") {
                expect_closed("bad_frame");
            }
        } else if (category < 80) {
            // Oversize length prefix, maybe with a little of the body.
            const std::uint32_t length =
                (1U << 20) + 1 + static_cast<std::uint32_t>(gen.below(1U << 30));
            std::string bytes(4, '\0');
            std::memcpy(bytes.data(), &length, 4);
            bytes += gen.text(64);
            ASSERT_TRUE(conn->write(bytes));
            ++frames;
            const auto reply = conn->read(10s);
            ASSERT_EQ(error_kind(reply), "frame_too_large") << (reply ? reply->dump() : "no reply");
            ++kinds["frame_too_large"];
            expect_closed("frame_too_large");
        } else if (category < 88) {
            // Not an object, empty, too deep, invalid UTF-8 in a string.
            std::string body;
            switch (gen.below(5)) {
            case 0:
                body = "[1,2,3]";
                break;
            case 1:
                body = "";
                break;
            case 2:
                body = std::string(200, '[') + std::string(200, ']');
                break;
            case 3:
                body = "{\"op\":\"ping\",\"x\":\"\xff\xfe\"}";
                break;
            default:
                body = "{\"op\":\"ping\"} trailing";
                break;
            }
            ASSERT_TRUE(conn->write(frame_bytes(body)));
            ++frames;
            const auto reply = conn->read(10s);
            ASSERT_EQ(error_kind(reply), "bad_frame")
                << body << " -> " << (reply ? reply->dump() : "none");
            ++kinds["bad_frame"];
            expect_closed("bad_frame");
        } else if (category < 96) {
            // A truncated frame: the client hangs up inside it (nothing to answer).
            const auto frame = protocol::encode_frame(gen.request());
            ASSERT_TRUE(conn->write(frame.substr(0, gen.below(frame.size()))));
            ++frames;
            ++unanswered;
            conn.reset();
        } else {
            // Connect/disconnect loop.
            for (int i = 0; i < 20; ++i) {
                Raw r(socket_);
                ASSERT_TRUE(r.ok());
                ++connections;
            }
        }
        if (frames % 2000 < 16) {
            const auto t0 = Clock::now();
            ASSERT_TRUE(ping()) << "the daemon stopped answering after " << frames << " frames";
            ping_ms.push_back(ms_since(t0));
        }
    }
    // A request in another protocol version: protocol_mismatch, then that connection closes.
    for (const char* op : {"register", "connect_dynamic"}) {
        Raw r(socket_);
        const auto reply =
            r.call({{"op", op}, {"protocol_version", 99}, {"node_id", "x"}, {"dataflow_id", "y"}});
        EXPECT_EQ(error_kind(reply), "protocol_mismatch") << (reply ? reply->dump() : "none");
        EXPECT_TRUE(r.closed_within(5s)) << op << ": protocol_mismatch left the connection open";
    }
    // The stalled clients are still connected and unanswered; everyone else was served.
    for (auto& s : stalled) {
        EXPECT_FALSE(s.closed_within(10ms));
    }
    const auto t0 = Clock::now();
    EXPECT_TRUE(ping());
    ping_ms.push_back(ms_since(t0));
    // Completing a stalled frame still gets its answer.
    const auto frame = protocol::encode_frame({{"op", "ping"}});
    ASSERT_TRUE(stalled[1].write(frame.substr(frame.size() - 3)));
    const auto late = stalled[1].read(5s);
    EXPECT_TRUE(late && late->value("ok", false));
    stalled.clear();

    std::printf("[fault] (c) %d frames (%d truncated), %d connections\n", frames, unanswered,
                connections);
    for (const auto& [kind, n] : kinds) {
        std::printf("[fault] (c)   %s x%d\n", kind.c_str(), n);
    }
    print_timing("(c) bad frame -> connection closed", close_ms);
    print_timing("(c) ping during fuzzing (stalled clients open)", ping_ms);
    const auto p = call({{"op", "ping"}});
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->value("internal_errors", -1), 0);
    stop(other);
}

// More idle connections than the daemon takes (1024): the extra ones are closed at once, the
// daemon and the streams go on, and it serves again as soon as the idle ones leave.
TEST_F(ConnectionFlood, IdleConnectionsBeyondTheLimit) {
    std::vector<Raw> idle;
    for (int i = 0; i < 1100; ++i) {
        idle.emplace_back(socket_);
        ASSERT_TRUE(idle.back().ok()) << i;
    }
    const auto t0 = Clock::now();
    EXPECT_TRUE(idle.back().closed_within(5s)) << "a connection beyond the limit hangs";
    std::printf("[fault] flood: connection beyond the limit closed in %.1f ms\n", ms_since(t0));
    idle.clear();
    const auto t1 = Clock::now();
    EXPECT_TRUE(eventually([&] { return ping(); }, 10s));
    print_timing("(flood) idle connections closed -> ping answered", {ms_since(t1)});
}

} // namespace zeroflow::fault_test
