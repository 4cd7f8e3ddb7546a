// The C API (<zeroflow/node.h>) and dora's C API (node_api.h) with a real daemon and real node
// processes: every error path of the handles (NULL, unknown names, wrong sizes, double free,
// use after close) in this process as a dynamic node; C -> C++ and C++ -> C byte-exact typed
// messages; dora C nodes through `zeroflow run`. This binary is built with AddressSanitizer
// (LeakSanitizer included), so ownership mistakes of the C layer fail it. Nothing may remain.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <zeroflow/node.h>

#include "node_api.h"
#include "support.hpp"

namespace zeroflow::daemon_test {
namespace {

const std::string kCNode = ZEROFLOW_C_TEST_NODE;
const std::string kDoraSource = ZEROFLOW_DORA_SOURCE;
const std::string kDoraSink = ZEROFLOW_DORA_SINK;
const std::string kDoraRelay = ZEROFLOW_DORA_CXX_RELAY;

std::string last_error() {
    return zf_last_error_message();
}

/// Sets ZEROFLOW_RUNTIME_DIR (and clears the node variables) for this process while it lives.
class Env {
public:
    explicit Env(const fs::path& rt) {
        ::setenv("ZEROFLOW_RUNTIME_DIR", rt.c_str(), 1);
        ::unsetenv("ZEROFLOW_DATAFLOW_ID");
        ::unsetenv("ZEROFLOW_NODE_ID");
        ::unsetenv("ZEROFLOW_DATAFLOW");
    }
    ~Env() { ::unsetenv("ZEROFLOW_RUNTIME_DIR"); }
};

class CApi : public DaemonTest {
protected:
    /// `zeroflow up`, then `zeroflow start FILE`; returns the UUID.
    std::string start(const fs::path& file) {
        up(runtime_dir());
        const auto started = zeroflow({"start", file.string()});
        EXPECT_EQ(started.status, 0) << started.err;
        return first_line(started.out);
    }
    std::string read_text(const fs::path& path) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
};

TEST(CApiNoDaemon, NullArgumentsAndMissingEnvironmentGiveStatusCodesWithMessages) {
    ::unsetenv("ZEROFLOW_DATAFLOW_ID");
    ::unsetenv("ZEROFLOW_NODE_ID");
    zf_node* node = nullptr;
    EXPECT_EQ(zf_node_from_env(&node), ZF_ERR_MISSING_ENVIRONMENT);
    EXPECT_EQ(node, nullptr) << "out-parameters are written only on success";
    EXPECT_NE(last_error().find("ZEROFLOW_NODE_ID"), std::string::npos) << last_error();
    EXPECT_STREQ(zf_status_name(ZF_ERR_MISSING_ENVIRONMENT), "missing_environment");
    EXPECT_STREQ(zf_status_name(ZF_OK), "ok");
    EXPECT_STREQ(zf_status_name(ZF_ERR_METADATA_TOO_LARGE), "metadata_too_large");
    EXPECT_STREQ(zf_status_name(ZF_ERR_NODE_IS_DYNAMIC), "node_is_dynamic");
    EXPECT_STREQ(zf_status_name(ZF_ERR_NOT_FOUND), "not_found");
    int bogus = 999; // not a status (as C code may pass)
    EXPECT_STREQ(zf_status_name(static_cast<zf_status>(bogus)), "unknown");

    EXPECT_EQ(zf_node_from_env(nullptr), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("NULL"), std::string::npos) << last_error();
    EXPECT_EQ(zf_node_connect_dynamic(nullptr, nullptr, &node), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_node_close(nullptr), ZF_ERR_INVALID_ARGUMENT);
    zf_event* event = nullptr;
    EXPECT_EQ(zf_node_next(nullptr, &event), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_node_next_timeout(nullptr, 1, &event), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_event_free(nullptr), ZF_OK);
    zf_event_kind kind;
    EXPECT_EQ(zf_event_kind_of(nullptr, &kind), ZF_ERR_INVALID_ARGUMENT);
    const void* data = nullptr;
    size_t size = 0;
    EXPECT_EQ(zf_event_data(nullptr, &data, &size), ZF_ERR_INVALID_ARGUMENT);
    zf_output* output = nullptr;
    EXPECT_EQ(zf_node_output(nullptr, "out", &output), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_output_send(nullptr, "x", 1), ZF_ERR_INVALID_ARGUMENT);
    zf_sample* sample = nullptr;
    EXPECT_EQ(zf_output_loan(nullptr, 8, &sample), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_send(nullptr), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_discard(nullptr), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_int(nullptr, "k", 1), ZF_ERR_INVALID_ARGUMENT);
    uint64_t dropped = 0;
    EXPECT_EQ(zf_node_dropped(nullptr, "in", &dropped), ZF_ERR_INVALID_ARGUMENT);

    // Something that is not a zeroflow handle (but is readable memory) is recognised.
    alignas(8) unsigned char junk[256] = {};
    EXPECT_EQ(zf_event_free(reinterpret_cast<zf_event*>(junk)), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_node_close(reinterpret_cast<zf_node*>(junk)), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("not a zeroflow node"), std::string::npos) << last_error();
}

TEST(DoraApiNoDaemon, MisuseIsReportedNeverFatal) {
    ::unsetenv("ZEROFLOW_DATAFLOW_ID");
    ::unsetenv("ZEROFLOW_NODE_ID");
    EXPECT_EQ(init_dora_context_from_env(), nullptr);
    EXPECT_EQ(dora_next_event(nullptr), nullptr);
    EXPECT_EQ(read_dora_event_type(nullptr), DoraEventType_Unknown);
    char* out = reinterpret_cast<char*>(1);
    size_t len = 7;
    read_dora_input_id(nullptr, &out, &len);
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(len, 0U);
    out = reinterpret_cast<char*>(1);
    read_dora_input_data(nullptr, &out, &len);
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(read_dora_input_timestamp(nullptr), 0U);
    EXPECT_EQ(dora_send_output(nullptr, "out", 3, "x", 1), -1);
    EXPECT_EQ(dora_log(nullptr, "info", 4, "x", 1), -1);
    free_dora_event(nullptr);
    free_dora_context(nullptr);
    alignas(8) unsigned char junk[256] = {};
    EXPECT_EQ(read_dora_event_type(junk), DoraEventType_Unknown);
    free_dora_event(junk); // "not a zeroflow event" on stderr, nothing else
}

TEST_F(CApi, ConnectDynamicWithoutADaemonSaysHowToStartOne) {
    Env env(runtime_dir("nobody"));
    zf_node* node = nullptr;
    EXPECT_EQ(zf_node_connect_dynamic("sut", nullptr, &node), ZF_ERR_DAEMON_UNREACHABLE);
    EXPECT_NE(last_error().find("zeroflow up"), std::string::npos) << last_error();
}

TEST_F(CApi, OutputsAndSamplesRefuseWrongCallsWithStatusCodes) {
    const auto file =
        write_dataflow("lonely", {NodeSpec{"sut", "", {}, {}, {"out"}, 0, "dynamic"}});
    const auto uuid = start(file);
    Env env(runtime_dir());
    zf_node* node = nullptr;
    ASSERT_EQ(zf_node_connect_dynamic("sut", "no-such-dataflow", &node), ZF_ERR_NO_SUCH_DATAFLOW)
        << last_error();
    ASSERT_EQ(zf_node_connect_dynamic("nobody", uuid.c_str(), &node), ZF_ERR_NO_SUCH_NODE)
        << last_error();
    ASSERT_EQ(zf_node_connect_dynamic("sut", uuid.c_str(), &node), ZF_OK) << last_error();
    const char* id = nullptr;
    ASSERT_EQ(zf_node_id(node, &id), ZF_OK);
    EXPECT_STREQ(id, "sut");
    const char* dataflow = nullptr;
    ASSERT_EQ(zf_node_dataflow_id(node, &dataflow), ZF_OK);
    EXPECT_EQ(dataflow, uuid);

    zf_output* output = nullptr;
    EXPECT_EQ(zf_node_output(node, "nope", &output), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("no output 'nope'"), std::string::npos) << last_error();
    EXPECT_EQ(zf_node_send_output(node, "nope", "x", 1), ZF_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(zf_node_output(node, "out", &output), ZF_OK) << last_error();
    zf_output* again = nullptr;
    ASSERT_EQ(zf_node_output(node, "out", &again), ZF_OK);
    EXPECT_EQ(again, output) << "one handle per output";
    EXPECT_EQ(zf_output_send(output, nullptr, 4), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_output_send(output, nullptr, 0), ZF_OK) << "an empty message: " << last_error();
    EXPECT_EQ(zf_node_send_output(node, "out", "abc", 3), ZF_OK) << last_error();
    uint64_t dropped = 0;
    EXPECT_EQ(zf_node_dropped(node, "in", &dropped), ZF_ERR_INVALID_ARGUMENT);

    zf_sample* sample = nullptr;
    EXPECT_EQ(zf_output_loan(output, std::size_t{64} << 20, &sample), ZF_ERR_MESSAGE_TOO_LARGE);
    int bogus = 42;
    EXPECT_EQ(zf_output_loan_typed(output, static_cast<zf_dtype>(bogus), 4, &sample),
              ZF_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(zf_output_loan(output, 16, &sample), ZF_OK) << last_error();
    void* data = nullptr;
    size_t size = 0;
    ASSERT_EQ(zf_sample_data(sample, &data, &size), ZF_OK);
    EXPECT_EQ(size, 16U);
    EXPECT_NE(data, nullptr);
    const uint64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 16};
    EXPECT_EQ(zf_sample_set_shape(sample, nine, 9), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_shape(sample, nullptr, 2), ZF_ERR_INVALID_ARGUMENT);
    bogus = 12;
    EXPECT_EQ(zf_sample_set_type(sample, static_cast<zf_dtype>(bogus), nine, 1),
              ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_encoding(sample, std::string(64, 'e').c_str()),
              ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_encoding(sample, nullptr), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_resize(sample, 17), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_int(sample, nullptr, 1), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_set_int(sample, "", 1), ZF_ERR_INVALID_ARGUMENT) << "an empty key";
    const char* strings[2] = {"a", nullptr};
    EXPECT_EQ(zf_sample_set_string_list(sample, "tags", strings, 2), ZF_ERR_INVALID_ARGUMENT);
    // The sample already carries a bad key: send refuses it and ends it.
    EXPECT_EQ(zf_sample_send(sample), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_sample_send(sample), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("sent or discarded already"), std::string::npos) << last_error();
    EXPECT_EQ(zf_sample_discard(sample), ZF_ERR_INVALID_ARGUMENT) << "a double discard";

    // Parameters beyond max_metadata_size (1 KiB by default): at once, and again at send.
    ASSERT_EQ(zf_output_loan(output, 8, &sample), ZF_OK);
    EXPECT_EQ(zf_sample_set_string(sample, "blob", std::string(2000, 'z').c_str()),
              ZF_ERR_METADATA_TOO_LARGE);
    EXPECT_NE(last_error().find("1024"), std::string::npos) << last_error();
    EXPECT_EQ(zf_sample_send(sample), ZF_ERR_METADATA_TOO_LARGE);
    EXPECT_NE(last_error().find("max_metadata_size"), std::string::npos) << last_error();

    // A typed sample whose shape does not match its size.
    ASSERT_EQ(zf_output_loan_typed(output, ZF_DTYPE_F32, 4, &sample), ZF_OK);
    ASSERT_EQ(zf_sample_data(sample, &data, &size), ZF_OK);
    EXPECT_EQ(size, 16U);
    ASSERT_EQ(zf_sample_resize(sample, 8), ZF_OK);
    EXPECT_EQ(zf_sample_send(sample), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("set a shape that matches"), std::string::npos) << last_error();
    ASSERT_EQ(zf_output_loan_typed(output, ZF_DTYPE_F32, 4, &sample), ZF_OK);
    const uint64_t two_by_two[2] = {2, 2};
    EXPECT_EQ(zf_sample_set_shape(sample, two_by_two, 2), ZF_OK);
    EXPECT_EQ(zf_sample_send(sample), ZF_OK) << last_error();
    ASSERT_EQ(zf_output_loan(output, 8, &sample), ZF_OK);
    EXPECT_EQ(zf_sample_discard(sample), ZF_OK);

    // No inputs: a timeout is a status, after the time asked for.
    zf_event* event = nullptr;
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(zf_node_next_timeout(node, 50'000'000, &event), ZF_ERR_TIMEOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - before, 50ms);
    EXPECT_EQ(event, nullptr);

    // A sample still loaned at close: its handle then only takes zf_sample_discard.
    zf_sample* kept = nullptr;
    ASSERT_EQ(zf_output_loan(output, 8, &kept), ZF_OK);
    ASSERT_EQ(zf_node_close(node), ZF_OK);
    EXPECT_EQ(zf_sample_send(kept), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_sample_data(kept, &data, &size), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_sample_discard(kept), ZF_OK);
    EXPECT_EQ(zf_sample_discard(kept), ZF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(zf_output_send(output, "x", 1), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_output_loan(output, 8, &sample), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_node_next(node, &event), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_node_id(node, &id), ZF_ERR_CLOSED);
    EXPECT_EQ(zf_node_close(node), ZF_ERR_CLOSED) << "a double close";
    EXPECT_NE(last_error().find("closed"), std::string::npos) << last_error();
    const auto stopped = zeroflow({"stop", uuid});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
}

TEST_F(CApi, AnExhaustedPoolAndASecondConnectionAreStatusCodes) {
    const auto file = write_dataflow("small", {NodeSpec{"sut", "", {}, {}, {"out"}, 0, "dynamic"}},
                                     "shm:\n  sut/out: {max_message_size: 64, chunks: 2}\n");
    const auto uuid = start(file);
    Env env(runtime_dir());
    zf_node* node = nullptr;
    ASSERT_EQ(zf_node_connect_dynamic("sut", uuid.c_str(), &node), ZF_OK) << last_error();
    zf_node* twice = nullptr;
    EXPECT_EQ(zf_node_connect_dynamic("sut", uuid.c_str(), &twice), ZF_ERR_NODE_ALREADY_CONNECTED)
        << last_error();
    zf_output* output = nullptr;
    ASSERT_EQ(zf_node_output(node, "out", &output), ZF_OK);
    EXPECT_EQ(zf_output_loan(output, 65, nullptr), ZF_ERR_INVALID_ARGUMENT);
    zf_sample* too_big = nullptr;
    EXPECT_EQ(zf_output_loan(output, 65, &too_big), ZF_ERR_MESSAGE_TOO_LARGE) << last_error();
    std::vector<zf_sample*> held;
    zf_status status = ZF_OK;
    while (held.size() < 16) {
        zf_sample* sample = nullptr;
        status = zf_output_loan(output, 8, &sample);
        if (status != ZF_OK) {
            break;
        }
        held.push_back(sample);
    }
    EXPECT_EQ(status, ZF_ERR_POOL_EXHAUSTED) << last_error();
    EXPECT_EQ(held.size(), 2U) << "chunks: 2";
    ASSERT_EQ(zf_sample_discard(held.back()), ZF_OK);
    held.pop_back();
    zf_sample* again = nullptr;
    ASSERT_EQ(zf_output_loan(output, 8, &again), ZF_OK) << "a discarded chunk comes back";
    held.push_back(again);
    for (zf_sample* sample : held) {
        EXPECT_EQ(zf_sample_discard(sample), ZF_OK);
    }
    ASSERT_EQ(zf_node_close(node), ZF_OK);
    const auto stopped = zeroflow({"stop", uuid});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
}

TEST_F(CApi, EventsCarryDataUntilFreedAndRefuseUseAfterFreeOrClose) {
    const auto file = write_dataflow(
        "events",
        {NodeSpec{"source", "source", {"--count", "0", "--period-us", "20000"}, {}, {"out"}},
         NodeSpec{"sut",
                  "",
                  {},
                  {{"in", "source/out"}, {"tick", "dora/timer/millis/20"}},
                  {},
                  0,
                  "dynamic"}});
    const auto uuid = start(file);
    Env env(runtime_dir());
    zf_node* node = nullptr;
    EXPECT_EQ(zf_node_connect_dynamic("source", uuid.c_str(), &node), ZF_ERR_NODE_NOT_DYNAMIC)
        << last_error();
    // The other way round: from_env (register) as the dynamic node is refused with its own kind.
    ::setenv("ZEROFLOW_DATAFLOW_ID", uuid.c_str(), 1);
    ::setenv("ZEROFLOW_NODE_ID", "sut", 1);
    EXPECT_EQ(zf_node_from_env(&node), ZF_ERR_NODE_IS_DYNAMIC) << last_error();
    EXPECT_NE(last_error().find("connect_dynamic"), std::string::npos) << last_error();
    EXPECT_EQ(node, nullptr);
    ::unsetenv("ZEROFLOW_DATAFLOW_ID");
    ::unsetenv("ZEROFLOW_NODE_ID");
    ASSERT_EQ(zf_node_connect_dynamic("sut", uuid.c_str(), &node), ZF_OK) << last_error();
    bool timer = true;
    ASSERT_EQ(zf_node_input_from_timer(node, "in", &timer), ZF_OK);
    EXPECT_FALSE(timer);
    ASSERT_EQ(zf_node_input_from_timer(node, "tick", &timer), ZF_OK);
    EXPECT_TRUE(timer);
    EXPECT_EQ(zf_node_input_from_timer(node, "nope", &timer), ZF_ERR_INVALID_ARGUMENT);

    int messages = 0;
    int ticks = 0;
    zf_event* kept = nullptr;
    while (messages < 5 || ticks < 2) {
        zf_event* event = nullptr;
        ASSERT_EQ(zf_node_next_timeout(node, 5'000'000'000, &event), ZF_OK) << last_error();
        zf_event_kind kind;
        ASSERT_EQ(zf_event_kind_of(event, &kind), ZF_OK);
        ASSERT_EQ(kind, ZF_EVENT_INPUT);
        const char* id = nullptr;
        size_t id_size = 0;
        ASSERT_EQ(zf_event_id(event, &id, &id_size), ZF_OK);
        EXPECT_EQ(std::strlen(id), id_size) << "ids are NUL-terminated";
        const void* data = nullptr;
        size_t size = 0;
        ASSERT_EQ(zf_event_data(event, &data, &size), ZF_OK);
        bool from_timer = false;
        ASSERT_EQ(zf_event_from_timer(event, &from_timer), ZF_OK);
        uint64_t mono = 0;
        uint64_t wall = 0;
        uint64_t seq = 0;
        ASSERT_EQ(zf_event_timestamp_ns(event, &mono), ZF_OK);
        ASSERT_EQ(zf_event_wall_time_ns(event, &wall), ZF_OK);
        ASSERT_EQ(zf_event_sequence(event, &seq), ZF_OK);
        EXPECT_GT(mono, 0U);
        const auto now =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
        EXPECT_LT(now - wall, 1'000'000'000U) << "wall clock send time within a second";
        if (std::string(id) == "tick") {
            EXPECT_TRUE(from_timer);
            EXPECT_EQ(size, 8U) << "zeroflow ticks count themselves";
            ++ticks;
        } else {
            EXPECT_STREQ(id, "in");
            EXPECT_FALSE(from_timer);
            ASSERT_EQ(size, 64U);
            std::uint64_t in_payload = 0;
            std::memcpy(&in_payload, data, 8);
            EXPECT_EQ(in_payload, seq) << "the source writes its sequence first";
            zf_dtype dtype;
            ASSERT_EQ(zf_event_dtype(event, &dtype), ZF_OK);
            EXPECT_EQ(dtype, ZF_DTYPE_BYTES);
            const uint64_t* dims = nullptr;
            size_t ndim = 9;
            ASSERT_EQ(zf_event_shape(event, &dims, &ndim), ZF_OK);
            EXPECT_EQ(ndim, 0U);
            EXPECT_EQ(dims, nullptr);
            int64_t value = 0;
            EXPECT_EQ(zf_event_get_int(event, "frame", &value), ZF_ERR_NOT_FOUND);
            EXPECT_NE(last_error().find("no parameter 'frame'"), std::string::npos);
            zf_str key;
            zf_param_kind pkind;
            EXPECT_EQ(zf_event_param_at(event, 0, &key, &pkind), ZF_ERR_INVALID_ARGUMENT);
            EXPECT_EQ(zf_event_get_int(event, nullptr, &value), ZF_ERR_INVALID_ARGUMENT);
            ++messages;
            if (kept == nullptr) {
                kept = event; // held across later events: its data must stay as it was
                continue;
            }
        }
        ASSERT_EQ(zf_event_free(event), ZF_OK);
        EXPECT_EQ(zf_event_free(event), ZF_ERR_INVALID_ARGUMENT) << "a double free";
        EXPECT_NE(last_error().find("freed already"), std::string::npos) << last_error();
        EXPECT_EQ(zf_event_data(event, &data, &size), ZF_ERR_INVALID_ARGUMENT);
    }
    const void* data = nullptr;
    size_t size = 0;
    uint64_t seq = 0;
    ASSERT_EQ(zf_event_data(kept, &data, &size), ZF_OK);
    ASSERT_EQ(zf_event_sequence(kept, &seq), ZF_OK);
    std::uint64_t in_payload = 0;
    std::memcpy(&in_payload, data, 8);
    EXPECT_EQ(in_payload, seq) << "a held event's chunk is not reused";
    uint64_t dropped = 99;
    ASSERT_EQ(zf_node_dropped(node, "in", &dropped), ZF_OK);
    EXPECT_EQ(dropped, 0U);

    // Closing the node with an event still held: the event only takes zf_event_free then.
    ASSERT_EQ(zf_node_close(node), ZF_OK);
    EXPECT_EQ(zf_event_data(kept, &data, &size), ZF_ERR_CLOSED);
    EXPECT_NE(last_error().find("node was closed"), std::string::npos) << last_error();
    EXPECT_EQ(zf_event_free(kept), ZF_OK);
    EXPECT_EQ(zf_event_free(kept), ZF_ERR_INVALID_ARGUMENT);
    const auto stopped = zeroflow({"stop", uuid});
    EXPECT_EQ(stopped.status, 0) << stopped.err;
}

TEST_F(CApi, AfterTheStreamEndsNextGivesStopAtOnce) {
    const auto file = write_dataflow(
        "ends",
        {NodeSpec{"source", "source", {"--count", "20", "--period-us", "50000"}, {}, {"out"}},
         NodeSpec{"sut", "", {}, {{"in", "source/out"}}, {}, 0, "dynamic"}});
    const auto uuid = start(file);
    Env env(runtime_dir());
    zf_node* node = nullptr;
    ASSERT_EQ(zf_node_connect_dynamic("sut", uuid.c_str(), &node), ZF_OK) << last_error();
    std::string seen;
    for (int i = 0; i < 100; ++i) {
        zf_event* event = nullptr;
        ASSERT_EQ(zf_node_next_timeout(node, 10'000'000'000, &event), ZF_OK) << last_error();
        zf_event_kind kind;
        ASSERT_EQ(zf_event_kind_of(event, &kind), ZF_OK);
        ASSERT_EQ(zf_event_free(event), ZF_OK);
        if (kind == ZF_EVENT_INPUT) {
            continue; // a dynamic node may connect after the first messages went out
        }
        seen += std::to_string(static_cast<int>(kind)) + ",";
        if (kind == ZF_EVENT_STOP) {
            break;
        }
    }
    // InputClosed (1), AllInputsClosed (2), then Stop (3) when the dataflow finishes; or Stop
    // alone when the daemon's Stop (sent once the source has exited) is taken before the closed
    // input, as stopped_events() allows for the C++ nodes.
    EXPECT_TRUE(seen == "1,2,3," || seen == "3,") << seen;
    for (int i = 0; i < 3; ++i) {
        zf_event* event = nullptr;
        const auto before = std::chrono::steady_clock::now();
        ASSERT_EQ(zf_node_next(node, &event), ZF_OK);
        EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
        zf_event_kind kind;
        ASSERT_EQ(zf_event_kind_of(event, &kind), ZF_OK);
        EXPECT_EQ(kind, ZF_EVENT_STOP);
        ASSERT_EQ(zf_event_free(event), ZF_OK);
    }
    ASSERT_EQ(zf_node_close(node), ZF_OK);
}

TEST_F(CApi, TypedMessagesFromCArriveByteExactInCppAndC) {
    const auto file = write_dataflow("c_to_cpp", {NodeSpec{"source",
                                                           "typed_source",
                                                           {"--count", "60", "--period-us", "500",
                                                            "--report", report("source").string()},
                                                           {},
                                                           {"out"},
                                                           0,
                                                           kCNode},
                                                  NodeSpec{"cpp",
                                                           "typed_sink",
                                                           {"--report", report("cpp").string()},
                                                           {{"in", "source/out"}},
                                                           {},
                                                           256},
                                                  NodeSpec{"c",
                                                           "typed_sink",
                                                           {"--report", report("c").string()},
                                                           {{"in", "source/out"}},
                                                           {},
                                                           256,
                                                           kCNode}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    EXPECT_EQ(report_number(read_report(report("source")), "sent"), 60U);
    for (const auto* name : {"cpp", "c"}) {
        auto sink = read_report(report(name));
        EXPECT_EQ(report_number(sink, "count"), 60U) << name;
        EXPECT_EQ(report_number(sink, "verified"), 60U) << name << ": " << sink["first_mismatch"];
        EXPECT_EQ(report_number(sink, "wall_ok"), 60U) << name;
        EXPECT_EQ(report_number(sink, "dropped"), 0U) << name;
    }
}

TEST_F(CApi, TypedMessagesFromCppArriveByteExactInC) {
    const auto file = write_dataflow("cpp_to_c", {NodeSpec{"source",
                                                           "typed_source",
                                                           {"--count", "60", "--period-us", "500",
                                                            "--report", report("source").string()},
                                                           {},
                                                           {"out"}},
                                                  NodeSpec{"c",
                                                           "typed_sink",
                                                           {"--report", report("c").string()},
                                                           {{"in", "source/out"}},
                                                           {},
                                                           256,
                                                           kCNode}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    auto sink = read_report(report("c"));
    EXPECT_EQ(report_number(sink, "count"), 60U);
    EXPECT_EQ(report_number(sink, "verified"), 60U) << sink["first_mismatch"];
    EXPECT_EQ(report_number(sink, "wall_ok"), 60U);
}

TEST_F(CApi, DoraCNodesRunUnchangedThroughZeroflowRun) {
    // A timer-driven dora source, a dora node written in C++, and a dora sink that prints
    // every input until dora_next_event returns NULL.
    const auto file = write_dataflow(
        "dora",
        {NodeSpec{
             "source", "", {"25"}, {{"tick", "dora/timer/millis/10"}}, {"counter"}, 0, kDoraSource},
         NodeSpec{"relay", "", {}, {{"in", "source/counter"}}, {"out"}, 64, kDoraRelay},
         NodeSpec{"sink",
                  "",
                  {report("sink").string()},
                  {{"counter", "relay/out"}},
                  {},
                  64,
                  kDoraSink}});
    const auto sut = zeroflow({"run", file.string()});
    ASSERT_EQ(sut.status, 0) << sut.out << sut.err;
    auto sink = read_report(report("sink"));
    EXPECT_EQ(report_number(sink, "count"), 25U);
    EXPECT_EQ(report_number(sink, "in_order"), 1U);
    EXPECT_EQ(report_number(sink, "timestamps_ok"), 25U);
    // InputClosed, then zeroflow's AllInputsClosed as dora's Stop, then NULL, and NULL again.
    EXPECT_EQ(sink["events"], "closed,stop,null");
    EXPECT_EQ(report_number(sink, "null_again"), 1U);
    // The sink's log holds every input it printed, in order; the source's the ignored output.
    const auto uuid = run_uuid(sut.out);
    const auto log = read_text(flows_ / "out" / uuid / "log_sink.txt");
    EXPECT_NE(log.find("input counter: message 1\n"), std::string::npos) << log;
    EXPECT_NE(log.find("input counter: message 25\nevent closed counter\nevent stop"),
              std::string::npos)
        << log;
    const auto source_log = read_text(flows_ / "out" / uuid / "log_source.txt");
    EXPECT_NE(source_log.find("ignoring output `not_declared`"), std::string::npos) << source_log;
    EXPECT_NE(source_log.find("[info] source: sent 25 messages"), std::string::npos) << source_log;
}

} // namespace
} // namespace zeroflow::daemon_test
