// Receiver side of a node: takes tokens out of submission rings (one exchange each), orders
// inputs by send time, returns chunks, sleeps on the node's futex word.
#include <algorithm>
#include <cstring>
#include <limits>

#include <zeroflow/shm/futex.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

namespace zeroflow::shm {
namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

constexpr std::uint64_t kMaxSaneGap = 1ULL << 39;

} // namespace

Result<NodeReceiver> NodeReceiver::attach(const Segment& segment, std::uint32_t node,
                                          bool from_start) noexcept {
    return attach_at(segment, node, from_start ? Start::first : Start::head);
}

Result<NodeReceiver> NodeReceiver::attach_resuming(const Segment& segment,
                                                   std::uint32_t node) noexcept {
    return attach_at(segment, node, Start::oldest_queued);
}

Result<NodeReceiver> NodeReceiver::attach_at(const Segment& segment, std::uint32_t node,
                                             Start start) noexcept {
    const auto& layout = segment.layout();
    if (node >= layout.node_blocks.size()) {
        return std::unexpected(Error{ErrorCode::invalid_argument,
                                     "no node " + std::to_string(node) + " in the segment"});
    }
    try {
        NodeReceiver sut;
        sut.segment_ = &segment;
        sut.node_ = &segment.at<NodeBlock>(layout.node_blocks[node]);
        for (std::size_t c = 0; c < layout.connections.size(); ++c) {
            const auto& cl = layout.connections[c];
            if (cl.receiver != node) {
                continue;
            }
            Input in;
            in.block = &segment.at<ConnectionBlock>(cl.block_offset);
            in.slots = &segment.at<std::atomic<std::uint64_t>>(cl.submit_slots);
            in.returns = &segment.at<std::atomic<std::uint32_t>>(cl.return_slots);
            in.layout = &layout.outputs[cl.output];
            in.output = &segment.at<OutputBlock>(in.layout->block_offset);
            in.queue_size = cl.queue_size;
            in.return_mask = cl.return_capacity - 1;
            in.connection = static_cast<std::uint32_t>(c);
            // A re-attaching receiver starts at the sender's published position; a spawned
            // node's only attach starts at 0, since its senders may have sent already.
            const auto head = in.block->submit_head.load(std::memory_order_acquire);
            in.tail = start == Start::first ? 0 : head;
            if (start == Start::oldest_queued) {
                // The previous process took messages in order and emptied each slot it took:
                // the oldest position whose slot still holds that position's token is where
                // it stopped. A send racing this scan only moves the head on; take() copes.
                for (auto p = head > cl.queue_size ? head - cl.queue_size : 0; p < head; ++p) {
                    const auto token = in.slots[p % cl.queue_size].load(std::memory_order_acquire);
                    if (token != 0 && (token >> kChunkBits) == (p & kPositionMask)) {
                        in.tail = p;
                        break;
                    }
                }
            }
            in.head_cache = in.tail;
            in.slot = static_cast<std::uint32_t>(in.tail % in.queue_size);
            in.return_head = in.block->return_head.load(std::memory_order_acquire);
            in.return_tail_cache = in.block->return_tail.load(std::memory_order_acquire);
            in.block->held.store(0, std::memory_order_release); // a new process holds nothing
            sut.inputs_.push_back(in);
        }
        sut.wait_items_.push_back(FutexWaitItem{&sut.node_->events, 0});
        for (const auto& in : sut.inputs_) {
            if (in.layout->owner != kDaemonOwner) {
                continue;
            }
            auto* word = &in.output->wake;
            const auto seen = std::find_if(sut.wait_items_.begin(), sut.wait_items_.end(),
                                           [&](const auto& item) { return item.word == word; });
            if (seen == sut.wait_items_.end()) {
                sut.wait_items_.push_back(FutexWaitItem{word, 0});
            }
        }
        if (sut.wait_items_.size() > kMaxFutexWaitItems) {
            sut.wait_items_.resize(1); // too many timers for one call: sleep on events only
        }
        return sut;
    } catch (const std::bad_alloc&) {
        return std::unexpected(Error{ErrorCode::system, "out of memory attaching a receiver"});
    }
}

bool NodeReceiver::available(Input& in) noexcept {
    if (in.tail < in.head_cache) {
        return true;
    }
    // SYNC submit_head: observe (pairs with OutputSender::send)
    const auto head = in.block->submit_head.load(std::memory_order_acquire);
    if (head <= in.tail) {
        // Empty. The sender publishes a position only after the exchange that filled it, so a
        // token we took can put our tail at most one past the published head. Further behind
        // means a scribbled head or token moved us: resynchronise on the head (the sender
        // rewrites it on every send) instead of waiting forever for it to catch up.
        if (in.tail - head > 1) {
            ++errors_;
            in.tail = head;
            in.head_cache = head;
            in.slot = static_cast<std::uint32_t>(head % in.queue_size);
        }
        return false;
    }
    in.head_cache = head;
    if (head - in.tail > in.queue_size) {
        // The sender lapped us: the oldest entries were evicted. Skip to the oldest that can
        // still be there; the gap counts as dropped.
        const auto gap = head - in.queue_size - in.tail;
        in.skipped += gap;
        in.tail = head - in.queue_size;
        in.slot = static_cast<std::uint32_t>(in.tail % in.queue_size);
    }
    return true;
}

const ChunkHeader* NodeReceiver::chunk_header(const Input& in, std::uint32_t chunk,
                                              std::uint64_t& capacity) const noexcept {
    // `chunk` came from shared memory: checked against our private bound before use.
    if (chunk >= in.layout->total_chunks) {
        return nullptr;
    }
    capacity = in.layout->classes[class_of(*in.layout, chunk)].capacity;
    return reinterpret_cast<const ChunkHeader*>(segment_->base() + chunk_offset(*in.layout, chunk));
}

std::uint64_t NodeReceiver::peek_timestamp(const Input& in) const noexcept {
    // SYNC slot: observe (pairs with OutputSender::send's exchange). The token is not taken:
    // the sender may evict it and rewrite its chunk while we read the timestamp. That read is
    // a benign race — it only orders inputs, best effort — and take() checks what it gets.
    const auto token = in.slots[in.slot].load(std::memory_order_acquire);
    std::uint64_t capacity = 0;
    const auto* header =
        chunk_header(in, static_cast<std::uint32_t>((token & kChunkMask) - 1), capacity);
    // A bad token sorts first so that take() clears it out of the way.
    return header != nullptr ? header->timestamp_ns : 0;
}

bool NodeReceiver::take(std::uint32_t index, std::optional<Delivery>& result) noexcept {
    auto& in = inputs_[index];
    // Bounded: each round consumes one slot; a ring holds at most queue_size entries.
    for (std::uint32_t round = 0; round <= in.queue_size; ++round) {
        if (!available(in)) {
            return false;
        }
        // Count the chunk as held before taking it: a sender that re-attaches drains the slots
        // and then waits for `held` to reach 0, so it must never miss a chunk in our hands.
        // Relaxed: the exchange below releases it. A re-attaching sender that drains this slot
        // after us reads our 0 with acquire, so it sees `held` raised.
        in.block->held.store(++in.held, std::memory_order_relaxed);
        // SYNC slot: observe (acquire: the sender's header, metadata and payload) and publish
        // (release: `held`); pairs with OutputSender::send's exchange.
        const auto token = in.slots[in.slot].exchange(0, std::memory_order_acq_rel);
        const auto not_taken = [&in] {
            in.block->held.store(--in.held, std::memory_order_release);
        };
        const auto advance = [&in] {
            ++in.tail;
            in.slot = in.slot + 1 == in.queue_size ? 0 : in.slot + 1;
        };
        if (token == 0) {
            ++errors_; // published but empty: only a scribbling peer does that
            not_taken();
            advance();
            continue;
        }
        const auto chunk_plus_one = static_cast<std::uint32_t>(token & kChunkMask);
        const auto gap = ((token >> kChunkBits) - in.tail) & kPositionMask;
        if (gap != 0) {
            if (gap % in.queue_size != 0 || gap > kMaxSaneGap) {
                ++errors_;
                if (chunk_plus_one != 0) {
                    release(index, chunk_plus_one - 1); // hand it back; the sender checks it
                } else {
                    not_taken();
                }
                advance();
                continue;
            }
            // The sender overwrote this slot since we read its head: we hold a newer message.
            in.skipped += gap;
            in.tail += gap;
        }
        advance();
        if (chunk_plus_one == kVoidChunk) {
            ++in.skipped; // a message of a sender process that is gone (it re-attached)
            not_taken();
            continue;
        }
        std::uint64_t capacity = 0;
        const auto* header = chunk_header(in, chunk_plus_one - 1, capacity);
        if (header == nullptr) {
            ++errors_;
            not_taken();
            continue;
        }
        const auto size = header->payload_size;
        if (size > capacity) {
            ++errors_;
            release(index, chunk_plus_one - 1);
            continue;
        }
        auto& d = result.emplace();
        d.kind = Delivery::Kind::message;
        d.input = index;
        d.chunk = chunk_plus_one - 1;
        d.data = reinterpret_cast<const std::byte*>(header) + sizeof(ChunkHeader);
        d.size = size;
        d.sequence = header->sequence;
        d.timestamp_ns = header->timestamp_ns;
        d.wall_time_ns = header->wall_time_ns;
        d.metadata = d.data + capacity;
        // What the header says about the metadata area: one load of its eight bytes (sizes,
        // type, flags), all zero for a plain message.
        std::uint64_t described = 0;
        std::memcpy(&described, &header->metadata_size, sizeof(described));
        if (described != 0) [[unlikely]] {
            describe(in, *header, d);
        }
        return true;
    }
    return false;
}

void NodeReceiver::describe(const Input& in, const ChunkHeader& header, Delivery& d) noexcept {
    // Checked against our private bounds: a value out of range is dropped (read as "none")
    // and counted, never followed.
    const auto meta_size = header.metadata_size;
    const auto ndim = header.ndim;
    const auto encoding_size = header.encoding_size;
    if (meta_size > in.layout->max_metadata_size || ndim > kMaxDims ||
        encoding_size > kMaxEncodingSize) {
        ++errors_;
        return;
    }
    d.metadata_size = meta_size;
    d.ndim = ndim;
    d.encoding_size = encoding_size;
    d.dtype = header.dtype;
}

std::optional<Delivery> NodeReceiver::poll() noexcept {
    std::optional<Delivery> result; // every return returns it: built in place (NRVO)
    // SYNC stop: observe (pairs with Control::request_stop)
    if (!stop_delivered_ && node_->stop.load(std::memory_order_acquire) != 0) {
        stop_delivered_ = true;
        result.emplace().kind = Delivery::Kind::stop;
        return result;
    }
    const auto count = static_cast<std::uint32_t>(inputs_.size());
    for (std::uint32_t attempt = 0; attempt < 4; ++attempt) {
        std::uint32_t best = count;
        std::uint64_t best_time = std::numeric_limits<std::uint64_t>::max();
        std::uint32_t ready = 0;
        for (std::uint32_t i = 0; i < count; ++i) {
            auto& in = inputs_[i];
            if (in.closed_delivered || !available(in)) {
                continue;
            }
            ++ready;
            if (count == 1) {
                best = i;
                break;
            }
            if (const auto t = peek_timestamp(in); t < best_time) {
                best_time = t;
                best = i;
            }
        }
        if (ready == 0) {
            break;
        }
        if (take(best, result)) {
            return result;
        }
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        auto& in = inputs_[i];
        if (in.closed_delivered) {
            continue;
        }
        // Closed is read before the ring: what the sender queued before closing is seen first.
        // SYNC closed: observe (pairs with OutputSender::close / Control::close_output)
        if (in.output->closed.load(std::memory_order_acquire) != 0 && !available(in)) {
            // A close that follows the daemon's Stop (it closes a stopped node's outputs after
            // setting every node's Stop) makes our Stop visible now, though the check at the
            // top may have missed it: Stop first, then this InputClosed.
            // SYNC stop: observe (pairs with Control::request_stop)
            if (!stop_delivered_ && node_->stop.load(std::memory_order_acquire) != 0) {
                stop_delivered_ = true;
                result.emplace().kind = Delivery::Kind::stop;
                return result;
            }
            in.closed_delivered = true;
            in.block->dropped.store(in.skipped, std::memory_order_relaxed); // statistics
            auto& d = result.emplace();
            d.kind = Delivery::Kind::input_closed;
            d.input = i;
            return result;
        }
    }
    return result;
}

std::optional<Delivery> NodeReceiver::wait(std::chrono::nanoseconds timeout,
                                           std::chrono::nanoseconds busy_poll) noexcept {
    if (auto d = poll()) {
        return d;
    }
    const auto start = monotonic_ns();
    const auto limit = timeout.count() < 0 ? std::numeric_limits<std::uint64_t>::max()
                                           : start + static_cast<std::uint64_t>(timeout.count());
    const auto spin_until =
        start + static_cast<std::uint64_t>(std::max<std::int64_t>(0, busy_poll.count()));
    // Busy phase: poll, reading the clock only every 64 rounds (it dominated the loop).
    for (std::uint32_t spins = 1; start < spin_until; ++spins) {
        cpu_relax();
        if (auto d = poll()) {
            return d;
        }
        if (spins % 64 == 0) {
            const auto now = monotonic_ns();
            if (now >= spin_until || now >= limit) {
                break;
            }
        }
    }
    const auto now = monotonic_ns();
    if (now >= limit) {
        return std::nullopt;
    }
    if (wait_items_.size() > 1 && futex_wait_any_supported()) {
        // As below, with the timers' wake words too: a timer that sees kSleepingOnAll bumps its
        // wake word (after its fence) instead of our events, so each word is read after ours.
        // SYNC sleeping: publish + fence (pairs with OutputSender::send's fence and notify)
        node_->sleeping.store(kSleepingOnAll, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        // SYNC events, wake: observe (futex_waitv returns at once for a word bumped after this)
        for (auto& item : wait_items_) {
            item.expected = item.word->load(std::memory_order_acquire);
        }
        if (auto d = poll()) {
            node_->sleeping.store(0, std::memory_order_relaxed);
            return d;
        }
        const auto slept = futex_wait_any(wait_items_, limit);
        node_->sleeping.store(0, std::memory_order_relaxed);
        if (slept != WaitAnyResult::unsupported) {
            return poll(); // nullopt: timeout, or woken without an event (callers loop)
        }
        // The call failed (and is not used again): sleep the old way. A tick that bumped only
        // the wake word is still seen: the poll below follows our fence, or the timer's fence
        // follows it and the timer reads kSleepingOnEvents.
    }
    // Announce the sleep, fence, then poll once more: a sender publishes, fences, then reads
    // `sleeping` — one of the two sides sees the other (see notify in sender.cpp).
    // SYNC sleeping: publish + fence (pairs with OutputSender::send's fence and notify)
    node_->sleeping.store(kSleepingOnEvents, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // SYNC events: observe (futex_wait returns at once if a bump came after this read)
    const auto seen = node_->events.load(std::memory_order_acquire);
    if (auto d = poll()) {
        node_->sleeping.store(0, std::memory_order_relaxed);
        return d;
    }
    const auto remaining = timeout.count() < 0
                               ? std::chrono::nanoseconds(-1)
                               : std::chrono::nanoseconds(static_cast<std::int64_t>(limit - now));
    futex_wait(node_->events, seen, remaining);
    node_->sleeping.store(0, std::memory_order_relaxed);
    return poll(); // nullopt: timeout, or woken without an event (callers loop)
}

void NodeReceiver::release(std::uint32_t input, std::uint32_t chunk) noexcept {
    if (input >= inputs_.size()) {
        return;
    }
    auto& in = inputs_[input];
    if (in.return_head - in.return_tail_cache > in.return_mask) {
        // SYNC return_tail: observe (pairs with OutputSender::drain_returns)
        in.return_tail_cache = in.block->return_tail.load(std::memory_order_acquire);
        if (in.return_head - in.return_tail_cache > in.return_mask) {
            // Full: the sender is gone or broken. The chunk stays held until the segment goes.
            ++errors_;
            drop_held(in);
            return;
        }
    }
    // Relaxed: published by the return_head store below.
    in.returns[in.return_head & in.return_mask].store(chunk + 1, std::memory_order_relaxed);
    ++in.return_head;
    // SYNC return_head: publish (pairs with OutputSender::drain_returns)
    in.block->return_head.store(in.return_head, std::memory_order_release);
    drop_held(in);
}

void NodeReceiver::drop_held(Input& in) noexcept {
    // After the return is published: a sender that sees held == 0 also sees the return.
    if (in.held > 0) {
        // SYNC held: publish (pairs with OutputSender::end_quarantine)
        in.block->held.store(--in.held, std::memory_order_release);
    }
}

void NodeReceiver::wake() noexcept {
    node_->events.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(node_->events);
}

void NodeReceiver::mark_asked(std::uint32_t input) noexcept {
    if (input < inputs_.size()) {
        inputs_[input].block->asked.store(1, std::memory_order_relaxed); // statistics
    }
}

std::uint64_t NodeReceiver::dropped(std::uint32_t input) const noexcept {
    return input < inputs_.size() ? inputs_[input].skipped : 0;
}

} // namespace zeroflow::shm
