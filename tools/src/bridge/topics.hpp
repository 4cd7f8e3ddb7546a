// The data topics of zeroflow-bridge, shared by its pumps and by the DDS writer plugin that
// nodes load for direct publishing (docs/design/machines.md).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <dds/dds.h>

#include "remote_writer_abi.h"
#include "zeroflow_bridge.h"

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

/// Writes one message on a data topic, its payload, shape and parameters serialized by Cyclone
/// from where they lie (for the pump, the chunk in shared memory). The publish pump and a
/// directly publishing node write through this, so both put the same Message on the wire.
inline dds_return_t write_message(dds_entity_t writer, const zf_remote_message& message) {
    std::array<char, 256> encoding{}; // NUL-terminated for the IDL string (at most 63 bytes)
    if (message.encoding_size > 0) {  // an empty one may come as a null pointer
        std::memcpy(encoding.data(), message.encoding,
                    std::min(message.encoding_size, encoding.size() - 1));
    }
    zeroflow_bridge_Message m{};
    m.closed = false;
    m.sequence_number = message.sequence;
    m.timestamp_ns = message.timestamp_ns;
    m.wall_time_ns = message.wall_time_ns;
    m.dtype = message.dtype;
    m.shape._buffer = const_cast<std::uint64_t*>(message.shape);
    m.shape._length = message.ndim;
    m.shape._maximum = message.ndim;
    m.encoding = encoding.data();
    m.parameters._buffer = static_cast<std::uint8_t*>(const_cast<void*>(message.parameters));
    m.parameters._length = static_cast<std::uint32_t>(message.parameters_size);
    m.parameters._maximum = m.parameters._length;
    m.payload._buffer = static_cast<std::uint8_t*>(const_cast<void*>(message.payload));
    m.payload._length = static_cast<std::uint32_t>(message.payload_size);
    m.payload._maximum = m.payload._length;
    return dds_write(writer, &m);
}

/// Writes an output's "closed": its node ended, nothing follows.
inline dds_return_t write_closed(dds_entity_t writer) {
    zeroflow_bridge_Message m{};
    m.closed = true;
    m.encoding = const_cast<char*>("");
    return dds_write(writer, &m);
}

/// A topic's "DEPTH[*MACHINES]", as the bridge writes it after the '@' of a pump's --topic and of
/// a node's ZEROFLOW_DDS_OUTPUTS: the history to keep, and how many machines read it (absent: 0).
struct TopicDepth {
    std::uint32_t depth = 1;
    std::uint32_t readers = 0;
    bool has_readers = false;
};

inline std::optional<TopicDepth> parse_topic_depth(std::string_view text) {
    const auto number = [](std::string_view digits, std::uint32_t& value) {
        const auto* end = digits.data() + digits.size();
        const auto [at, ec] = std::from_chars(digits.data(), end, value);
        return !digits.empty() && ec == std::errc() && at == end;
    };
    TopicDepth t;
    const auto star = text.find('*');
    t.has_readers = star != std::string_view::npos;
    if (!number(text.substr(0, star), t.depth) ||
        (t.has_readers && !number(text.substr(star + 1), t.readers))) {
        return std::nullopt;
    }
    return t;
}

} // namespace zeroflow::bridge
