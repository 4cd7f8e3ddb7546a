// Direct publishing's two halves together: the node library's loader (runtime/src/
// remote_writer.cpp) opening the real plugin (libzeroflow-dds-writer.so) with dlopen, and what
// the plugin writes, read back by a Cyclone reader in this process (loopback, no network).
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#include <dds/dds.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "loopback.hpp"
#include "remote_writer.hpp"
#include "zeroflow_bridge.h"

namespace zeroflow::detail {
namespace {

const dds_domainid_t kDomain = bridge::test::own_domain();

class RemoteWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        bridge::test::use_loopback_only();
        ::setenv(ZF_REMOTE_WRITER_PATH_ENV, ZEROFLOW_TEST_PLUGIN, 1);
        flow_ = "remote_writer_test_" + std::to_string(::getpid());
    }
    void TearDown() override {
        ::unsetenv(ZF_REMOTE_WRITER_PATH_ENV);
        ::unsetenv(ZF_REMOTE_OUTPUTS_ENV);
        if (participant_ > 0) {
            dds_delete(participant_);
        }
    }
    /// A reader of node/out, as a subscribe pump on another machine would have.
    dds_entity_t reader() {
        participant_ = dds_create_participant(kDomain, nullptr, nullptr);
        EXPECT_GT(participant_, 0);
        const std::string name = "zeroflow/" + flow_ + "/node/out";
        const dds_entity_t topic = dds_create_topic(participant_, &zeroflow_bridge_Message_desc,
                                                    name.c_str(), nullptr, nullptr);
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
        dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
        const dds_entity_t r = dds_create_reader(participant_, topic, qos, nullptr);
        dds_delete_qos(qos);
        EXPECT_GT(r, 0);
        return r;
    }
    std::string flow_;
    dds_entity_t participant_ = 0;
};

/// Takes one message from `r`, waiting up to a second; false when none came.
bool take(dds_entity_t r, zeroflow_bridge_Message& m) {
    void* samples[1] = {&m};
    dds_sample_info_t info[1];
    for (int i = 0; i < 200; ++i) {
        if (dds_take(r, samples, info, 1, 1) == 1 && info[0].valid_data) {
            return true;
        }
        dds_sleepfor(DDS_MSECS(5));
    }
    return false;
}

TEST_F(RemoteWriterTest, NothingWithoutTheEnvironment) {
    ::unsetenv(ZF_REMOTE_WRITER_PATH_ENV);
    auto w = RemoteWriter::from_env("node");
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(*w, nullptr);
}

TEST_F(RemoteWriterTest, AMissingPluginIsAnErrorThatNamesIt) {
    ::setenv(ZF_REMOTE_WRITER_PATH_ENV, "/nonexistent/libzeroflow-dds-writer.so", 1);
    ::setenv(ZF_REMOTE_OUTPUTS_ENV, "0;flow;out@1*1", 1);
    auto w = RemoteWriter::from_env("node");
    ASSERT_FALSE(w.has_value());
    EXPECT_NE(w.error().message().find("/nonexistent/libzeroflow-dds-writer.so"), std::string::npos)
        << w.error().message();
}

TEST_F(RemoteWriterTest, ABadSpecIsRefusedSayingItsForm) {
    for (const char* spec : {"", "0;flow", "x;flow;out@1*1", "0;;out@1*1", "0;flow;out",
                             "0;flow;out@1", "0;flow;@1*1", "0;flow;out@a*1"}) {
        ::setenv(ZF_REMOTE_OUTPUTS_ENV, spec, 1);
        auto w = RemoteWriter::from_env("node");
        ASSERT_FALSE(w.has_value()) << spec;
        EXPECT_NE(w.error().message().find(ZF_REMOTE_OUTPUTS_ENV), std::string::npos)
            << spec << ": " << w.error().message();
    }
}

TEST_F(RemoteWriterTest, WritesTheMessageAsTheChunkHoldsItThenItsClose) {
    const dds_entity_t r = reader();
    const std::string spec = std::to_string(kDomain) + ";" + flow_ + ";out@4*1";
    ::setenv(ZF_REMOTE_OUTPUTS_ENV, spec.c_str(), 1);
    auto w = RemoteWriter::from_env("node"); // returns once it has its one reader
    ASSERT_TRUE(w.has_value()) << w.error().message();
    ASSERT_NE(*w, nullptr);
    EXPECT_EQ((*w)->find("other"), -1);
    const int out = (*w)->find("out");
    ASSERT_EQ(out, 0);

    const std::array<std::uint64_t, 2> shape{2, 3};
    const std::array<std::uint8_t, 6> payload{1, 2, 3, 4, 5, 6};
    const std::array<std::uint8_t, 3> parameters{9, 8, 7};
    zf_remote_message m{};
    m.sequence = 42;
    m.timestamp_ns = 1000;
    m.wall_time_ns = 2000;
    m.dtype = 2;
    m.ndim = 2;
    m.shape = shape.data();
    m.encoding = "rgb8 and more"; // only encoding_size bytes count
    m.encoding_size = 4;
    m.parameters = parameters.data();
    m.parameters_size = parameters.size();
    m.payload = payload.data();
    m.payload_size = payload.size();
    (*w)->write(out, m);

    zeroflow_bridge_Message got{};
    ASSERT_TRUE(take(r, got));
    EXPECT_FALSE(got.closed);
    EXPECT_EQ(got.sequence_number, 42U);
    EXPECT_EQ(got.timestamp_ns, 1000U);
    EXPECT_EQ(got.wall_time_ns, 2000U);
    EXPECT_EQ(got.dtype, 2);
    ASSERT_EQ(got.shape._length, 2U);
    EXPECT_EQ(got.shape._buffer[0], 2U);
    EXPECT_EQ(got.shape._buffer[1], 3U);
    EXPECT_STREQ(got.encoding, "rgb8");
    ASSERT_EQ(got.parameters._length, 3U);
    EXPECT_EQ(std::memcmp(got.parameters._buffer, parameters.data(), 3), 0);
    ASSERT_EQ(got.payload._length, 6U);
    EXPECT_EQ(std::memcmp(got.payload._buffer, payload.data(), 6), 0);
    dds_sample_free(&got, &zeroflow_bridge_Message_desc, DDS_FREE_CONTENTS);

    (*w)->close(true); // the node closed its outputs: "closed" follows its last message
    zeroflow_bridge_Message closed{};
    ASSERT_TRUE(take(r, closed));
    EXPECT_TRUE(closed.closed);
    dds_sample_free(&closed, &zeroflow_bridge_Message_desc, DDS_FREE_CONTENTS);
}

TEST_F(RemoteWriterTest, ACloseByTheDaemonWritesNoClosed) {
    const dds_entity_t r = reader();
    const std::string spec = std::to_string(kDomain) + ";" + flow_ + ";out@4*1";
    ::setenv(ZF_REMOTE_OUTPUTS_ENV, spec.c_str(), 1);
    auto w = RemoteWriter::from_env("node");
    ASSERT_TRUE(w.has_value()) << w.error().message();
    (*w)->close(false); // stopped, or a restart policy: the publish pump writes it, or nobody
    zeroflow_bridge_Message got{};
    EXPECT_FALSE(take(r, got));
    dds_sample_free(&got, &zeroflow_bridge_Message_desc, DDS_FREE_CONTENTS);
}

} // namespace
} // namespace zeroflow::detail
