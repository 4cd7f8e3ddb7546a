// The data topics of zeroflow-bridge, shared by its pumps and by the DDS writer plugin that
// nodes load for direct publishing (docs/design/machines.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include <dds/dds.h>

namespace zeroflow::bridge {

/// Messages held per topic at least (else the largest queue_size of its inputs).
inline constexpr std::uint32_t kMinHistory = 16;
/// How long a writer waits for the other machines' readers before it fails the start.
inline constexpr int kReadersTimeoutSeconds = 20;

/// One output's topic. Dataflow names become DDS topic names: ids' characters only.
inline std::string data_topic_name(const std::string& flow, const std::string& node,
                                   const std::string& output) {
    return "zeroflow/" + flow + "/" + node + "/" + output;
}

/// Data topics: reliable, keep-all. The writer holds at most `depth` samples (the largest
/// queue_size of the output's inputs) and waits at most `max_blocking` for room (the publish
/// pump: a second): a slow machine makes the overflow land in the pump's own input queue,
/// which drops its oldest and counts it, as any full zeroflow queue does, instead of vanishing
/// inside DDS. (A node that publishes directly keeps the last `depth` instead:
/// direct_writer_qos.)
/// The reader is not bounded: Cyclone drops (and never resends) what a full reader history
/// rejects; the subscribe pump drains it at once into the local queues, which drop their
/// oldest as always. Transient-local, so that a reader that matches a moment after the writer
/// (discovery completes on each side on its own) still gets the first messages.
inline dds_qos_t* data_qos(std::uint32_t depth, bool writer, dds_duration_t max_blocking) {
    const auto n = static_cast<int32_t>(std::max(depth, kMinHistory));
    dds_qos_t* qos = dds_create_qos();
    dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, max_blocking);
    dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0);
    if (writer) {
        dds_qset_resource_limits(qos, n, DDS_LENGTH_UNLIMITED, n);
    }
    dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
    dds_qset_durability_service(qos, 0, DDS_HISTORY_KEEP_LAST, n, n, DDS_LENGTH_UNLIMITED, n);
    return qos;
}

/// The writer of a node that publishes directly: data_qos's, but keep-last `depth`, and never
/// waiting. A slow machine makes the history drop its oldest unacknowledged message, as a full
/// zeroflow queue would (the receiving machine counts the gap in the sequence), and the sending
/// thread never waits for the network; only Cyclone's watermark of unacknowledged bytes
/// (WhcHigh) refuses a write, which the node counts.
inline dds_qos_t* direct_writer_qos(std::uint32_t depth) {
    dds_qos_t* qos = data_qos(depth, true, 0);
    dds_qset_history(qos, DDS_HISTORY_KEEP_LAST,
                     static_cast<int32_t>(std::max(depth, kMinHistory)));
    return qos;
}

} // namespace zeroflow::bridge
