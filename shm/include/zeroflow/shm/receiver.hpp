// The receiving side of one node: every input's submission ring, the return rings, the node's
// event counter (one futex word for all inputs and the daemon's control events).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <zeroflow/shm/futex.hpp>
#include <zeroflow/shm/segment.hpp>

namespace zeroflow::shm {

/// What a receiver hands out. For messages, `data` points into shared memory and stays valid
/// until release(input, chunk) (or the segment is unmapped).
struct Delivery {
    enum class Kind : std::uint8_t { message, input_closed, stop };
    Kind kind = Kind::message;
    std::uint32_t input = 0; ///< index into inputs() of this node
    std::uint32_t chunk = 0;
    const std::byte* data = nullptr;
    std::uint64_t size = 0;
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0;
    std::uint64_t wall_time_ns = 0;
    /// The chunk's metadata area (OutputLayout::metadata_area bytes; untrusted like all of shm)
    /// and what the header says is in it. `metadata_size` and `encoding_size` are already
    /// checked against the area's bounds; `ndim` against kMaxDims (a bad one reads as 0 and
    /// counts as an error).
    const std::byte* metadata = nullptr;
    std::uint32_t metadata_size = 0;
    std::uint8_t dtype = 0;
    std::uint8_t ndim = 0;
    std::uint8_t encoding_size = 0;
};

/// Owns one node's receiving side. One thread at a time calls poll/wait/release; wake() may be
/// called from any thread or process.
class NodeReceiver {
public:
    /// `from_start`: begin every input at its first position, for the one process a spawned
    /// node ever has (what senders published before this attach is delivered, not skipped).
    /// Otherwise (a re-attaching dynamic node) begin at the senders' published positions.
    static Result<NodeReceiver> attach(const Segment& segment, std::uint32_t node,
                                       bool from_start = false) noexcept;

    /// Attaches a new process of a node whose previous process died (a restart, after the
    /// daemon's Control::replace_receiver): each input begins at the oldest message still
    /// queued in it, so what was sent while the node was down is delivered (up to queue_size).
    static Result<NodeReceiver> attach_resuming(const Segment& segment,
                                                std::uint32_t node) noexcept;

    /// Next event without blocking: Stop first, then the queued message with the earliest send
    /// timestamp across inputs, then InputClosed for a closed input whose queue is empty.
    std::optional<Delivery> poll() noexcept;

    /// Like poll(), but waits up to `timeout` (negative: forever): busy-polls for `busy_poll`,
    /// then sleeps on the futex. Returns nullopt on timeout, and may return nullopt early when
    /// woken without an event (wake(), a daemon control change): callers loop.
    std::optional<Delivery> wait(std::chrono::nanoseconds timeout,
                                 std::chrono::nanoseconds busy_poll) noexcept;

    /// Hands a delivered chunk back to its sender (through the input's return ring).
    void release(std::uint32_t input, std::uint32_t chunk) noexcept;

    /// Wakes a wait() in progress, e.g. when the daemon connection is lost.
    void wake() noexcept;

    /// Messages this input lost: evicted from a full queue before this node took them.
    std::uint64_t dropped(std::uint32_t input) const noexcept;
    /// Records that the node's code named this input (for the daemon's end-of-run report of
    /// inputs a node never asked for; statistics only).
    void mark_asked(std::uint32_t input) noexcept;
    /// Bad tokens seen (a peer scribbled): they are skipped and counted, never followed.
    std::uint64_t errors() const noexcept { return errors_; }
    std::uint32_t input_count() const noexcept {
        return static_cast<std::uint32_t>(inputs_.size());
    }
    /// Connection index of an input (into Layout::connections).
    std::uint32_t connection_of(std::uint32_t input) const noexcept {
        return inputs_[input].connection;
    }
    bool input_open(std::uint32_t input) const noexcept { return !inputs_[input].closed_delivered; }

private:
    enum class Start : std::uint8_t { first, head, oldest_queued };
    static Result<NodeReceiver> attach_at(const Segment& segment, std::uint32_t node,
                                          Start start) noexcept;

    struct Input {
        ConnectionBlock* block = nullptr;
        std::atomic<std::uint64_t>* slots = nullptr;
        std::atomic<std::uint32_t>* returns = nullptr;
        OutputBlock* output = nullptr;
        const OutputLayout* layout = nullptr;
        std::uint64_t tail = 0;
        std::uint64_t head_cache = 0;
        std::uint64_t skipped = 0;
        std::uint64_t return_head = 0;
        std::uint64_t return_tail_cache = 0;
        std::uint64_t held = 0; ///< published in ConnectionBlock::held for a re-attaching sender
        std::uint32_t slot = 0;
        std::uint32_t queue_size = 0;
        std::uint32_t return_mask = 0;
        std::uint32_t connection = 0;
        bool closed_delivered = false;
    };

    NodeReceiver() = default;
    bool available(Input& in) noexcept;
    void drop_held(Input& in) noexcept;
    std::uint64_t peek_timestamp(const Input& in) const noexcept;
    /// Takes the next message of input `index` into `result`; false when there is none.
    bool take(std::uint32_t index, std::optional<Delivery>& result) noexcept;
    /// The metadata fields of a described message, checked (the cold part of take()).
    void describe(const Input& in, const ChunkHeader& header, Delivery& d) noexcept;
    const ChunkHeader* chunk_header(const Input& in, std::uint32_t chunk,
                                    std::uint64_t& capacity) const noexcept;

    const Segment* segment_ = nullptr;
    NodeBlock* node_ = nullptr;
    std::vector<Input> inputs_;
    /// [node events, the wake word of each distinct timer feeding an input]; only the events
    /// word when the node reads no timer (or more timers than one futex_waitv takes).
    std::vector<FutexWaitItem> wait_items_;
    std::uint64_t errors_ = 0;
    bool stop_delivered_ = false;
};

} // namespace zeroflow::shm
