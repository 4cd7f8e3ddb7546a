// Processes killed with SIGKILL at random points: a dead receiver's chunks all come back to the
// sender's pool (which never stops sending); a dead sender's receivers keep what they got.
#include <csignal>
#include <cstdio>
#include <random>

#include "fixture.hpp"

namespace zeroflow::shm::mp {
namespace {

using namespace std::chrono_literals;

TEST_F(ShmProcesses, ReceiverKilledAtRandomPointsGivesEveryChunkBack) {
    const auto kills = scaled(120, 100);
    const auto params = Params::fresh(8, 0, {32});
    auto& segment = create(params);
    const Control control(segment);
    const auto spec = "--spec=" + params.encode();
    const auto total = segment.layout().outputs[0].total_chunks;
    auto& conn = connection(segment, 0);
    auto& out = output(segment);
    std::mt19937_64 rng(std::random_device{}());

    Child tx("send", {spec, "--count=0"});
    ASSERT_TRUE(tx.wait_ready(30s));
    std::uint64_t while_dead = 0;
    for (std::uint64_t i = 0; i < kills; ++i) {
        SCOPED_TRACE("kill " + std::to_string(i));
        if (i > 0) {
            control.revive_receiver(1);
        }
        Child rx("recv", {spec, "--node=1", i % 2 == 0 ? "--mode=futex" : "--mode=busy",
                          "--fail-fast=1", "--hold=" + std::to_string(i % 3)});
        ASSERT_TRUE(rx.wait_ready(30s));
        const auto returned = conn.return_head.load();
        ASSERT_TRUE(eventually([&] { return conn.return_head.load() > returned; }, 20s))
            << "the new receiver never got a message";
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        rx.kill_now();
        const auto status = rx.wait(10s);
        ASSERT_TRUE(killed_by(status, SIGKILL))
            << "the receiver failed before the kill: " << describe(status);

        // The daemon has not noticed yet: the sender goes on, evicting from the dead queue.
        const auto sent_at_kill = out.sent.load();
        ASSERT_TRUE(eventually([&] { return out.sent.load() > sent_at_kill + 100; }, 20s))
            << "the sender stopped sending while the receiver was dead";
        while_dead += out.sent.load() - sent_at_kill;

        control.mark_receiver_dead(1);
        ASSERT_TRUE(eventually([&] { return control.receiver_reclaimed(1); }, 20s))
            << "the sender never acknowledged the dead receiver";
        ASSERT_TRUE(eventually([&] { return control.published_free_chunks(0) == total; }, 20s))
            << "chunks missing after reclaim: " << control.published_free_chunks(0) << " of "
            << total;
    }
    control.request_stop(0);
    const auto status = tx.wait(30s);
    ASSERT_TRUE(exited_ok(status)) << "sender " << describe(status);
    auto sent = tx.results();
    EXPECT_EQ(sent["failures"], 0U);
    EXPECT_EQ(sent["exhausted"], 0U) << "the sender had to wait for a dead receiver";
    EXPECT_EQ(sent["errors"], 0U);
    std::printf("%llu kills; %llu messages sent, %llu of them while a receiver lay dead\n",
                static_cast<unsigned long long>(kills),
                static_cast<unsigned long long>(sent["sent"]),
                static_cast<unsigned long long>(while_dead));
}

// A sender that sleeps on its futex between messages does the reclaim when the daemon's
// mark_receiver_dead wakes it.
TEST_F(ShmProcesses, IdleSenderReclaimsADeadReceiverWhenWoken) {
    const auto params = Params::fresh(8, 0, {8});
    auto& segment = create(params);
    const Control control(segment);
    const auto spec = "--spec=" + params.encode();
    Child rx("recv", {spec, "--node=1", "--mode=futex", "--hold=3"});
    ASSERT_TRUE(rx.wait_ready(30s));
    Child tx("send", {spec, "--count=6", "--idle=1"});
    ASSERT_TRUE(tx.wait_ready(30s));
    auto& conn = connection(segment, 0);
    ASSERT_TRUE(eventually([&] { return conn.return_head.load() == 3; }, 20s));
    rx.kill_now();
    ASSERT_TRUE(killed_by(rx.wait(10s), SIGKILL));
    control.mark_receiver_dead(1);
    ASSERT_TRUE(eventually([&] { return control.receiver_reclaimed(1); }, 20s))
        << "the idle sender was not woken to reclaim";
    const auto total = segment.layout().outputs[0].total_chunks;
    ASSERT_TRUE(eventually([&] { return control.published_free_chunks(0) == total; }, 20s));
    control.request_stop(0);
    const auto status = tx.wait(30s);
    ASSERT_TRUE(exited_ok(status)) << describe(status);
    auto sent = tx.results();
    EXPECT_EQ(sent["sent"], 6U);
    EXPECT_GE(sent["wakeups"], 2U);
}

// SIGKILL the sender mid-stream: both receivers keep the messages they hold (intact), get
// InputClosed once the daemon closes the dead node's outputs, and exit cleanly.
TEST_F(ShmProcesses, SenderKilledLeavesReceiversWithIntactDataAndInputClosed) {
    const auto rounds = scaled(20, 8);
    std::mt19937_64 rng(std::random_device{}());
    for (std::uint64_t round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const auto params = Params::fresh(8, 0, {8, 8});
        auto& segment = create(params);
        const Control control(segment);
        const auto spec = "--spec=" + params.encode();
        Child rx1("recv", {spec, "--node=1", "--mode=futex", "--hold=2", "--fail-fast=1"});
        Child rx2("recv", {spec, "--node=2", "--mode=busy", "--hold=2", "--fail-fast=1"});
        ASSERT_TRUE(rx1.wait_ready(30s));
        ASSERT_TRUE(rx2.wait_ready(30s));
        Child tx("send", {spec, "--count=0"});
        ASSERT_TRUE(eventually(
            [&] {
                return connection(segment, 0).return_head.load() > 0 &&
                       connection(segment, 1).return_head.load() > 0;
            },
            20s));
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        tx.kill_now();
        ASSERT_TRUE(killed_by(tx.wait(10s), SIGKILL));
        control.close_outputs_of(0);
        for (auto* rx : {&rx1, &rx2}) {
            const auto status = rx->wait(30s);
            ASSERT_TRUE(exited_ok(status)) << "receiver " << describe(status);
            auto got = rx->results();
            EXPECT_EQ(got["closed"], 1U) << "no InputClosed after close_outputs_of";
            EXPECT_GT(got["delivered"], 0U);
            EXPECT_EQ(got["held"], 2U);
            EXPECT_EQ(got["held_bad"], 0U) << "data a receiver held changed after the kill";
            EXPECT_EQ(got["mismatches"], 0U);
            EXPECT_EQ(got["order_errors"], 0U);
        }
        destroy(segment);
        EXPECT_TRUE(processes_holding(names_.back()).empty());
    }
}

} // namespace
} // namespace zeroflow::shm::mp
