// Daemon-side writes into a segment (see control.hpp for who calls what).
#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/futex.hpp>

namespace zeroflow::shm {

void Control::wake(std::uint32_t node) const noexcept {
    const auto& layout = segment_->layout();
    if (node >= layout.node_blocks.size()) {
        return;
    }
    auto& block = segment_->at<NodeBlock>(layout.node_blocks[node]);
    // SYNC events: bump (pairs with NodeReceiver::wait's read of the futex word)
    block.events.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(block.events);
}

void Control::request_stop(std::uint32_t node) const noexcept {
    const auto& layout = segment_->layout();
    if (node >= layout.node_blocks.size()) {
        return;
    }
    // SYNC stop: publish (pairs with NodeReceiver::poll)
    segment_->at<NodeBlock>(layout.node_blocks[node]).stop.store(1, std::memory_order_release);
    wake(node);
}

void Control::request_stop_all() const noexcept {
    const auto& layout = segment_->layout();
    for (const auto offset : layout.node_blocks) {
        // SYNC stop: publish (pairs with NodeReceiver::poll)
        segment_->at<NodeBlock>(offset).stop.store(1, std::memory_order_release);
    }
    for (std::uint32_t node = 0; node < layout.node_blocks.size(); ++node) {
        wake(node);
    }
}

void Control::close_output(std::uint32_t output) const noexcept {
    const auto& layout = segment_->layout();
    if (output >= layout.outputs.size()) {
        return;
    }
    const auto& ol = layout.outputs[output];
    // SYNC closed: publish (pairs with NodeReceiver::poll)
    segment_->at<OutputBlock>(ol.block_offset).closed.store(1, std::memory_order_release);
    for (auto c : ol.connections) {
        wake(layout.connections[c].receiver);
    }
}

void Control::close_outputs_of(std::uint32_t node) const noexcept {
    const auto& layout = segment_->layout();
    for (std::uint32_t o = 0; o < layout.outputs.size(); ++o) {
        if (layout.outputs[o].owner == node) {
            close_output(o);
        }
    }
}

void Control::step_live_inputs(std::uint32_t node, std::uint32_t dead) const noexcept {
    const auto& layout = segment_->layout();
    for (const auto& cl : layout.connections) {
        if (cl.receiver != node) {
            continue;
        }
        auto& block = segment_->at<ConnectionBlock>(cl.block_offset);
        // Relaxed: `state` has one writer, the daemon (this thread).
        const auto state = block.state.load(std::memory_order_relaxed);
        if ((state & kConnectionDead) != 0) {
            continue;
        }
        // SYNC state: publish (pairs with OutputSender::maintain / send)
        block.state.store(((state >> 1) + 1) << 1 | dead, std::memory_order_release);
        const auto owner = layout.outputs[cl.output].owner;
        if (owner != kDaemonOwner) {
            wake(owner);
            auto& owner_block = segment_->at<NodeBlock>(layout.node_blocks[owner]);
            owner_block.control.fetch_add(1, std::memory_order_release); // statistics
        }
    }
}

void Control::mark_receiver_dead(std::uint32_t node) const noexcept {
    step_live_inputs(node, kConnectionDead);
}

bool Control::receiver_reclaimed(std::uint32_t node) const noexcept {
    return receiver_reclaimed(node, {});
}

bool Control::receiver_reclaimed(std::uint32_t node,
                                 std::span<const std::uint8_t> sender_gone) const noexcept {
    const auto& layout = segment_->layout();
    for (const auto& cl : layout.connections) {
        if (cl.receiver != node) {
            continue;
        }
        const auto& block = segment_->at<ConnectionBlock>(cl.block_offset);
        const auto state = block.state.load(std::memory_order_acquire);
        const auto& output = layout.outputs[cl.output];
        const bool sender_closed =
            segment_->at<OutputBlock>(output.block_offset).closed.load(std::memory_order_acquire) !=
            0;
        const bool gone = output.owner < sender_gone.size() && sender_gone[output.owner] != 0;
        // SYNC acked: observe (pairs with OutputSender::maintain)
        if ((state & kConnectionDead) != 0 && !sender_closed && !gone &&
            block.acked.load(std::memory_order_acquire) != state) {
            return false;
        }
    }
    return true;
}

void Control::replace_receiver(std::uint32_t node) const noexcept {
    // A live -> live step means "a new process of this receiver": the sender takes back what
    // the old one had taken and keeps what is queued.
    step_live_inputs(node, 0);
}

bool Control::connection_settled(std::uint32_t connection) const noexcept {
    const auto& layout = segment_->layout();
    if (connection >= layout.connections.size()) {
        return true;
    }
    const auto& cl = layout.connections[connection];
    const auto& block = segment_->at<ConnectionBlock>(cl.block_offset);
    const auto state = block.state.load(std::memory_order_relaxed);
    // SYNC acked: observe (pairs with OutputSender::maintain)
    return block.acked.load(std::memory_order_acquire) == state ||
           segment_->at<OutputBlock>(layout.outputs[cl.output].block_offset)
                   .closed.load(std::memory_order_acquire) != 0;
}

void Control::revive_receiver(std::uint32_t node) const noexcept {
    const auto& layout = segment_->layout();
    for (std::uint32_t c = 0; c < layout.connections.size(); ++c) {
        if (layout.connections[c].receiver == node) {
            revive_connection(c);
        }
    }
}

void Control::revive_connection(std::uint32_t connection) const noexcept {
    const auto& layout = segment_->layout();
    if (connection >= layout.connections.size()) {
        return;
    }
    const auto& cl = layout.connections[connection];
    auto& block = segment_->at<ConnectionBlock>(cl.block_offset);
    const auto state = block.state.load(std::memory_order_relaxed);
    if ((state & kConnectionDead) == 0) {
        return;
    }
    // SYNC state: publish (pairs with OutputSender::maintain / send)
    block.state.store(((state >> 1) + 1) << 1, std::memory_order_release);
    const auto owner = layout.outputs[cl.output].owner;
    if (owner != kDaemonOwner) {
        wake(owner);
    }
}

std::uint32_t Control::queued(std::uint32_t connection) const noexcept {
    const auto& layout = segment_->layout();
    if (connection >= layout.connections.size()) {
        return 0;
    }
    const auto& cl = layout.connections[connection];
    const auto* slots = &segment_->at<std::atomic<std::uint64_t>>(cl.submit_slots);
    std::uint32_t count = 0;
    for (std::uint32_t s = 0; s < cl.queue_size; ++s) {
        // Relaxed: statistics; the daemon follows no token it reads here.
        count += slots[s].load(std::memory_order_relaxed) != 0 ? 1 : 0;
    }
    return count;
}

void Control::start_detached(std::uint32_t node) const noexcept {
    const auto& layout = segment_->layout();
    for (const auto& cl : layout.connections) {
        if (cl.receiver != node) {
            continue;
        }
        auto& block = segment_->at<ConnectionBlock>(cl.block_offset);
        block.state.store(kConnectionDead, std::memory_order_relaxed);
        block.acked.store(kConnectionDead, std::memory_order_release);
    }
}

std::uint32_t Control::published_free_chunks(std::uint32_t output) const noexcept {
    const auto& layout = segment_->layout();
    if (output >= layout.outputs.size()) {
        return 0;
    }
    return segment_->at<OutputBlock>(layout.outputs[output].block_offset)
        .free_chunks.load(std::memory_order_relaxed);
}

ConnectionCounts Control::connection_counts(std::uint32_t connection) const noexcept {
    const auto& layout = segment_->layout();
    if (connection >= layout.connections.size()) {
        return {};
    }
    const auto& block = segment_->at<ConnectionBlock>(layout.connections[connection].block_offset);
    ConnectionCounts counts;
    counts.received = block.submit_head.load(std::memory_order_relaxed);
    counts.taken = block.return_head.load(std::memory_order_relaxed) +
                   block.held.load(std::memory_order_relaxed);
    counts.dropped = block.dropped.load(std::memory_order_relaxed);
    counts.asked = block.asked.load(std::memory_order_relaxed) != 0;
    return counts;
}

} // namespace zeroflow::shm
