// Sender side of an output: pools, loans, pushes with eviction, returns and reclaim.
#include <cstring>
#include <ctime>

#include <zeroflow/shm/futex.hpp>
#include <zeroflow/shm/sender.hpp>

namespace zeroflow::shm {

std::uint64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t realtime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

std::int64_t measure_wall_offset_ns() noexcept {
    std::int64_t best_offset = 0;
    std::uint64_t best_gap = ~0ULL;
    for (int round = 0; round < 3; ++round) {
        const auto before = realtime_ns();
        const auto mono = monotonic_ns();
        const auto after = realtime_ns();
        const auto gap = after - before;
        if (gap < best_gap) {
            best_gap = gap;
            best_offset = static_cast<std::int64_t>(before + gap / 2 - mono);
        }
    }
    return best_offset;
}

namespace {

constexpr std::uint64_t kWallRemeasureNs = 1'000'000'000ULL;

constexpr std::uint64_t kBigChunk = 64U << 10;
constexpr std::uint32_t kWarmBigChunks = 4;

/// Wakes a receiver that sleeps (or is about to). Called after a seq_cst fence that follows
/// the publication of the message: the receiver stores `sleeping`, fences, then polls again
/// before futex_wait, so either it sees the message or we see it sleeping — a lost wake-up is
/// impossible, and a busy receiver costs us no locked instruction at all.
inline void wake_events(NodeBlock& node) noexcept {
    // SYNC events: bump (the futex word; wait() compares against the value it read)
    node.events.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(node.events);
}

inline void notify_if_sleeping(NodeBlock& node) noexcept {
    // SYNC sleeping: observe (after the caller's seq_cst fence; pairs with wait()'s fence)
    if (node.sleeping.load(std::memory_order_relaxed) != 0) {
        wake_events(node);
    }
}

inline void notify(NodeBlock& node) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    notify_if_sleeping(node);
}

} // namespace

Result<OutputSender> OutputSender::attach(const Segment& segment, std::uint32_t output) noexcept {
    const auto& layout = segment.layout();
    if (output >= layout.outputs.size()) {
        return std::unexpected(Error{ErrorCode::invalid_argument,
                                     "no output " + std::to_string(output) + " in the segment"});
    }
    try {
        OutputSender sut;
        sut.segment_ = &segment;
        sut.layout_ = &layout.outputs[output];
        sut.index_ = output;
        sut.block_ = &segment.at<OutputBlock>(sut.layout_->block_offset);
        sut.broadcast_ = sut.layout_->owner == kDaemonOwner;
        for (auto c : sut.layout_->connections) {
            const auto& cl = layout.connections[c];
            Connection conn;
            conn.block = &segment.at<ConnectionBlock>(cl.block_offset);
            conn.slots = &segment.at<std::atomic<std::uint64_t>>(cl.submit_slots);
            conn.returns = &segment.at<std::atomic<std::uint32_t>>(cl.return_slots);
            conn.receiver = &segment.at<NodeBlock>(layout.node_blocks[cl.receiver]);
            conn.bit = 1ULL << cl.index_in_output;
            conn.queue_size = cl.queue_size;
            conn.return_mask = cl.return_capacity - 1;
            // Resume where the published indices are (a re-attaching sender continues them).
            // A previous process of this output wrote these; it is gone, and the daemon's
            // handshake (its exit seen, our registration) orders us after it.
            conn.position = conn.block->submit_head.load(std::memory_order_acquire);
            conn.slot = static_cast<std::uint32_t>(conn.position % conn.queue_size);
            conn.return_tail = conn.block->return_tail.load(std::memory_order_acquire);
            conn.state_seen = conn.block->state.load(std::memory_order_acquire);
            conn.live = (conn.state_seen & kConnectionDead) == 0;
            // A new process holds nothing of a replaced or dead receiver's (what its
            // predecessor lent is voided below or waited for): the replacement or death it
            // attached after is acknowledged at once, or the daemon would wait for an ack that
            // never comes (a dead dynamic receiver could not connect again).
            // SYNC acked: publish (pairs with Control::connection_settled / receiver_reclaimed)
            conn.block->acked.store(conn.state_seen, std::memory_order_release);
            sut.connections_.push_back(conn);
        }
        const auto total = sut.layout_->total_chunks;
        sut.holders_.assign(total, 0);
        sut.flags_.assign(total, 0);
        sut.free_.resize(sut.layout_->classes.size());
        sut.reserved_.assign(sut.layout_->classes.size(), 0);
        for (std::size_t k = 0; k < sut.layout_->classes.size(); ++k) {
            const auto& cls = sut.layout_->classes[k];
            auto& stack = sut.free_[k];
            stack.reserve(cls.count);
            // Push in reverse so that the lowest chunk is lent first: a LIFO free list keeps
            // reusing the same few (warm, already reserved) chunks.
            for (std::uint32_t i = cls.count; i-- > 0;) {
                stack.push_back(cls.first_chunk + i);
            }
        }
        sut.free_count_ = total;
        sut.wall_offset_ = measure_wall_offset_ns();
        sut.wall_measured_at_ = monotonic_ns();
        sut.closed_ = sut.block_->closed.load(std::memory_order_acquire) != 0;
        sut.sequence_ = sut.block_->sent.load(std::memory_order_acquire);
        sut.bytes_ = sut.block_->bytes.load(std::memory_order_acquire);
        // Tokens a previous process of this output left in the rings are voided (their chunks
        // may be reused); a receiver counts a void token as a drop. What receivers already took
        // is counted in their `held`, waited for below.
        for (auto& c : sut.connections_) {
            for (std::uint32_t s = 0; s < c.queue_size; ++s) {
                auto token = c.slots[s].load(std::memory_order_acquire);
                if (token != 0 && (token & kChunkMask) != kVoidChunk) {
                    c.slots[s].compare_exchange_strong(token, (token & ~kChunkMask) | kVoidChunk,
                                                       std::memory_order_acq_rel);
                }
            }
        }
        sut.end_quarantine();
        return sut;
    } catch (const std::bad_alloc&) {
        return std::unexpected(Error{ErrorCode::system, "out of memory attaching a sender"});
    }
}

std::uint32_t OutputSender::total_chunks() const noexcept {
    return layout_->total_chunks;
}
std::uint64_t OutputSender::max_message_size() const noexcept {
    return layout_->max_message_size;
}
const std::string& OutputSender::name() const noexcept {
    return layout_->name;
}

std::byte* OutputSender::chunk_address(std::uint32_t chunk) const noexcept {
    return segment_->base() + chunk_offset(*layout_, chunk);
}

void OutputSender::free_chunk(std::uint32_t chunk) noexcept {
    free_[class_of(*layout_, chunk)].push_back(chunk); // capacity reserved at attach: cannot throw
    ++free_count_;
}

void OutputSender::take_back(std::uint32_t chunk_plus_one, std::uint64_t bit) noexcept {
    // Values come from shared memory: check them against our own bookkeeping before use.
    if (chunk_plus_one == kVoidChunk) {
        return; // voided when this process attached: not ours
    }
    const std::uint32_t chunk = chunk_plus_one - 1;
    if (chunk_plus_one == 0 || chunk >= layout_->total_chunks || (holders_[chunk] & bit) == 0) {
        ++errors_;
        return;
    }
    holders_[chunk] &= ~bit;
    if (holders_[chunk] == 0 && (flags_[chunk] & kLoaned) == 0) {
        free_chunk(chunk);
    }
}

void OutputSender::drain_returns(Connection& c) noexcept {
    if (quarantined_) {
        return; // what comes back belongs to a previous process; end_quarantine skips it
    }
    // SYNC return_head: observe (pairs with NodeReceiver::release's publish): the return
    // slots up to `head` are written.
    const auto head = c.block->return_head.load(std::memory_order_acquire);
    if (head == c.return_tail) {
        // Nothing returned. Repair a scribbled tail (a line we own, so the load is a cache hit):
        // a receiver that believes its return ring full would otherwise never return again.
        if (c.block->return_tail.load(std::memory_order_relaxed) != c.return_tail) {
            ++errors_;
            c.block->return_tail.store(c.return_tail, std::memory_order_release);
        }
        return;
    }
    auto count = head - c.return_tail;
    if (count > std::uint64_t{c.return_mask} + 1) {
        // A receiver that publishes more than the ring holds is broken or scribbling: skip to
        // its head; what it really returned stays held until reclaim or segment destruction.
        ++errors_;
        c.return_tail = head;
        c.block->return_tail.store(head, std::memory_order_release);
        return;
    }
    for (; count > 0; --count, ++c.return_tail) {
        // Relaxed: ordered after the acquire of return_head above.
        const auto value = c.returns[c.return_tail & c.return_mask].load(std::memory_order_relaxed);
        take_back(value, c.bit);
    }
    // SYNC return_tail: publish (pairs with NodeReceiver::release's observe): our reads of
    // these slots happen before the receiver writes them again.
    c.block->return_tail.store(c.return_tail, std::memory_order_release);
}

void OutputSender::reclaim(Connection& c) noexcept {
    // The receiver is gone for good (the daemon says so): it writes nothing any more, so the
    // slots and the return ring are ours alone. Every chunk it still held comes back.
    for (std::uint32_t s = 0; s < c.queue_size; ++s) {
        const auto token = c.slots[s].exchange(0, std::memory_order_acq_rel);
        if (token != 0) {
            take_back(static_cast<std::uint32_t>(token & kChunkMask), c.bit);
        }
    }
    drain_returns(c);
    for (std::uint32_t chunk = 0; chunk < layout_->total_chunks; ++chunk) {
        if ((holders_[chunk] & c.bit) != 0) {
            take_back(chunk + 1, c.bit);
        }
    }
}

void OutputSender::reclaim_taken(Connection& c) noexcept {
    // The receiver's process died and a new one will take its place (the daemon stepped the
    // epoch and keeps the connection live): the dead process writes nothing any more, so what
    // it returned is drained, and every chunk our mask says it holds that is not queued in a
    // slot (it had taken it) comes back. Queued tokens stay for the new process.
    drain_returns(c);
    // Mark the queued chunks in our private flags (no allocation: this path is noexcept).
    for (std::uint32_t s = 0; s < c.queue_size; ++s) {
        const auto token = c.slots[s].load(std::memory_order_acquire);
        const auto chunk_plus_one = static_cast<std::uint32_t>(token & kChunkMask);
        if (token != 0 && chunk_plus_one != 0 && chunk_plus_one <= layout_->total_chunks) {
            flags_[chunk_plus_one - 1] |= kQueued;
        }
    }
    for (std::uint32_t chunk = 0; chunk < layout_->total_chunks; ++chunk) {
        if ((flags_[chunk] & kQueued) != 0) {
            flags_[chunk] &= static_cast<std::uint8_t>(~kQueued);
        } else if ((holders_[chunk] & c.bit) != 0) {
            take_back(chunk + 1, c.bit);
        }
    }
}

bool OutputSender::end_quarantine() noexcept {
    for (const auto& c : connections_) {
        // SYNC held: observe (pairs with NodeReceiver::drop_held): at 0, every chunk the
        // receiver took is back in the return ring, and visible.
        if (c.live && c.block->held.load(std::memory_order_acquire) != 0) {
            return false;
        }
    }
    // Everything a previous process lent is back: what is in the return rings is stale.
    for (auto& c : connections_) {
        c.return_tail = c.block->return_head.load(std::memory_order_acquire);
        c.block->return_tail.store(c.return_tail, std::memory_order_release);
    }
    quarantined_ = false;
    return true;
}

void OutputSender::maintain() noexcept {
    for (auto& c : connections_) {
        // SYNC state: observe (pairs with Control::mark_receiver_dead / revive_receiver)
        const auto state = c.block->state.load(std::memory_order_acquire);
        if (state != c.state_seen) {
            c.state_seen = state;
            if ((state & kConnectionDead) != 0) {
                if (c.live) {
                    reclaim(c);
                }
                c.live = false;
                // SYNC acked: publish (pairs with Control::receiver_reclaimed): the reclaim
                // above is complete.
                c.block->acked.store(state, std::memory_order_release);
            } else if (c.live) {
                // Live -> live: the receiver's process was replaced (a restart). Returns of
                // a quarantined sender belong to its predecessor: nothing of ours to take.
                if (!quarantined_) {
                    reclaim_taken(c);
                }
                // SYNC acked: publish (pairs with Control::connection_settled)
                c.block->acked.store(state, std::memory_order_release);
            } else {
                c.live = true; // revived for a new receiver, which starts at our head
            }
        }
        if (c.live && !quarantined_) {
            drain_returns(c);
        }
    }
    // Statistics for the daemon (same cache line; written here, not on every send). Relaxed:
    // no data is published with them; readers treat them as hints.
    block_->free_chunks.store(free_count_, std::memory_order_relaxed);
    block_->sent.store(sequence_, std::memory_order_relaxed);
    block_->errors.store(errors_, std::memory_order_relaxed);
}

bool OutputSender::closed() noexcept {
    // The daemon closes every output when the dataflow finishes: sends after that are errors.
    // Relaxed: the flag carries no data for the sender; a late view costs one more send.
    if (!closed_ && block_->closed.load(std::memory_order_relaxed) != 0) {
        closed_ = true;
    }
    return closed_;
}

Result<Loan> OutputSender::loan(std::uint64_t bytes) noexcept {
    if (closed()) {
        return std::unexpected(
            Error{ErrorCode::closed, "output '" + layout_->name +
                                         "' is closed (the dataflow finished or was stopped)"});
    }
    if (bytes > layout_->max_message_size) {
        return std::unexpected(Error{ErrorCode::message_too_large,
                                     "message of " + std::to_string(bytes) +
                                         " bytes is larger than output '" + layout_->name +
                                         "' takes (" + std::to_string(layout_->max_message_size) +
                                         " bytes); raise it with `shm: {" + layout_->name +
                                         ": {max_message_size: ...}}` "
                                         "in the dataflow"});
    }
    if (quarantined_ && !end_quarantine()) {
        return std::unexpected(Error{ErrorCode::pool_exhausted,
                                     "output '" + layout_->name +
                                         "' waits for its receivers to release the messages a "
                                         "previous process of this node sent; try again shortly"});
    }
    const auto& classes = layout_->classes;
    std::size_t k = 0;
    while (classes[k].capacity < bytes) {
        ++k;
    }
    // Reading the return rings costs a cache miss (the receiver wrote them), so do it only when
    // no warm (already reserved) chunk is on top of the free stack — returned chunks go on top —
    // and, for big classes, once kWarmBigChunks are in rotation: reusing a few big chunks keeps
    // the memory an output touches small, and amortises the miss over several loans. Small
    // classes cycle through all their chunks and read the rings only when they ran dry.
    const auto& wanted = free_[k];
    const bool warm_on_top = !wanted.empty() && (flags_[wanted.back()] & kReserved) != 0;
    if (!warm_on_top &&
        (wanted.empty() || (classes[k].capacity >= kBigChunk && reserved_[k] >= kWarmBigChunks))) {
        maintain();
    }
    for (; k < classes.size(); ++k) {
        auto& stack = free_[k];
        if (stack.empty()) {
            continue;
        }
        const auto chunk = stack.back();
        stack.pop_back();
        --free_count_;
        if ((flags_[chunk] & kReserved) == 0) {
            // First use of this chunk: reserve its pages now so a full /dev/shm is an error
            // here and never a SIGBUS on write.
            const auto& cls = classes[k];
            auto reserved = segment_->reserve(
                cls.offset + std::uint64_t{chunk - cls.first_chunk} * cls.stride, cls.stride);
            if (!reserved) {
                stack.push_back(chunk);
                ++free_count_;
                return std::unexpected(reserved.error());
            }
            flags_[chunk] |= kReserved;
            ++reserved_[k];
        }
        flags_[chunk] |= kLoaned;
        return Loan{chunk, chunk_address(chunk) + sizeof(ChunkHeader), classes[k].capacity};
    }
    return std::unexpected(
        Error{ErrorCode::pool_exhausted,
              "every chunk of output '" + layout_->name + "' that takes " + std::to_string(bytes) +
                  " bytes is in flight; receivers hold them or queues are full. Release events "
                  "sooner, or raise `chunks` for this output in the dataflow's shm: section"});
}

void OutputSender::discard(const Loan& loan) noexcept {
    if (loan.chunk < layout_->total_chunks && (flags_[loan.chunk] & kLoaned) != 0) {
        flags_[loan.chunk] &= static_cast<std::uint8_t>(~kLoaned);
        if (holders_[loan.chunk] == 0) {
            free_chunk(loan.chunk);
        }
    }
}

std::uint32_t OutputSender::max_metadata_size() const noexcept {
    return layout_->max_metadata_size;
}

// Once a second: out of line, so that the per-message path stays a compare and an add.
[[gnu::noinline, gnu::cold]] void OutputSender::remeasure_wall(std::uint64_t monotonic) noexcept {
    wall_offset_ = measure_wall_offset_ns();
    wall_measured_at_ = monotonic;
}

inline std::uint64_t OutputSender::wall_time(std::uint64_t monotonic) noexcept {
    // One clock read per message: the wall clock is the monotonic one plus an offset that is
    // measured again once a second (one compare per message).
    if (monotonic > wall_measured_at_ + kWallRemeasureNs) [[unlikely]] {
        remeasure_wall(monotonic);
    }
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(monotonic) + wall_offset_);
}

Result<void> OutputSender::send(const Loan& loan, std::uint64_t size, std::uint64_t timestamp_ns,
                                MessageInfo info) noexcept {
    return publish(loan, size, timestamp_ns, info, nullptr);
}

Result<void> OutputSender::send_stamped(const Loan& loan, std::uint64_t size,
                                        const SenderStamp& stamp, MessageInfo info) noexcept {
    return publish(loan, size, stamp.timestamp_ns, info, &stamp);
}

Result<void> OutputSender::publish(const Loan& loan, std::uint64_t size, std::uint64_t timestamp_ns,
                                   MessageInfo info, const SenderStamp* stamp) noexcept {
    const auto chunk = loan.chunk;
    if (chunk >= layout_->total_chunks || (flags_[chunk] & kLoaned) == 0) {
        return std::unexpected(Error{ErrorCode::invalid_argument,
                                     "this sample was not lent by output '" + layout_->name + "'"});
    }
    if (closed()) {
        discard(loan);
        return std::unexpected(
            Error{ErrorCode::closed, "output '" + layout_->name +
                                         "' is closed (the dataflow finished or was stopped)"});
    }
    const auto& cls = layout_->classes[class_of(*layout_, chunk)];
    if (size > cls.capacity) {
        discard(loan);
        return std::unexpected(Error{ErrorCode::invalid_argument,
                                     "size " + std::to_string(size) + " exceeds the loan's " +
                                         std::to_string(cls.capacity) + " bytes"});
    }
    auto& header = *reinterpret_cast<ChunkHeader*>(chunk_address(chunk));
    header.payload_size = size;
    // A forwarder's stamp replaces our sequence (ours continues from it) and wall time.
    sequence_ = stamp != nullptr ? stamp->sequence : sequence_ + 1;
    header.sequence = sequence_;
    const auto now = timestamp_ns != 0 ? timestamp_ns : monotonic_ns();
    header.timestamp_ns = now;
    header.wall_time_ns =
        stamp != nullptr && stamp->wall_time_ns != 0 ? stamp->wall_time_ns : wall_time(now);
    last_timestamp_ = now;
    last_wall_ = header.wall_time_ns;
    header.output = index_;
    std::memcpy(&header.metadata_size, &info, sizeof(MessageInfo)); // ... through flags

    // Pick up state changes (dead inputs) before deciding who gets this chunk.
    for (auto& c : connections_) {
        if (c.block->state.load(std::memory_order_acquire) != c.state_seen) {
            maintain();
            break;
        }
    }
    std::uint64_t mask = 0;
    for (const auto& c : connections_) {
        if (c.live) {
            mask |= c.bit;
        }
    }
    flags_[chunk] &= static_cast<std::uint8_t>(~kLoaned);
    holders_[chunk] = mask;
    // Our own statistics line: `sent` lets a re-attaching sender resume the sequence; `bytes`
    // feeds `zeroflow top` (same line, one more plain store).
    block_->sent.store(sequence_, std::memory_order_relaxed);
    block_->bytes.store(bytes_ += size, std::memory_order_relaxed);
    if (mask == 0) {
        free_chunk(chunk);
        block_->free_chunks.store(free_count_, std::memory_order_relaxed);
        return {};
    }
    for (auto& c : connections_) {
        if (!c.live) {
            continue;
        }
        const auto token = ((c.position & kPositionMask) << kChunkBits) | (chunk + 1);
        // One exchange hands the slot over: what comes back was never taken by the receiver,
        // so it is evicted (the receiver counts the gap as a drop) and returns to us.
        // SYNC slot: publish (release: the header, metadata and payload written above) and
        // observe (acquire: an evicted token's chunk is no longer the receiver's); pairs with
        // NodeReceiver::take's exchange.
        const auto old = c.slots[c.slot].exchange(token, std::memory_order_acq_rel);
        ++c.position;
        c.slot = c.slot + 1 == c.queue_size ? 0 : c.slot + 1;
        // SYNC submit_head: publish (pairs with NodeReceiver::available)
        c.block->submit_head.store(c.position, std::memory_order_release);
        if (old != 0) {
            take_back(static_cast<std::uint32_t>(old & kChunkMask), c.bit);
        }
    }
    block_->free_chunks.store(free_count_, std::memory_order_relaxed);
    // SYNC sleeping: fence (pairs with wait()'s): we see `sleeping`, or it sees submit_head.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!broadcast_) {
        for (auto& c : connections_) {
            if (c.live) {
                notify_if_sleeping(*c.receiver);
            }
        }
        return {};
    }
    // A timer: receivers asleep on their timers' wake words share one bump and one wake-up
    // call; the others (asleep on events only) are woken one by one as above.
    bool wake_word = false;
    for (auto& c : connections_) {
        if (!c.live) {
            continue;
        }
        // SYNC sleeping: observe (after the fence above; pairs with wait()'s fence)
        const auto sleeping = c.receiver->sleeping.load(std::memory_order_relaxed);
        if (sleeping == kSleepingOnAll) {
            wake_word = true;
        } else if (sleeping != 0) {
            wake_events(*c.receiver);
        }
    }
    if (wake_word) {
        // SYNC wake: bump (wait() compares against the value it read after its fence)
        block_->wake.fetch_add(1, std::memory_order_seq_cst);
        futex_wake_all(block_->wake);
    }
    return {};
}

void OutputSender::close() noexcept {
    if (closed_) {
        return;
    }
    closed_ = true;
    // SYNC closed: publish (pairs with NodeReceiver::poll): every send before it is visible
    // to a receiver that sees the flag.
    block_->closed.store(1, std::memory_order_release);
    for (auto& c : connections_) {
        notify(*c.receiver);
    }
}

} // namespace zeroflow::shm
