// Sender and receivers in one process: delivery, eviction with exact drop counts, fan-out
// sharing, returns, reclaim of a dead receiver, errors, ordering, and scribbled rings.
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include <boost/lockfree/spsc_queue.hpp>
#include <gtest/gtest.h>

#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

#include "test_support.hpp"

namespace zeroflow::shm {
namespace {

using namespace std::chrono_literals;

struct Rig {
    explicit Rig(LayoutSpec s) : spec(std::move(s)) {
        auto seg = Segment::create(spec);
        EXPECT_TRUE(seg) << seg.error().message;
        segment = std::make_unique<Segment>(std::move(*seg));
        auto snd = OutputSender::attach(*segment, 0);
        EXPECT_TRUE(snd);
        sender = std::make_unique<OutputSender>(std::move(*snd));
        for (std::uint32_t n = 1; n < spec.node_count; ++n) {
            auto r = NodeReceiver::attach(*segment, n);
            EXPECT_TRUE(r);
            receivers.push_back(std::move(*r));
        }
    }
    ~Rig() {
        const auto name = segment->name();
        receivers.clear();
        sender.reset();
        segment.reset();
        EXPECT_FALSE(test::segment_held(name)) << "segment left mapped";
    }
    void send_value(std::uint64_t value, std::uint64_t size = 8) {
        auto loan = sender->loan(size);
        ASSERT_TRUE(loan) << loan.error().message;
        std::memcpy(loan->data, &value, sizeof(value));
        ASSERT_TRUE(sender->send(*loan, size));
    }
    LayoutSpec spec;
    std::unique_ptr<Segment> segment;
    std::unique_ptr<OutputSender> sender;
    std::vector<NodeReceiver> receivers;
};

std::uint64_t value_of(const Delivery& d) {
    std::uint64_t v = 0;
    std::memcpy(&v, d.data, sizeof(v));
    return v;
}

TEST(Ring, DeliversInOrderAndReturnsChunks) {
    Rig rig(test::simple_spec(1, 8));
    auto& sut = rig.receivers[0];
    EXPECT_FALSE(sut.poll());
    for (std::uint64_t i = 1; i <= 5; ++i) {
        rig.send_value(i);
    }
    for (std::uint64_t i = 1; i <= 5; ++i) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        ASSERT_EQ(d->kind, Delivery::Kind::message);
        EXPECT_EQ(value_of(*d), i);
        EXPECT_EQ(d->sequence, i);
        EXPECT_EQ(d->size, 8U);
        EXPECT_GT(d->timestamp_ns, 0U);
        sut.release(d->input, d->chunk);
    }
    EXPECT_FALSE(sut.poll());
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
    EXPECT_EQ(sut.dropped(0), 0U);
}

TEST(Ring, FullQueueEvictsOldestAndCountsExactDrops) {
    Rig rig(test::simple_spec(1, 4));
    for (std::uint64_t i = 1; i <= 10; ++i) {
        rig.send_value(i); // never blocks, never fails
    }
    auto& sut = rig.receivers[0];
    for (std::uint64_t want = 7; want <= 10; ++want) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        EXPECT_EQ(value_of(*d), want);
        sut.release(d->input, d->chunk);
    }
    EXPECT_FALSE(sut.poll());
    EXPECT_EQ(sut.dropped(0), 6U);
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
}

TEST(Ring, FanOutSharesOneChunkUntilEveryReceiverReleases) {
    Rig rig(test::simple_spec(3, 4));
    rig.send_value(42);
    std::vector<Delivery> got;
    for (auto& r : rig.receivers) {
        auto d = r.poll();
        ASSERT_TRUE(d);
        EXPECT_EQ(value_of(*d), 42U);
        got.push_back(*d);
    }
    EXPECT_EQ(got[0].data, got[1].data);
    EXPECT_EQ(got[1].data, got[2].data);
    const auto total = rig.sender->total_chunks();
    for (std::size_t i = 0; i < got.size(); ++i) {
        rig.sender->maintain();
        EXPECT_EQ(rig.sender->free_chunks(), total - 1) << "freed before every receiver released";
        rig.receivers[i].release(got[i].input, got[i].chunk);
    }
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), total);
}

TEST(Ring, EvictionFromOneReceiverKeepsTheChunkForTheOther) {
    Rig rig(test::simple_spec(2, 1));
    rig.send_value(1);
    auto first = rig.receivers[0].poll();
    ASSERT_TRUE(first);
    rig.send_value(2); // evicts 1 from receiver 1's queue only
    auto late = rig.receivers[1].poll();
    ASSERT_TRUE(late);
    EXPECT_EQ(value_of(*late), 2U);
    EXPECT_EQ(rig.receivers[1].dropped(0), 1U);
    EXPECT_EQ(value_of(*first), 1U); // still readable: receiver 0 holds it
    rig.receivers[0].release(first->input, first->chunk);
    rig.receivers[1].release(late->input, late->chunk);
    auto again = rig.receivers[0].poll();
    ASSERT_TRUE(again);
    rig.receivers[0].release(again->input, again->chunk);
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
}

TEST(Ring, TooLargeLoanIsAnErrorNamingTheLimitAndTheKey) {
    Rig rig(test::simple_spec(1, 4, 4096));
    auto r = rig.sender->loan(4097);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::message_too_large);
    EXPECT_NE(r.error().message.find("4097"), std::string::npos);
    EXPECT_NE(r.error().message.find("4096"), std::string::npos);
    EXPECT_NE(r.error().message.find("max_message_size"), std::string::npos);
}

TEST(Ring, ExhaustedPoolIsAnErrorAndRecovers) {
    Rig rig(test::simple_spec(1, 16, 1024, 3));
    std::vector<Loan> loans;
    for (int i = 0; i < 3; ++i) {
        auto l = rig.sender->loan(100);
        ASSERT_TRUE(l);
        loans.push_back(*l);
    }
    auto r = rig.sender->loan(100);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::pool_exhausted);
    rig.sender->discard(loans.back());
    EXPECT_TRUE(rig.sender->loan(100));
}

TEST(Ring, ClosedInputComesAfterQueuedMessages) {
    Rig rig(test::simple_spec(1, 8));
    rig.send_value(1);
    rig.send_value(2);
    rig.sender->close();
    auto& sut = rig.receivers[0];
    for (std::uint64_t i = 1; i <= 2; ++i) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        ASSERT_EQ(d->kind, Delivery::Kind::message);
        sut.release(d->input, d->chunk);
    }
    auto closed = sut.poll();
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->kind, Delivery::Kind::input_closed);
    EXPECT_FALSE(sut.poll());
    EXPECT_FALSE(sut.input_open(0));
    EXPECT_EQ(rig.sender->loan(8).error().code, ErrorCode::closed);
}

TEST(Ring, StopComesFirstAndOnce) {
    Rig rig(test::simple_spec(1, 8));
    rig.send_value(1);
    Control(*rig.segment).request_stop(1);
    auto d = rig.receivers[0].poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, Delivery::Kind::stop);
    auto next = rig.receivers[0].poll();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->kind, Delivery::Kind::message);
}

TEST(Ring, DeadReceiverChunksAreReclaimedBySender) {
    Rig rig(test::simple_spec(2, 8));
    for (std::uint64_t i = 0; i < 5; ++i) {
        rig.send_value(i);
    }
    // Receiver 2 takes two and "dies" holding them, with three still queued.
    auto a = rig.receivers[1].poll();
    auto b = rig.receivers[1].poll();
    ASSERT_TRUE(a && b);
    // Receiver 1 consumes everything normally.
    while (auto d = rig.receivers[0].poll()) {
        rig.receivers[0].release(d->input, d->chunk);
    }
    Control control(*rig.segment);
    control.mark_receiver_dead(2);
    EXPECT_FALSE(control.receiver_reclaimed(2));
    rig.sender->maintain();
    EXPECT_TRUE(control.receiver_reclaimed(2));
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
    // Sends go on to the live receiver only.
    rig.send_value(99);
    auto d = rig.receivers[0].poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(value_of(*d), 99U);
    rig.receivers[0].release(d->input, d->chunk);
    // A new process of the dead node attaches and receives new messages.
    control.revive_receiver(2);
    auto reborn = NodeReceiver::attach(*rig.segment, 2);
    ASSERT_TRUE(reborn);
    rig.send_value(100);
    auto e = reborn->poll();
    ASSERT_TRUE(e);
    EXPECT_EQ(value_of(*e), 100U);
    reborn->release(e->input, e->chunk);
    while (auto f = rig.receivers[0].poll()) {
        rig.receivers[0].release(f->input, f->chunk);
    }
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
}

TEST(Ring, ReplacedReceiverKeepsItsQueueAndItsTakenChunksComeBack) {
    Rig rig(test::simple_spec(1, 8));
    for (std::uint64_t i = 1; i <= 5; ++i) {
        rig.send_value(i);
    }
    // The receiver takes 1 and 2, releases 1, and "dies" holding 2, with 3..5 queued.
    auto first = rig.receivers[0].poll();
    auto second = rig.receivers[0].poll();
    ASSERT_TRUE(first && second);
    rig.receivers[0].release(first->input, first->chunk);
    Control control(*rig.segment);
    control.replace_receiver(1);
    EXPECT_FALSE(control.connection_settled(0));
    rig.sender->maintain();
    EXPECT_TRUE(control.connection_settled(0));
    // Chunk of 2 is back; 3..5 are still the connection's. Sends go on while it is down.
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks() - 3);
    rig.send_value(6);
    // The new process begins at the oldest message still queued.
    auto reborn = NodeReceiver::attach_resuming(*rig.segment, 1);
    ASSERT_TRUE(reborn);
    for (std::uint64_t want = 3; want <= 6; ++want) {
        auto d = reborn->poll();
        ASSERT_TRUE(d) << want;
        EXPECT_EQ(value_of(*d), want);
        EXPECT_EQ(d->sequence, want);
        reborn->release(d->input, d->chunk);
    }
    EXPECT_FALSE(reborn->poll());
    EXPECT_EQ(reborn->dropped(0), 0U);
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
}

TEST(Ring, InputsAreMergedBySendTime) {
    LayoutSpec spec;
    spec.uuid = test::random_uuid();
    spec.node_count = 3;
    spec.outputs = {OutputSpec{0, "a/out", 1024, 0}, OutputSpec{1, "b/out", 1024, 0}};
    spec.connections = {ConnectionSpec{0, 2, 8, "a"}, ConnectionSpec{1, 2, 8, "b"}};
    auto seg = Segment::create(spec);
    ASSERT_TRUE(seg);
    auto a = OutputSender::attach(*seg, 0);
    auto b = OutputSender::attach(*seg, 1);
    auto sut = NodeReceiver::attach(*seg, 2);
    ASSERT_TRUE(a && b && sut);
    const std::uint64_t stamps_a[] = {10, 30, 50};
    const std::uint64_t stamps_b[] = {20, 40, 60};
    for (int i = 0; i < 3; ++i) {
        auto la = a->loan(8);
        ASSERT_TRUE(a->send(*la, 8, stamps_a[i]));
    }
    for (int i = 0; i < 3; ++i) {
        auto lb = b->loan(8);
        ASSERT_TRUE(b->send(*lb, 8, stamps_b[i]));
    }
    std::vector<std::uint64_t> order;
    while (auto d = sut->poll()) {
        order.push_back(d->timestamp_ns);
        sut->release(d->input, d->chunk);
    }
    EXPECT_EQ(order, (std::vector<std::uint64_t>{10, 20, 30, 40, 50, 60}));
}

TEST(Ring, MatchesBoostSpscQueueOnOrderAndCounts) {
    // Reference: a Boost spsc_queue fed the same values (no eviction when it is large enough).
    Rig rig(test::simple_spec(1, 256));
    boost::lockfree::spsc_queue<std::uint64_t> reference(256);
    std::mt19937 rng(7);
    std::uint64_t next = 0;
    std::uint64_t received = 0;
    for (int round = 0; round < 2000; ++round) {
        const auto burst = rng() % 32;
        for (std::uint32_t i = 0; i < burst && reference.write_available() > 0; ++i) {
            rig.send_value(++next);
            reference.push(next);
        }
        const auto take = rng() % 32;
        for (std::uint32_t i = 0; i < take; ++i) {
            std::uint64_t want = 0;
            const bool ref_has = reference.pop(want);
            auto d = rig.receivers[0].poll();
            ASSERT_EQ(ref_has, d.has_value());
            if (!d) {
                break;
            }
            EXPECT_EQ(value_of(*d), want);
            rig.receivers[0].release(d->input, d->chunk);
            ++received;
        }
    }
    EXPECT_GT(received, 1000U);
    EXPECT_EQ(rig.receivers[0].dropped(0), 0U);
}

TEST(Ring, TwoThreadsStreamWithoutLossWhenTheQueueIsLargeEnough) {
    // Fewer chunks than queue slots: an exhausted pool is the back-pressure, never eviction.
    Rig rig(test::simple_spec(1, 1024, 1024, 256));
    constexpr std::uint64_t kCount = 200000;
    std::thread consumer([&] {
        std::uint64_t expect = 1;
        auto& sut = rig.receivers[0];
        while (expect <= kCount) {
            // wait() may return early without an event (a spurious wake): loop, with a deadline.
            std::optional<Delivery> d;
            const auto deadline = std::chrono::steady_clock::now() + 10s;
            while (!d && std::chrono::steady_clock::now() < deadline) {
                d = sut.wait(1s, 50us);
            }
            ASSERT_TRUE(d) << "hang waiting for " << expect;
            ASSERT_EQ(value_of(*d), expect);
            sut.release(d->input, d->chunk);
            ++expect;
        }
    });
    for (std::uint64_t i = 1; i <= kCount;) {
        auto loan = rig.sender->loan(8);
        if (!loan) {
            ASSERT_EQ(loan.error().code, ErrorCode::pool_exhausted);
            std::this_thread::yield();
            continue;
        }
        std::memcpy(loan->data, &i, sizeof(i));
        ASSERT_TRUE(rig.sender->send(*loan, 8));
        ++i;
    }
    consumer.join();
    EXPECT_EQ(rig.receivers[0].dropped(0), 0U);
}

TEST(Ring, ScribbledSlotsAndIndicesAreCountedNeverFollowed) {
    Rig rig(test::simple_spec(1, 8));
    std::mt19937_64 rng(11);
    const auto& cl = rig.segment->layout().connections[0];
    auto& block = rig.segment->at<ConnectionBlock>(cl.block_offset);
    auto* slots = &rig.segment->at<std::atomic<std::uint64_t>>(cl.submit_slots);
    auto* returns = &rig.segment->at<std::atomic<std::uint32_t>>(cl.return_slots);
    std::uint64_t refused = 0;
    for (int round = 0; round < 2000; ++round) {
        // Scribbled returns can strand chunks: the pool may run dry, as an error value.
        if (auto loan = rig.sender->loan(8)) {
            ASSERT_TRUE(rig.sender->send(*loan, 8));
        } else {
            ASSERT_EQ(loan.error().code, ErrorCode::pool_exhausted);
            ++refused;
        }
        switch (rng() % 5) {
        case 0:
            slots[rng() % cl.queue_size].store(rng(), std::memory_order_relaxed);
            break;
        case 1:
            block.submit_head.store(rng() % 3 == 0 ? rng() : block.submit_head.load() + rng() % 64);
            break;
        case 2:
            returns[rng() % cl.return_capacity].store(static_cast<std::uint32_t>(rng()));
            block.return_head.store(block.return_head.load() + rng() % 4);
            break;
        case 3:
            block.return_head.store(rng());
            break;
        default:
            break;
        }
        for (int k = 0; k < 3; ++k) {
            if (auto d = rig.receivers[0].poll(); d && d->kind == Delivery::Kind::message) {
                ASSERT_LE(d->size, 1U << 20);
                rig.receivers[0].release(d->input, d->chunk);
            }
        }
    }
    // Still alive and bounded: errors were counted on at least one side.
    EXPECT_GT(rig.receivers[0].errors() + rig.sender->errors(), 0U);
    EXPECT_LT(refused, 2000U);
}

} // namespace
} // namespace zeroflow::shm

namespace zeroflow::shm {
namespace {

TEST(Ring, ReattachingSenderWaitsForChunksHeldFromItsPreviousProcess) {
    Rig rig(test::simple_spec(1, 8));
    for (std::uint64_t i = 1; i <= 3; ++i) {
        rig.send_value(i);
    }
    auto& sut = rig.receivers[0];
    auto held = sut.poll();
    ASSERT_TRUE(held);
    EXPECT_EQ(value_of(*held), 1U);
    // The sending process goes away (no close: a dynamic node that disconnects) and comes back.
    rig.sender.reset();
    auto again = OutputSender::attach(*rig.segment, 0);
    ASSERT_TRUE(again);
    auto refused = again->loan(8);
    ASSERT_FALSE(refused) << "a chunk the receiver still reads could be reused";
    EXPECT_EQ(refused.error().code, ErrorCode::pool_exhausted);
    EXPECT_EQ(value_of(*held), 1U);
    sut.release(held->input, held->chunk);
    auto loan = again->loan(8);
    ASSERT_TRUE(loan) << loan.error().message;
    const std::uint64_t value = 42;
    std::memcpy(loan->data, &value, sizeof(value));
    ASSERT_TRUE(again->send(*loan, 8));
    // The two messages queued by the old process were voided: drops, not errors.
    auto d = sut.poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(value_of(*d), 42U);
    EXPECT_EQ(d->sequence, 4U) << "sequence numbers continue across processes";
    EXPECT_EQ(sut.dropped(0), 2U);
    EXPECT_EQ(sut.errors(), 0U);
    sut.release(d->input, d->chunk);
    again->maintain();
    EXPECT_EQ(again->free_chunks(), again->total_chunks());
}

// ---- The metadata area of a chunk ----------------------------------------------------------

TEST(ChunkMetadata, AreaFollowsThePayloadAndChunksDoNotOverlap) {
    auto spec = test::simple_spec(1, 4, 4096);
    spec.outputs[0].max_metadata_size = 300;
    auto layout = compute_layout(spec);
    ASSERT_TRUE(layout) << layout.error().message;
    const auto& out = layout->outputs[0];
    EXPECT_EQ(out.max_metadata_size, 300U);
    EXPECT_EQ(out.metadata_area, kParametersOffset + 320); // 300 rounded up to a cache line
    for (const auto& cls : out.classes) {
        EXPECT_GE(cls.stride, sizeof(ChunkHeader) + cls.capacity + out.metadata_area);
    }
    spec.outputs[0].max_metadata_size = kMaxMetadataSizeLimit + 1;
    EXPECT_FALSE(compute_layout(spec));
}

TEST(ChunkMetadata, TypeShapeEncodingParametersAndWallTimeArrive) {
    Rig rig(test::simple_spec(1, 4));
    auto loan = rig.sender->loan(24);
    ASSERT_TRUE(loan);
    ASSERT_NE(loan->metadata(), nullptr);
    EXPECT_EQ(loan->metadata(), loan->data + loan->capacity);
    const std::uint64_t shape[2] = {2, 3};
    std::memcpy(loan->metadata() + kShapeOffset, shape, sizeof(shape));
    std::memcpy(loan->metadata() + kEncodingOffset, "mono16", 6);
    const char params[] = "\x01k\x01\x01"; // key "k", bool true
    std::memcpy(loan->metadata() + kParametersOffset, params, 4);
    const auto before = realtime_ns();
    ASSERT_TRUE(rig.sender->send(*loan, 24, 0, MessageInfo{4, 3, 2, 6}));
    const auto after = realtime_ns();
    auto d = rig.receivers[0].poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->dtype, 3);
    EXPECT_EQ(d->ndim, 2);
    EXPECT_EQ(d->encoding_size, 6);
    EXPECT_EQ(d->metadata_size, 4U);
    ASSERT_EQ(d->metadata, d->data + (loan->capacity));
    EXPECT_EQ(std::memcmp(d->metadata + kEncodingOffset, "mono16", 6), 0);
    EXPECT_EQ(std::memcmp(d->metadata + kShapeOffset, shape, sizeof(shape)), 0);
    // The wall clock is derived from the one monotonic read: it lies within the send call
    // (give or take the offset's own measurement error).
    EXPECT_GE(d->wall_time_ns + 1'000'000, before);
    EXPECT_LE(d->wall_time_ns, after + 1'000'000);
    rig.receivers[0].release(d->input, d->chunk);
}

TEST(ChunkMetadata, APlainMessageCarriesNoMetadata) {
    Rig rig(test::simple_spec(1, 4));
    rig.send_value(7);
    auto d = rig.receivers[0].poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->dtype, 0);
    EXPECT_EQ(d->ndim, 0);
    EXPECT_EQ(d->encoding_size, 0);
    EXPECT_EQ(d->metadata_size, 0U);
    EXPECT_GT(d->wall_time_ns, 1'600'000'000'000'000'000ULL); // after 2020
    rig.receivers[0].release(d->input, d->chunk);
}

TEST(ChunkMetadata, ScribbledHeaderFieldsAreDroppedAndCountedNeverFollowed) {
    Rig rig(test::simple_spec(1, 8));
    const auto& out = rig.segment->layout().outputs[0];
    // What a scribbling sender could put in a header: sizes past the area, too many dims.
    const MessageInfo bad[] = {
        {static_cast<std::uint32_t>(out.max_metadata_size + 1), 0, 0, 0},
        {0xffffffffU, 0, 0, 0},
        {0, 1, kMaxDims + 1, 0},
        {0, 1, 255, 0},
        {0, 0, 0, kMaxEncodingSize + 1},
    };
    for (const auto& info : bad) {
        auto loan = rig.sender->loan(8);
        ASSERT_TRUE(loan);
        ASSERT_TRUE(rig.sender->send(*loan, 8, 0, info));
    }
    auto& sut = rig.receivers[0];
    for (std::size_t i = 0; i < std::size(bad); ++i) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        EXPECT_EQ(d->metadata_size, 0U) << i;
        EXPECT_EQ(d->ndim, 0) << i;
        EXPECT_EQ(d->encoding_size, 0) << i;
        EXPECT_EQ(d->dtype, 0) << i;
        sut.release(d->input, d->chunk);
    }
    EXPECT_EQ(sut.errors(), std::size(bad));
}

// A forwarder (the bridge's subscribe pump) sends another sender's messages with that sender's
// stamp: receivers see its sequence and wall-clock time, not the forwarder's.
TEST(SendStamped, HeaderCarriesTheStampAndPlainSendsContinueItsSequence) {
    Rig rig(test::simple_spec(1, 8));
    auto& sut = rig.receivers[0];
    auto loan = rig.sender->loan(8);
    ASSERT_TRUE(loan);
    const std::uint64_t value = 99;
    std::memcpy(loan->data, &value, sizeof(value));
    const MessageInfo info{0, 3, 0, 0, 0}; // a dtype travels as with send()
    const SenderStamp stamp{41, 12'345, 1'700'000'000'123'456'789ULL};
    ASSERT_TRUE(rig.sender->send_stamped(*loan, 8, stamp, info));
    EXPECT_EQ(rig.sender->messages_sent(), 41U);

    auto d = sut.poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(value_of(*d), value);
    EXPECT_EQ(d->size, 8U);
    EXPECT_EQ(d->sequence, 41U);
    EXPECT_EQ(d->timestamp_ns, 12'345U);
    EXPECT_EQ(d->wall_time_ns, 1'700'000'000'123'456'789ULL);
    EXPECT_EQ(d->dtype, 3);
    sut.release(d->input, d->chunk);

    // The sender's own clock state is untouched: a plain send is stamped now, on both clocks,
    // and continues the sequence.
    const auto before = monotonic_ns();
    rig.send_value(100);
    d = sut.poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->sequence, 42U);
    EXPECT_GE(d->timestamp_ns, before);
    const auto real = static_cast<std::int64_t>(realtime_ns());
    EXPECT_LT(std::llabs(static_cast<std::int64_t>(d->wall_time_ns) - real), 1'000'000'000);
    sut.release(d->input, d->chunk);
}

TEST(SendStamped, ZeroClocksMeanNowAsForSend) {
    Rig rig(test::simple_spec(1, 8));
    auto& sut = rig.receivers[0];
    auto loan = rig.sender->loan(8);
    ASSERT_TRUE(loan);
    const auto before = monotonic_ns();
    ASSERT_TRUE(rig.sender->send_stamped(*loan, 8, SenderStamp{7, 0, 0}));
    const auto after = monotonic_ns();
    auto d = sut.poll();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->sequence, 7U);
    EXPECT_GE(d->timestamp_ns, before);
    EXPECT_LE(d->timestamp_ns, after);
    // Derived from the monotonic time as send() derives it.
    const auto derived = static_cast<std::int64_t>(d->timestamp_ns) + measure_wall_offset_ns();
    EXPECT_LT(std::llabs(static_cast<std::int64_t>(d->wall_time_ns) - derived), 1'000'000);
    sut.release(d->input, d->chunk);
}

TEST(SendStamped, GapsAndOrderAreTheStampsNotTheForwarders) {
    Rig rig(test::simple_spec(1, 8));
    auto& sut = rig.receivers[0];
    // The original sender's gaps (messages lost before the forwarder) stay visible.
    const std::uint64_t sequences[] = {10, 11, 14, 15};
    for (std::size_t i = 0; i < std::size(sequences); ++i) {
        auto loan = rig.sender->loan(8);
        ASSERT_TRUE(loan);
        std::memcpy(loan->data, &sequences[i], sizeof(sequences[i]));
        ASSERT_TRUE(rig.sender->send_stamped(
            *loan, 8, SenderStamp{sequences[i], 1000 + i, 5'000 + sequences[i]}));
    }
    for (const auto want : sequences) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        EXPECT_EQ(d->sequence, want);
        EXPECT_EQ(value_of(*d), want);
        EXPECT_EQ(d->wall_time_ns, 5'000 + want);
        sut.release(d->input, d->chunk);
    }
    EXPECT_EQ(sut.dropped(0), 0U); // gaps in the stamp are not queue drops here
    rig.sender->maintain();
    EXPECT_EQ(rig.sender->free_chunks(), rig.sender->total_chunks());
}

TEST(SendStamped, AnErrorConsumesTheLoanAndLeavesTheSequence) {
    Rig rig(test::simple_spec(1, 8));
    rig.send_value(1);
    rig.send_value(2);
    auto loan = rig.sender->loan(8);
    ASSERT_TRUE(loan);
    // Larger than the loan: refused, and the loan goes back.
    auto sent = rig.sender->send_stamped(*loan, loan->capacity + 1, SenderStamp{50, 1, 1});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(rig.sender->messages_sent(), 2U);
    rig.send_value(3);
    auto& sut = rig.receivers[0];
    for (std::uint64_t want = 1; want <= 3; ++want) {
        auto d = sut.poll();
        ASSERT_TRUE(d);
        EXPECT_EQ(d->sequence, want);
        sut.release(d->input, d->chunk);
    }
    EXPECT_FALSE(sut.poll());
    // Closed between the loan and the send: refused too.
    loan = rig.sender->loan(8);
    ASSERT_TRUE(loan);
    rig.sender->close();
    sent = rig.sender->send_stamped(*loan, 8, SenderStamp{60, 1, 1});
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, ErrorCode::closed);
    EXPECT_EQ(rig.sender->messages_sent(), 3U);
}

TEST(ChunkMetadata, WallOffsetMatchesTheClocks) {
    const auto offset = measure_wall_offset_ns();
    const auto real = static_cast<std::int64_t>(realtime_ns());
    const auto derived = static_cast<std::int64_t>(monotonic_ns()) + offset;
    EXPECT_LT(std::llabs(derived - real), 1'000'000); // within 1 ms
}

} // namespace
} // namespace zeroflow::shm
