// What the daemon writes into a segment: stop requests, closing a dead sender's outputs,
// marking a dead receiver's inputs so their senders reclaim its chunks, waking nodes.
// Called by the daemon's supervisor thread only, on a segment it created and still holds.
#pragma once

#include <cstdint>
#include <span>

#include <zeroflow/shm/segment.hpp>

namespace zeroflow::shm {

/// What a connection's counters say about its receiver (written by the nodes: statistics for
/// reports, never trusted for anything else).
struct ConnectionCounts {
    std::uint64_t received = 0; ///< messages its sender published into the queue
    std::uint64_t taken = 0;    ///< messages the receiver took (returned or still held)
    std::uint64_t dropped = 0;  ///< evicted from the full queue before the receiver took them
    bool asked = false;         ///< the receiver's code named the input (node.input(id))
};

class Control {
public:
    explicit Control(const Segment& segment) noexcept : segment_(&segment) {}

    /// Asks `node` to stop: its next poll returns Stop. Wakes it.
    void request_stop(std::uint32_t node) const noexcept;

    /// Asks every node to stop: all flags are set first, then every node is woken.
    void request_stop_all() const noexcept;

    /// Closes every output `node` owns (it died or exited): receivers get InputClosed after
    /// what was already queued. Idempotent.
    void close_outputs_of(std::uint32_t node) const noexcept;

    /// Closes one output (e.g. a timer during teardown). Idempotent.
    void close_output(std::uint32_t output) const noexcept;

    /// Marks every input of `node` dead: senders skip it and reclaim the chunks it held on
    /// their next loan/send/maintain (the sender nodes are woken so they do it promptly).
    void mark_receiver_dead(std::uint32_t node) const noexcept;

    /// True when every live sender acknowledged the reclaim of `node`'s inputs.
    bool receiver_reclaimed(std::uint32_t node) const noexcept;

    /// The same, counting also as reclaimed a connection whose sender has no process now
    /// (`sender_gone[owner] != 0`: a dynamic node that left). Its next process attaches with
    /// fresh private state, voids what its predecessor queued and stays quarantined until the
    /// receiver's `held` reads 0, so nothing of the dead receiver's needs taking back.
    bool receiver_reclaimed(std::uint32_t node,
                            std::span<const std::uint8_t> sender_gone) const noexcept;

    /// Makes `node`'s inputs live again for a new process of that node (a dynamic node that
    /// reconnects). Call only after receiver_reclaimed(node) or once its senders are gone.
    void revive_receiver(std::uint32_t node) const noexcept;

    /// The process of `node` died and another will take its place (a restart): every live input
    /// of `node` keeps its queue, and its senders take back only the chunks the dead process had
    /// taken (an epoch step that stays live; the sender acknowledges it in `acked`). Call only
    /// after that process is gone, and let the new one attach once receiver_replaced(node).
    void replace_receiver(std::uint32_t node) const noexcept;

    /// True when the sender of `connection` acknowledged its current state (a reclaim or a
    /// replacement), or its output is closed.
    bool connection_settled(std::uint32_t connection) const noexcept;

    /// Makes one connection live again (an observer attaching a tap to one output; see
    /// docs/design/shm.md, "Observers"). Call only after receiver_reclaimed(its receiver).
    void revive_connection(std::uint32_t connection) const noexcept;

    /// Marks `node`'s inputs dead without a reclaim to wait for (nothing was sent to it yet):
    /// used for dynamic nodes before they first connect.
    void start_detached(std::uint32_t node) const noexcept;

    /// Bumps `node`'s event counter and wakes it.
    void wake(std::uint32_t node) const noexcept;

    /// Non-empty submission slots of a connection: messages queued and not yet taken
    /// (statistics, a racy snapshot; the rings are in the control area the daemon maps).
    std::uint32_t queued(std::uint32_t connection) const noexcept;

    /// Free chunks the sender of `output` last published (statistics, not trusted).
    std::uint32_t published_free_chunks(std::uint32_t output) const noexcept;

    /// The counters of one connection (zeros for an index out of range).
    ConnectionCounts connection_counts(std::uint32_t connection) const noexcept;

private:
    /// Steps the epoch of every live input of `node`, to dead (`dead` = kConnectionDead) or
    /// live again (0), and wakes their senders.
    void step_live_inputs(std::uint32_t node, std::uint32_t dead) const noexcept;

    const Segment* segment_;
};

} // namespace zeroflow::shm
