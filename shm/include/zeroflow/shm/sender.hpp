// The sending side of one output: its chunk pools (free lists and holder masks live here, in the
// sender's private memory), loans, and pushing chunks into every connected input's ring.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <zeroflow/shm/segment.hpp>

namespace zeroflow::shm {

/// A chunk lent to the caller: write up to `capacity` bytes at `data` (and, optionally, the
/// metadata area at `metadata()`: shape, encoding, parameters), then send or discard it.
struct Loan {
    std::uint32_t chunk = 0;
    std::byte* data = nullptr;
    std::uint64_t capacity = 0;
    /// The chunk's metadata area (OutputLayout::metadata_area bytes), after the payload's room.
    std::byte* metadata() const noexcept { return data + capacity; }
};

/// What a chunk's header says about a message's origin, given to OutputSender::send_stamped by
/// a process that forwards another sender's message (zeroflow-bridge's subscribe pump, which
/// stands in for a sender on another machine) so that receivers see the original's stamp.
struct SenderStamp {
    std::uint64_t sequence = 0;     ///< the original sender's sequence number (per output, from 1)
    std::uint64_t timestamp_ns = 0; ///< CLOCK_MONOTONIC of this machine; 0 means now
    /// CLOCK_REALTIME, as the original sender stamped it; 0: derived from `timestamp_ns` as
    /// send() derives it.
    std::uint64_t wall_time_ns = 0;
};

/// Owns one output's pools. One thread at a time (the node's sending thread, or the daemon's
/// timer thread for timer outputs). Never blocks: a full input queue evicts its oldest message.
class OutputSender {
public:
    /// Attaches to `output` of a segment the caller keeps open while this object lives.
    static Result<OutputSender> attach(const Segment& segment, std::uint32_t output) noexcept;

    /// Lends a chunk for a message of `bytes` (the smallest class that takes it, a larger one if
    /// that class is exhausted). Errors: message_too_large, pool_exhausted, no_space, closed.
    Result<Loan> loan(std::uint64_t bytes) noexcept;

    /// Sends `size` bytes of a loan to every live input; the loan is consumed in all cases.
    /// `timestamp_ns` is CLOCK_MONOTONIC; 0 means now. `info` describes what the caller wrote
    /// into the metadata area (all zero: a plain bytes message). The wall-clock time is derived
    /// from the monotonic one (see WallClock).
    Result<void> send(const Loan& loan, std::uint64_t size, std::uint64_t timestamp_ns = 0,
                      MessageInfo info = kPlainMessage) noexcept;

    /// Sends exactly as send() does, but the chunk's header carries `stamp` instead of this
    /// sender's own sequence and clocks. Afterwards this sender's sequence continues from
    /// `stamp.sequence` (messages_sent() and the output's `sent` read it; a later send()
    /// writes `stamp.sequence + 1`). On an error the sequence is left as it was.
    Result<void> send_stamped(const Loan& loan, std::uint64_t size, const SenderStamp& stamp,
                              MessageInfo info = kPlainMessage) noexcept;

    /// Returns a loan unsent.
    void discard(const Loan& loan) noexcept;

    /// Marks the output closed (receivers get InputClosed after what is queued) and wakes them.
    void close() noexcept;

    /// True once this sender or the daemon closed the output.
    bool closed() noexcept;

    /// Takes back returned chunks and reclaims the chunks of inputs the daemon marked dead.
    /// loan() and send() call it; an idle sender may call it to acknowledge a dead input sooner.
    void maintain() noexcept;

    std::uint32_t free_chunks() const noexcept { return free_count_; }
    std::uint32_t max_metadata_size() const noexcept;
    std::uint32_t total_chunks() const noexcept;
    std::uint64_t max_message_size() const noexcept;
    std::uint64_t messages_sent() const noexcept { return sequence_; }
    /// What the header of the last message sent carries: its sequence number and clocks (all 0
    /// before the first). The node library passes them on with a copy sent over DDS.
    SenderStamp last_stamp() const noexcept { return {sequence_, last_timestamp_, last_wall_}; }
    std::uint64_t errors() const noexcept { return errors_; }
    const std::string& name() const noexcept;

private:
    struct Connection {
        ConnectionBlock* block = nullptr;
        std::atomic<std::uint64_t>* slots = nullptr;
        std::atomic<std::uint32_t>* returns = nullptr;
        NodeBlock* receiver = nullptr;
        std::uint64_t bit = 0;
        std::uint64_t position = 0;
        std::uint64_t return_tail = 0;
        std::uint32_t queue_size = 0;
        std::uint32_t slot = 0;
        std::uint32_t return_mask = 0;
        std::uint32_t state_seen = 0;
        bool live = true;
    };
    static constexpr std::uint8_t kLoaned = 1;   ///< flag: lent, not yet sent
    static constexpr std::uint8_t kReserved = 2; ///< flag: its pages are reserved
    static constexpr std::uint8_t kQueued = 4;   ///< flag: in a slot (during reclaim_taken only)

    OutputSender() = default;
    /// send() and send_stamped(): with `stamp`, its sequence and wall time go in the header.
    Result<void> publish(const Loan& loan, std::uint64_t size, std::uint64_t timestamp_ns,
                         MessageInfo info, const SenderStamp* stamp) noexcept;
    std::uint64_t wall_time(std::uint64_t monotonic) noexcept;
    void remeasure_wall(std::uint64_t monotonic) noexcept;
    std::byte* chunk_address(std::uint32_t chunk) const noexcept;
    void take_back(std::uint32_t chunk_plus_one, std::uint64_t bit) noexcept;
    void free_chunk(std::uint32_t chunk) noexcept;
    void drain_returns(Connection& c) noexcept;
    void reclaim(Connection& c) noexcept;
    void reclaim_taken(Connection& c) noexcept;
    bool end_quarantine() noexcept;

    const Segment* segment_ = nullptr;
    const OutputLayout* layout_ = nullptr;
    OutputBlock* block_ = nullptr;
    std::uint32_t index_ = 0;
    std::vector<Connection> connections_;
    std::vector<std::uint64_t> holders_;           ///< per chunk: mask of connections holding it
    std::vector<std::uint8_t> flags_;              ///< per chunk: Flags
    std::vector<std::vector<std::uint32_t>> free_; ///< per class: LIFO stack of chunk ids
    std::vector<std::uint32_t> reserved_;          ///< per class: chunks whose pages we reserved
    std::uint32_t free_count_ = 0;
    std::uint64_t sequence_ = 0;
    std::uint64_t last_timestamp_ = 0; ///< the last message's header: CLOCK_MONOTONIC
    std::uint64_t last_wall_ = 0;      ///< and CLOCK_REALTIME
    std::uint64_t bytes_ = 0;          ///< payload bytes sent by this process (OutputBlock::bytes)
    std::uint64_t errors_ = 0;
    bool closed_ = false;
    /// A timer (daemon-owned output): receivers asleep with kSleepingOnAll share one wake-up
    /// on OutputBlock::wake per message.
    bool broadcast_ = false;
    std::int64_t wall_offset_ = 0;       ///< CLOCK_REALTIME - CLOCK_MONOTONIC, measured
    std::uint64_t wall_measured_at_ = 0; ///< monotonic time of that measurement
    /// Set at attach until every live receiver returned what it held of a previous process of
    /// this output (a dynamic node that reconnects): until then no chunk can be proven free.
    bool quarantined_ = true;
};

/// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t monotonic_ns() noexcept;
/// CLOCK_REALTIME in nanoseconds.
std::uint64_t realtime_ns() noexcept;
/// CLOCK_REALTIME - CLOCK_MONOTONIC now, in nanoseconds: the realtime clock is read on both
/// sides of one monotonic read and the pair with the shortest gap of three tries is kept, so
/// the offset is good to that gap (tens of ns here). Senders add it to their one monotonic
/// read per message, and measure it again once a second so clock steps (NTP) reach messages
/// within a second.
std::int64_t measure_wall_offset_ns() noexcept;

} // namespace zeroflow::shm
