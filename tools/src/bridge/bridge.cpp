// zeroflow-bridge: this machine's part of a dataflow on the local daemon, and DDS between it and
// the other machines. The coordinator (run_bridge) meets the other machines' bridges on the
// dataflow's control topic, starts the part and stops it. The pumps (run_pump) are nodes of the
// part: the publish pump receives the local outputs read elsewhere through its zero-copy inputs
// and writes each message once on its DDS topic; a subscribe pump stands in for a remote node
// and sends each message taken from DDS into the local segment, so local receivers read it
// zero-copy like any other.
#include "bridge.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <dds/dds.h>
#include <dds/ddsi/ddsi_serdata.h>
#include <sched.h>
#include <unistd.h>

#include <zeroflow/dataflow/descriptor.hpp>
#include <zeroflow/node.hpp>

#include "commands/client.hpp"
#include "commands/commands.hpp"
#include "commands/interrupt.hpp"
#include "commands/parameters.hpp"
#include "part.hpp"
#include "pump.hpp"
#include "topics.hpp"
#include "wire.hpp"
#include "zeroflow_bridge.h"

namespace zeroflow::bridge {

namespace {

using namespace std::chrono_literals;
using protocol::Json;
using Clock = std::chrono::steady_clock;

/// How long a publish pump waits for the other machines' readers before it fails the start.
constexpr std::chrono::seconds kReadersTimeout{kReadersTimeoutSeconds};
/// How often a watching publish pump (direct publishing) looks for closed outputs.
constexpr std::chrono::milliseconds kWatchPeriod{10};

std::string topic_name(const std::string& flow, const dataflow::OutputRef& output) {
    return data_topic_name(flow, output.node, output.output);
}

/// What the pumps' Cyclone configuration starts with; CYCLONEDDS_URI's sources follow it, so a
/// setting of the user's own wins. Cyclone's default watermark of unacknowledged bytes per
/// writer (WhcHigh 500 kB, from 30 kB at first) is less than one 1 MiB message, and above it the
/// writer asks for acknowledgements eagerly and waits: with 4 MB, 1 MiB one-way latency here
/// came within 3-4 % of ddsperf's (17-33 % over before), at 15-18 % less 8 B throughput under a
/// flood (docs/design/machines.md#the-pumps-cyclone-watermarks).
constexpr const char* kPumpCycloneConfig =
    "<CycloneDDS><Domain id=\"any\"><Internal><Watermarks><WhcHighInit>4MB</WhcHighInit>"
    "<WhcHigh>4MB</WhcHigh></Watermarks></Internal></Domain></CycloneDDS>";

/// kSpinEnv (pump.hpp): unset is 0 (the pump never polls); anything but a whole number up to
/// kMaxSpinUs is an error.
constexpr long kMaxSpinUs = 100'000;

std::expected<std::chrono::microseconds, std::string> parse_spin(const char* text) {
    if (text == nullptr || *text == '\0') {
        return std::chrono::microseconds{0};
    }
    char* end = nullptr;
    errno = 0;
    const long us = std::strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || us < 0 || us > kMaxSpinUs ||
        !std::isdigit(static_cast<unsigned char>(*text))) {
        return std::unexpected(std::string(kSpinEnv) + "='" + text +
                               "' is not a number of microseconds from 0 to " +
                               std::to_string(kMaxSpinUs) + " (how long the publish pump " +
                               "busy-polls before it blocks; unset or 0: never)");
    }
    return std::chrono::microseconds{us};
}

/// The pump's window: the bridge checked the variable before it started the part.
std::chrono::microseconds spin_window() {
    return parse_spin(std::getenv(kSpinEnv)).value_or(std::chrono::microseconds{0});
}

/// The participant and everything made from it, deleted when the process ends.
struct Participant {
    dds_entity_t id = 0;
    ~Participant() {
        if (id > 0) {
            dds_delete(id);
        }
    }
};

/// Sends one message taken from DDS on a stand-in's output (a copy into a zero-copy loan), with
/// the remote sender's sequence and wall-clock time. Its monotonic time is this machine's, now
/// (when it enters the segment): another machine's monotonic clock counts from that machine's
/// boot, and receivers merge their inputs by it (docs/design/machines.md).
std::expected<void, Error> send_remote(Node& node, const Output& output, const WireMessage& m) {
    const auto dtype = static_cast<DataType>(m.dtype);
    const std::size_t size = m.payload.size();
    if (m.dims() > kMaxDims) { // the sender's runtime never makes one: refused, counted
        return std::unexpected(Error{ErrorKind::invalid_argument,
                                     "a shape of " + std::to_string(m.dims()) +
                                         " dimensions (at most " + std::to_string(kMaxDims) + ")"});
    }
    std::expected<Sample, Error> sample =
        std::unexpected(Error{ErrorKind::pool_exhausted, "no chunk free"});
    for (int attempt = 0; attempt < 1000; ++attempt) {
        sample = dtype == DataType::bytes || element_size(dtype) == 0
                     ? output.loan(size)
                     : output.loan_typed(dtype, size / element_size(dtype));
        if (sample || sample.error().kind() != ErrorKind::pool_exhausted) {
            break;
        }
        std::this_thread::sleep_for(1ms); // local receivers hold every chunk: wait a little
    }
    if (!sample) {
        return std::unexpected(sample.error());
    }
    if (size > 0) {
        std::memcpy(sample->data().data(), m.payload.data(), size);
    }
    if (m.dims() > 0) {
        std::array<std::uint64_t, kMaxDims> shape{};
        for (std::size_t i = 0; i < m.dims(); ++i) {
            shape[i] = m.dim(i);
        }
        sample->set_shape(std::span<const std::uint64_t>(shape.data(), m.dims()));
    }
    if (!m.encoding.empty()) {
        sample->set_encoding(m.encoding);
    }
    if (!m.parameters.empty()) {
        cli::copy_parameters(MetadataView(m.parameters.data(), m.parameters.size()),
                             sample->metadata());
    }
    return node.forward(std::move(*sample), SenderStamp{m.sequence_number, 0, m.wall_time_ns});
}

/// Writes one received message on its topic. The payload is not copied here: DDS serializes
/// it straight from shared memory.
bool publish(dds_entity_t writer, const Event& event) {
    const auto shape = event.shape();
    const auto encoding = event.encoding();
    const auto raw = event.metadata().raw();
    zf_remote_message m{};
    m.sequence = event.sequence;
    m.timestamp_ns = event.timestamp_ns;
    m.wall_time_ns = event.wall_time_ns();
    m.dtype = static_cast<std::uint8_t>(event.dtype());
    m.ndim = static_cast<std::uint8_t>(shape.size());
    m.shape = shape.data();
    m.encoding = encoding.data();
    m.encoding_size = encoding.size();
    m.parameters = raw.data();
    m.parameters_size = raw.size();
    m.payload = event.data.data();
    m.payload_size = event.data.size();
    return write_message(writer, m) == DDS_RETCODE_OK;
}

/// One `--topic KEY=NODE/OUTPUT@DEPTH[*READERS]` of a pump.
struct TopicArg {
    std::string key; ///< the publish pump's input id, or the subscribe pump's output id
    dataflow::OutputRef output;
    std::uint32_t depth = 1;
    std::uint32_t readers = 0; ///< publish: the machines that read it
};

std::optional<TopicArg> parse_topic(const std::string& text) {
    const auto eq = text.find('=');
    const auto slash = text.find('/', eq == std::string::npos ? 0 : eq);
    const auto at = text.rfind('@');
    if (eq == std::string::npos || slash == std::string::npos || at == std::string::npos ||
        at < slash) {
        return std::nullopt;
    }
    const auto depth = parse_topic_depth(std::string_view(text).substr(at + 1));
    if (!depth) {
        return std::nullopt;
    }
    TopicArg t;
    t.key = text.substr(0, eq);
    t.output = {text.substr(eq + 1, slash - eq - 1), text.substr(slash + 1, at - slash - 1)};
    t.depth = depth->depth;
    t.readers = depth->readers;
    return t;
}

/// The writer (`is_writer`) or reader of one data topic; why not, when it cannot be made.
std::expected<dds_entity_t, std::string> data_endpoint(dds_entity_t participant,
                                                       const std::string& flow, const TopicArg& t,
                                                       bool is_writer) {
    const dds_entity_t topic =
        dds_create_topic(participant, &zeroflow_bridge_Message_desc,
                         topic_name(flow, t.output).c_str(), nullptr, nullptr);
    dds_qos_t* qos = data_qos(t.depth, is_writer, DDS_SECS(1));
    const dds_entity_t entity = topic < 0   ? topic
                                : is_writer ? dds_create_writer(participant, topic, qos, nullptr)
                                            : dds_create_reader(participant, topic, qos, nullptr);
    dds_delete_qos(qos);
    if (entity < 0) {
        return std::unexpected(std::string("cannot create the DDS ") +
                               (is_writer ? "writer" : "reader") + " of " + t.output.to_string() +
                               ": " + dds_strretcode(entity));
    }
    return entity;
}

/// The control topic: one instance per machine (keyed), reliable, transient-local (a bridge
/// that comes later still sees each machine's last state), one sample per instance.
struct ControlTopic {
    dds_entity_t writer = 0;
    dds_entity_t reader = 0;
    std::string run; ///< this start's id: only its machines' states count
    /// Why each machine that said stop did, as last read by states() (empty: not said).
    mutable std::map<std::string, std::string> reasons;

    bool create(dds_entity_t participant, const std::string& flow, std::string run_id) {
        run = std::move(run_id);
        const dds_entity_t topic =
            dds_create_topic(participant, &zeroflow_bridge_Control_desc,
                             ("zeroflow/" + flow + "/control").c_str(), nullptr, nullptr);
        dds_qos_t* qos = dds_create_qos();
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
        dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
        dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 1);
        writer = topic < 0 ? topic : dds_create_writer(participant, topic, qos, nullptr);
        reader = topic < 0 ? topic : dds_create_reader(participant, topic, qos, nullptr);
        dds_delete_qos(qos);
        return writer > 0 && reader > 0;
    }
    void say(const std::string& machine, const char* state, const std::string& why = "") const {
        zeroflow_bridge_Control c{};
        c.machine = const_cast<char*>(machine.c_str());
        c.run = const_cast<char*>(run.c_str());
        c.state = const_cast<char*>(state);
        c.reason = const_cast<char*>(why.c_str());
        dds_write(writer, &c);
    }
    /// Every machine's last state ("gone" for a bridge that is gone without a stop).
    std::map<std::string, std::string> states() const {
        std::map<std::string, std::string> result;
        std::array<void*, 64> samples{};
        std::array<dds_sample_info_t, 64> infos{};
        const dds_return_t n = dds_read(reader, samples.data(), infos.data(), 64, 64);
        for (dds_return_t i = 0; i < n; ++i) {
            const auto& info = infos[static_cast<std::size_t>(i)];
            const auto* c =
                static_cast<const zeroflow_bridge_Control*>(samples[static_cast<std::size_t>(i)]);
            if (info.valid_data && c->machine != nullptr && c->state != nullptr &&
                c->run != nullptr && run == c->run) {
                // A bridge that is gone (ended, or lost: Cyclone's lease) said its last word;
                // only a stop or a done counts after it (it ends right after saying so).
                const bool alive = info.instance_state == DDS_IST_ALIVE;
                result[c->machine] = alive || std::strcmp(c->state, "stop") == 0 ||
                                             std::strcmp(c->state, "done") == 0
                                         ? c->state
                                         : "gone";
                if (c->reason != nullptr && *c->reason != '\0') {
                    reasons[c->machine] = c->reason;
                }
            }
        }
        if (n > 0) {
            dds_return_loan(reader, samples.data(), n);
        }
        return result;
    }
};

/// The publish pump: this machine's outputs read elsewhere, from its inputs onto DDS.
/// The inputs in `watched` (direct publishing) have senders that write their messages on DDS
/// themselves: the pump takes them only for their end, and writes the "closed" of a sender that
/// did not (it crashed, or was stopped). When every input is watched the pump polls every
/// kWatchPeriod, so that no sender ever has to wake it.
int publish_pump(dds_entity_t participant, const std::string& flow,
                 const std::vector<TopicArg>& topics,
                 const std::set<std::string, std::less<>>& watched, std::ostream& err) {
    const bool watch = std::all_of(topics.begin(), topics.end(),
                                   [&](const TopicArg& t) { return watched.contains(t.key); });
    std::map<std::string, std::size_t, std::less<>> by_input;
    std::vector<dds_entity_t> writers;
    dds_write_set_batch(true); // this process's writers: flushed below when no message waits
    for (const auto& t : topics) {
        const auto writer = data_endpoint(participant, flow, t, true);
        if (!writer) {
            err << "zeroflow-bridge: error: " << writer.error() << "\n";
            return cli::kExitFailure;
        }
        writers.push_back(*writer);
        by_input[t.key] = writers.size() - 1;
    }
    // Registered only once every machine that reads an output has its reader (its subscribe
    // pump runs): the local start barrier waits for this node, so no local sender sends
    // before the other machines listen. A machine that never comes fails the start.
    const auto deadline = Clock::now() + kReadersTimeout;
    for (std::size_t i = 0; i < writers.size(); ++i) {
        dds_publication_matched_status_t status{};
        while (dds_get_publication_matched_status(writers[i], &status) == 0 &&
               status.current_count < topics[i].readers) {
            if (Clock::now() >= deadline) {
                err << "zeroflow-bridge: error: " << topics[i].output.to_string() << " has "
                    << status.current_count << " of its " << topics[i].readers
                    << " remote readers after " << kReadersTimeout.count() << " s\n";
                return cli::kExitFailure;
            }
            std::this_thread::sleep_for(5ms);
        }
    }
    auto node = Node::from_env();
    if (!node) {
        err << "zeroflow-bridge: error: " << node.error().message() << "\n";
        return cli::kExitFailure;
    }
    std::vector<bool> closed(writers.size(), false);
    std::vector<bool> unflushed(writers.size(), false);
    // Writes are batched (dds_write_set_batch, before the writers were made): what is queued
    // in our inputs goes out in as few datagrams as fit, and the batch is flushed as soon as
    // no message waits, so a lone message leaves at once and a burst shares its packets.
    const auto flush = [&] {
        for (std::size_t i = 0; i < writers.size(); ++i) {
            if (unflushed[i]) {
                dds_write_flush(writers[i]);
                unflushed[i] = false;
            }
        }
    };
    // With ZEROFLOW_BRIDGE_SPIN_US, the pump polls its inputs that long after the last message
    // before it blocks (yielding its core between polls): a sender's next message within the
    // window costs no wake-up of this process (docs/design/machines.md#busy-polling-publish-pump).
    const auto spin = spin_window();
    const auto next = [&] {
        if (auto ready = node->next(0ns)) {
            return std::move(*ready);
        }
        if (watch) {
            for (;; std::this_thread::sleep_for(kWatchPeriod)) {
                if (auto ready = node->next(0ns)) {
                    return std::move(*ready);
                }
            }
        }
        flush();
        if (spin.count() > 0) {
            const auto until = Clock::now() + spin;
            do {
                ::sched_yield();
                if (auto ready = node->next(0ns)) {
                    return std::move(*ready);
                }
            } while (Clock::now() < until);
        }
        return node->next();
    };
    std::uint64_t lost = 0;
    for (auto event = next(); event.kind != EventKind::Stop; event = next()) {
        const auto it = by_input.find(event.id);
        if (event.kind == EventKind::AllInputsClosed) {
            break;
        }
        if (it == by_input.end()) {
            continue;
        }
        if (event.kind == EventKind::Input && watched.contains(event.id)) {
            continue; // written by its sender
        }
        if (event.kind == EventKind::Input) {
            if (!publish(writers[it->second], event)) {
                ++lost;
            }
            unflushed[it->second] = true;
        } else if (event.kind == EventKind::InputClosed && !closed[it->second]) {
            closed[it->second] = true;
            write_closed(writers[it->second]);
            dds_write_flush(writers[it->second]);
            unflushed[it->second] = false;
        }
    }
    flush();
    for (std::size_t i = 0; i < writers.size(); ++i) {
        if (!closed[i]) {
            write_closed(writers[i]);
            dds_write_flush(writers[i]);
        }
        dds_wait_for_acks(writers[i], DDS_SECS(2)); // the last messages reach every machine
    }
    std::uint64_t dropped = 0;
    for (const auto& input : node->inputs()) {
        if (!watched.contains(input)) { // those are one message deep and never read, by design
            dropped += node->dropped(input);
        }
    }
    if (dropped > 0) { // a slow machine: the bridge's queues dropped their oldest, as any would
        err << "zeroflow-bridge: " << dropped << " messages dropped by full queues before DDS\n";
    }
    if (lost > 0) {
        err << "zeroflow-bridge: error: " << lost << " messages could not be written on DDS\n";
        return cli::kExitFailure;
    }
    return cli::kExitOk;
}

/// A subscribe pump: stands in for a remote node, from DDS into this machine's segment. Ends
/// when every topic closed (its node ended, or its machine's pump is gone: Cyclone's lease),
/// which closes its outputs (InputClosed for the local receivers), or at Stop.
/// Messages up to this size (serialized: a 64 KiB payload with up to about 1 KiB of metadata)
/// go into the segment on Cyclone's delivering thread (the listener);
/// larger ones on the pump's own thread, woken by the listener. With every message delivered
/// in the listener, 8 B one-way p50 fell by about a fifth but 1 MiB rose by about a tenth (its
/// copy held up Cyclone's thread); split at 64 KiB, every size measured faster than with a
/// waitset (docs/design/machines.md#figures).
constexpr std::size_t kDeliverInListenerMax = 65 * 1024;

/// What the subscribe pump's listener and its main loop share. The node is used by both, so
/// every use of it, and of `pending`, holds `mutex`.
struct SubscribeState {
    /// A message taken serialized (dds_takecdr): the pump reads it in place (wire.hpp) and copies
    /// its payload once, from Cyclone's buffer into the loan, where a typed take would first
    /// deserialize it (an allocation and a copy per sequence).
    struct Pending {
        std::size_t reader = 0;
        ddsi_serdata* data = nullptr; ///< one reference, ours
        bool valid = false;
    };
    std::mutex mutex;
    std::condition_variable wake; ///< `pending` has messages for the pump's thread
    Node* node = nullptr;
    std::vector<dds_entity_t> readers;
    std::vector<Output> outputs;
    std::vector<bool> closed;
    std::vector<bool> matched;
    std::vector<std::uint64_t> last_sequence; ///< per reader: the last one sent here (0: none)
    std::vector<std::uint64_t> missing;       ///< per reader: sequence numbers skipped
    std::deque<Pending> pending;              ///< taken, in order, for the pump's thread
    std::uint64_t failures = 0;
    std::string failure;
    /// Messages in plain CDR that read_message refused (Cyclone had accepted them: a decoder
    /// out of step with the IDL), delivered through Cyclone's deserializer instead; logged.
    std::uint64_t unread = 0;

    /// One taken message into the local segment, and its reference dropped.
    void deliver(const Pending& p) {
        if (!closed[p.reader] && p.valid) {
            const std::uint32_t size = ddsi_serdata_size(p.data);
            ddsrt_iovec_t ref{};
            ddsi_serdata* held = ddsi_serdata_to_ser_ref(p.data, 0, size, &ref);
            const std::span bytes(static_cast<const std::byte*>(ref.iov_base), ref.iov_len);
            // Cyclone checked a received message against the type and put it in this machine's
            // byte order, so it is plain CDR here; with Cyclone's shared memory (off by default)
            // its bytes are not in the serdata (size 4: the header only) and its deserializer
            // reads them.
            const auto maybe_version =
                bytes.size() > 4 ? xcdr_version(bytes.first(4)) : std::nullopt;
            const auto maybe_message =
                maybe_version ? read_message(bytes.subspan(4), *maybe_version) : std::nullopt;
            if (maybe_message) {
                deliver(p.reader, *maybe_message);
            } else if (maybe_version) {
                ++unread;
            }
            ddsi_serdata_to_ser_unref(held, &ref);
            if (!maybe_message) {
                deliver_deserialized(p);
            }
        }
        ddsi_serdata_unref(p.data);
    }

    void deliver(std::size_t reader, const WireMessage& m) {
        if (m.closed) {
            closed[reader] = true; // after a close: taken and dropped
            return;
        }
        count_gap(reader, m.sequence_number);
        if (auto sent = send_remote(*node, outputs[reader], m); !sent) {
            ++failures;
            failure = sent.error().message();
        }
    }

    void deliver_deserialized(const Pending& p) {
        zeroflow_bridge_Message sample{};
        if (ddsi_serdata_to_sample(p.data, &sample, nullptr, nullptr)) {
            WireMessage m;
            m.closed = sample.closed;
            m.sequence_number = sample.sequence_number;
            m.timestamp_ns = sample.timestamp_ns;
            m.wall_time_ns = sample.wall_time_ns;
            m.dtype = sample.dtype;
            m.shape = std::as_bytes(std::span(sample.shape._buffer, sample.shape._length));
            m.encoding = sample.encoding != nullptr ? sample.encoding : "";
            m.parameters = std::span(reinterpret_cast<const std::byte*>(sample.parameters._buffer),
                                     sample.parameters._length);
            m.payload = std::span(reinterpret_cast<const std::byte*>(sample.payload._buffer),
                                  sample.payload._length);
            deliver(p.reader, m);
        } else {
            ++failures;
            failure = "a message from another machine could not be read";
        }
        dds_sample_free(&sample, &zeroflow_bridge_Message_desc, DDS_FREE_CONTENTS);
    }

    /// Messages the sender sent that never came: dropped by the sending machine's publish pump
    /// queue, or lost between the machines. A sequence that goes back (the sending node
    /// restarted) starts counting again.
    void count_gap(std::size_t i, std::uint64_t sequence) {
        if (last_sequence[i] != 0 && sequence > last_sequence[i] + 1) {
            missing[i] += sequence - last_sequence[i] - 1;
        }
        last_sequence[i] = sequence;
    }

    /// Takes what reader `i` holds: small messages delivered here (when nothing waits before
    /// them), the others queued for the pump's thread, in order.
    void take(std::size_t i, bool here) {
        for (;;) {
            ddsi_serdata* data[1] = {nullptr};
            dds_sample_info_t info[1];
            if (dds_takecdr(readers[i], data, 1, info, DDS_ANY_STATE) <= 0) {
                return;
            }
            const Pending p{i, data[0], info[0].valid_data};
            if (here && pending.empty() && ddsi_serdata_size(p.data) <= kDeliverInListenerMax) {
                deliver(p);
            } else {
                pending.push_back(p);
                wake.notify_one();
            }
        }
    }
};

/// Cyclone calls this on the thread that delivers the sample (its receive thread, or its
/// delivery queue's): a small message goes into the segment from there, one hand-over less
/// than a waitset that wakes the pump's own thread.
void on_data_available(dds_entity_t reader, void* arg) {
    auto& state = *static_cast<SubscribeState*>(arg);
    const std::lock_guard lock(state.mutex);
    for (std::size_t i = 0; i < state.readers.size(); ++i) {
        if (state.readers[i] == reader) {
            state.take(i, true);
        }
    }
}

int subscribe_pump(dds_entity_t participant, const std::string& flow,
                   const std::vector<TopicArg>& topics, std::ostream& err) {
    SubscribeState state;
    for (const auto& t : topics) {
        const auto reader = data_endpoint(participant, flow, t, false);
        if (!reader) {
            err << "zeroflow-bridge: error: " << reader.error() << "\n";
            return cli::kExitFailure;
        }
        state.readers.push_back(*reader);
    }
    auto node = Node::from_env();
    if (!node) {
        err << "zeroflow-bridge: error: " << node.error().message() << "\n";
        return cli::kExitFailure;
    }
    for (const auto& t : topics) {
        auto output = node->output(t.key);
        if (!output) {
            err << "zeroflow-bridge: error: " << output.error().message() << "\n";
            return cli::kExitFailure;
        }
        state.outputs.push_back(*output);
    }
    state.node = &*node;
    state.closed.assign(state.readers.size(), false);
    state.matched.assign(state.readers.size(), false);
    state.last_sequence.assign(state.readers.size(), 0);
    state.missing.assign(state.readers.size(), 0);
    dds_listener_t* listener = dds_create_listener(&state);
    dds_lset_data_available(listener, on_data_available);
    {
        const std::lock_guard lock(state.mutex);
        for (std::size_t i = 0; i < state.readers.size(); ++i) {
            dds_set_listener(state.readers[i], listener);
            state.take(i, false); // what came before the listener was there
        }
    }
    dds_delete_listener(listener);
    // This thread: the node's events (Stop), and each reader's matched writers (a machine
    // gone) at least every 20 ms.
    for (bool done = false; !done;) {
        std::unique_lock lock(state.mutex);
        state.wake.wait_for(lock, 20ms, [&] { return !state.pending.empty(); });
        while (!state.pending.empty()) {
            const auto p = state.pending.front();
            state.pending.pop_front();
            state.deliver(p);
        }
        while (auto event = node->next(0ns)) {
            if (event->kind == EventKind::Stop) {
                done = true;
                break;
            }
        }
        for (std::size_t i = 0; i < state.readers.size(); ++i) {
            dds_subscription_matched_status_t status{};
            if (!state.closed[i] &&
                dds_get_subscription_matched_status(state.readers[i], &status) == 0) {
                state.matched[i] =
                    state.matched[i] || status.current_count > 0 || status.total_count > 0;
                if (state.matched[i] && status.current_count == 0) {
                    state.closed[i] = true; // the writer's machine is gone
                }
            }
        }
        done =
            done || std::all_of(state.closed.begin(), state.closed.end(), [](bool c) { return c; });
    }
    // No callback may run once the node is gone: deleting a reader waits for its listener.
    for (const auto reader : state.readers) {
        dds_set_listener(reader, nullptr);
    }
    {
        const std::lock_guard lock(state.mutex);
        for (const auto& p : state.pending) {
            ddsi_serdata_unref(p.data);
        }
        state.pending.clear();
    }
    for (const auto reader : state.readers) {
        dds_delete(reader);
    }
    for (std::size_t i = 0; i < topics.size(); ++i) {
        if (state.missing[i] > 0) { // a slow link or machine: oldest dropped, as any queue would
            err << "zeroflow-bridge: " << state.missing[i] << " messages of "
                << topics[i].output.to_string()
                << " never arrived (gaps in its sequence: dropped by the sending machine's queue "
                   "before DDS, or lost between the machines)\n";
        }
    }
    if (state.unread > 0) {
        err << "zeroflow-bridge: " << state.unread
            << " messages from other machines were not read in place (tools/src/bridge/wire.cpp "
               "does not match zeroflow_bridge.idl) and took Cyclone's slower deserializer\n";
    }
    if (state.failures > 0) {
        err << "zeroflow-bridge: error: " << state.failures
            << " messages from other machines could not be sent here: " << state.failure << "\n";
        return cli::kExitFailure;
    }
    return cli::kExitOk;
}

/// A machine's state on the control topic as the daemon's remote_parts reads it (a machine not
/// heard from yet is starting).
protocol::RemoteState remote_state(const std::map<std::string, std::string>& seen,
                                   const std::string& machine) {
    const auto it = seen.find(machine);
    const std::string state = it == seen.end() ? "present" : it->second;
    return state == "running" ? protocol::RemoteState::running
           : state == "done"  ? protocol::RemoteState::done
           : state == "stop"  ? protocol::RemoteState::stopped
           : state == "gone"  ? protocol::RemoteState::lost
                              : protocol::RemoteState::starting;
}

/// Tells the local daemon the other machines of the part it runs (`remote_parts`), whenever
/// their states change: so `list` there shows them, and requests naming their nodes get
/// `remote_node`. A daemon that refuses it is reported once; the dataflow runs on.
class RemoteReport {
public:
    RemoteReport(const dataflow::Descriptor& descriptor, const std::string& here,
                 const MachinePart& part, std::ostream& err)
        : err_(err) {
        for (const auto& m : descriptor.machines()) {
            if (m == here) {
                continue;
            }
            protocol::RemoteMachine machine{m, protocol::RemoteState::starting, {}};
            for (const auto& node : descriptor.nodes) {
                if (node.machine == m) {
                    machine.nodes.push_back(node.id);
                }
            }
            parts_.machines.push_back(std::move(machine));
        }
        parts_.stand_ins = part.stand_ins;
    }
    void update(const std::string& uuid, const std::map<std::string, std::string>& seen) {
        parts_.dataflow = uuid;
        bool changed = !sent_;
        for (auto& m : parts_.machines) {
            const auto state = remote_state(seen, m.machine);
            changed = changed || state != m.state;
            m.state = state;
        }
        if (!changed) {
            return;
        }
        sent_ = true;
        auto reply = cli::daemon_call(protocol::to_json(parts_), 10s);
        if (!reply && !warned_) {
            warned_ = true;
            err_ << "zeroflow-bridge: warning: the local daemon did not take the other machines' "
                    "states (list there will not show them): "
                 << reply.error().message << "\n";
        }
    }

private:
    protocol::RemoteParts parts_;
    std::ostream& err_;
    bool sent_ = false;
    bool warned_ = false;
};

} // namespace

int run_pump(int argc, char** argv, std::ostream& err) {
    // argv: --pump publish|subscribe --dds-domain N --name FLOW (--topic K=N/O@D)... (--watch K)...
    std::string mode, flow;
    std::uint32_t domain = 0;
    std::vector<TopicArg> topics;
    std::set<std::string, std::less<>>
        watched; // publish: inputs whose senders write on DDS themselves
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--watch") {
            watched.insert(value);
        } else if (key == "--pump") {
            mode = value;
        } else if (key == "--dds-domain") {
            domain = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
        } else if (key == "--name") {
            flow = value;
        } else if (key == "--topic") {
            const auto t = parse_topic(value);
            if (!t) {
                err << "zeroflow-bridge: error: bad --topic '" << value << "'\n";
                return cli::kExitUsage;
            }
            topics.push_back(*t);
        } else {
            err << "zeroflow-bridge: error: unknown pump argument '" << key << "'\n";
            return cli::kExitUsage;
        }
    }
    if (mode == "hold" && !flow.empty()) { // a watching part's one node: until Stop
        auto node = Node::from_env();
        if (!node) {
            err << "zeroflow-bridge: error: " << node.error().message() << "\n";
            return cli::kExitFailure;
        }
        while (node->next().kind != EventKind::Stop) {
        }
        return cli::kExitOk;
    }
    if ((mode != "publish" && mode != "subscribe") || flow.empty() || topics.empty()) {
        err << "zeroflow-bridge: error: a pump needs --pump publish|subscribe|hold, --name, "
               "--topic (the bridge writes these; run zeroflow-bridge DATAFLOW --machine ID)\n";
        return cli::kExitUsage;
    }
    Participant participant{dds_create_participant(domain, nullptr, nullptr)};
    if (participant.id < 0) {
        err << "zeroflow-bridge: error: cannot create the DDS participant: "
            << dds_strretcode(participant.id) << " (check CYCLONEDDS_URI)\n";
        return cli::kExitFailure;
    }
    return mode == "publish" ? publish_pump(participant.id, flow, topics, watched, err)
                             : subscribe_pump(participant.id, flow, topics, err);
}

int run_bridge(const Options& o, std::ostream& out, std::ostream& err) {
    int report_fd = o.report_fd;
    auto report = [&report_fd](const Json& line) {
        if (report_fd < 0) {
            return;
        }
        const auto text = line.dump() + "\n";
        [[maybe_unused]] auto n = ::write(report_fd, text.data(), text.size());
        ::close(report_fd);
        report_fd = -1;
    };
    auto fail = [&err, &report](const std::string& message) {
        err << "zeroflow-bridge: error: " << message << "\n";
        report(Json{{"error", message}});
        return cli::kExitFailure;
    };
    if (!(o.start_timeout_s > 0 && o.start_timeout_s <= 86400)) { // the daemon's own bounds
        std::ostringstream value;
        value << o.start_timeout_s;
        return fail("--start-timeout " + value.str() +
                    " is not a number of seconds in (0, 86400]: give how long this machine's "
                    "part may take to start");
    }
    const auto parsed = dataflow::parse_file(o.dataflow);
    if (!parsed.ok()) {
        err << parsed.format();
        return fail(o.dataflow.string() + " is not a valid dataflow");
    }
    auto descriptor = *parsed.descriptor;
    if (o.default_machine) {
        place_unplaced_nodes(descriptor, *o.default_machine); // "run where it was started"
    }
    const auto file = std::filesystem::absolute(o.dataflow);
    const std::string flow = o.name.value_or(file.stem().string());
    if (!is_valid_dataflow_name(flow)) {
        return fail("invalid dataflow name '" + flow + "': use only letters, digits, '_' and '-'");
    }
    PumpCommand pump;
    std::error_code ec;
    pump.executable = std::filesystem::read_symlink("/proc/self/exe", ec);
    pump.args = {"--dds-domain", std::to_string(o.dds_domain), "--name", flow};
    std::string pump_config = kPumpCycloneConfig;
    if (const char* uri = std::getenv("CYCLONEDDS_URI"); uri != nullptr && *uri != '\0') {
        pump_config += std::string(",") + uri;
    }
    pump.env.emplace_back("CYCLONEDDS_URI", pump_config);
    const auto spin = parse_spin(std::getenv(kSpinEnv));
    if (!spin) {
        return fail(spin.error());
    }
    if (spin->count() > 0) {
        pump.env.emplace_back(kSpinEnv, std::to_string(spin->count()));
    }
    // Nodes write their outputs read elsewhere on DDS themselves unless ZEROFLOW_BRIDGE_PUBLISH
    // says pump (docs/design/machines.md#direct-publishing).
    const char* publish = std::getenv(kPublishEnv);
    const std::string publish_mode = publish != nullptr && *publish != '\0' ? publish : "direct";
    if (publish_mode == "direct") {
        const auto here = pump.executable.parent_path();
        for (const auto& candidate :
             {here / kRemoteWriterFile, here / ZEROFLOW_PLUGIN_RELDIR / kRemoteWriterFile}) {
            if (std::filesystem::exists(candidate, ec)) {
                pump.direct_writer = candidate.lexically_normal();
                break;
            }
        }
        if (pump.direct_writer.empty()) {
            return fail(std::string("cannot find ") + kRemoteWriterFile + " beside " +
                        pump.executable.string() + " or in " +
                        (here / ZEROFLOW_PLUGIN_RELDIR).lexically_normal().string() +
                        " (it is built and installed with zeroflow-bridge; " + kPublishEnv +
                        "=pump does without it)");
        }
        pump.domain_and_flow = std::to_string(o.dds_domain) + ";" + flow;
    } else if (publish_mode != "pump") {
        return fail(std::string(kPublishEnv) + "='" + publish_mode +
                    "': use 'direct' (each sending node writes its messages on DDS: the "
                    "default) or 'pump' (the machine's publish pump writes them all)");
    }
    // Where the dataflow was started, a machine may host none of its nodes: it watches.
    auto part_result = machine_part(descriptor, file, o.machine, pump,
                                    o.default_machine && *o.default_machine == o.machine);
    if (!part_result) {
        return fail(part_result.error());
    }
    const auto& part = *part_result;
    const auto machines = descriptor.machines();

    Participant participant{dds_create_participant(o.dds_domain, nullptr, nullptr)};
    if (participant.id < 0) {
        return fail(std::string("cannot create the DDS participant: ") +
                    dds_strretcode(participant.id) + " (check CYCLONEDDS_URI)");
    }
    ControlTopic control;
    if (!control.create(participant.id, flow, o.run)) {
        return fail("cannot create the DDS control topic of dataflow '" + flow + "'");
    }
    cli::InterruptScope interrupts;
    const auto timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(o.peer_timeout_s * 1000));
    const auto start_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(o.start_timeout_s * 1000));
    // Waits until every machine is in one of `states` (or any says stop); the missing ones.
    auto await = [&](std::initializer_list<const char*> states, std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        for (;;) {
            const auto seen = control.states();
            std::vector<std::string> missing;
            for (const auto& m : machines) {
                const auto it = seen.find(m);
                const bool ok =
                    m == o.machine || (it != seen.end() &&
                                       std::any_of(states.begin(), states.end(),
                                                   [&](const char* s) { return it->second == s; }));
                if (it != seen.end() && it->second == "stop" && m != o.machine) {
                    return std::make_pair(std::vector<std::string>{m}, true);
                }
                if (!ok) {
                    missing.push_back(m);
                }
            }
            if (missing.empty() || Clock::now() >= deadline || cli::InterruptScope::interrupted()) {
                return std::make_pair(missing, false);
            }
            std::this_thread::sleep_for(20ms);
        }
    };
    auto names = [](const std::vector<std::string>& list) {
        std::string text;
        for (const auto& m : list) {
            text += (text.empty() ? "'" : ", '") + m + "'";
        }
        return text;
    };
    // What a machine that stopped the dataflow said of why (its part failed), if anything.
    auto why_stopped = [&control](const std::vector<std::string>& list) {
        const auto it = list.empty() ? control.reasons.end() : control.reasons.find(list.front());
        return it == control.reasons.end() ? std::string() : ": " + it->second;
    };
    const std::string seconds = std::to_string(static_cast<int>(o.peer_timeout_s));

    // Start barrier: every machine's bridge is there, then every machine's part runs.
    control.say(o.machine, "present");
    if (const auto [missing, stopped] = await({"present", "running"}, timeout); !missing.empty()) {
        control.say(o.machine, "stop");
        dds_wait_for_acks(control.writer, DDS_SECS(1));
        return fail(stopped ? "machine " + names(missing) + " stopped the dataflow" +
                                  why_stopped(missing)
                            : "machine " + names(missing) + " of dataflow '" + flow +
                                  "' is not present on DDS domain " + std::to_string(o.dds_domain) +
                                  " after " + seconds +
                                  " s (no zeroflow daemon --machine-id there, or no "
                                  "zeroflow-bridge --machine for this dataflow): nothing was "
                                  "started");
    }
    const auto part_file =
        file.parent_path() / ("." + file.stem().string() + ".machine-" + o.machine + "-" +
                              std::to_string(::getpid()) + ".yml");
    std::ofstream(part_file) << part.yaml;
    // The start returns once the part runs, and its publish pump waits for the other machines'
    // readers: while it waits, a machine that could not start its part (a node or working_dir
    // missing there) says stop, and this part's start is stopped at once, with that reason.
    std::optional<std::expected<Json, cli::DaemonError>> maybe_started;
    std::atomic<bool> start_answered{false};
    std::thread starter([&] {
        maybe_started = cli::daemon_call(Json{{"op", "start"},
                                              {"path", part_file.string()},
                                              {"name", flow},
                                              {"start_timeout_s", o.start_timeout_s}},
                                         start_timeout + 60s);
        start_answered.store(true, std::memory_order_release); // maybe_started is set
    });
    // The pending part's UUID once this daemon lists it as starting (a stop by UUID reaches it
    // and nothing else: a stop by name could match another dataflow's UUID prefix before).
    auto pending_part = [&]() -> std::string {
        const auto listed = cli::daemon_call(Json{{"op", "list"}}, 5s);
        if (listed && listed->contains("dataflows") && (*listed)["dataflows"].is_array()) {
            for (const auto& df : (*listed)["dataflows"]) {
                if (df.value("name", "") == flow && df.value("status", "") == "starting") {
                    return df.value("uuid", "");
                }
            }
        }
        return "";
    };
    std::vector<std::string> stopped_by;
    bool stop_sent = false;
    while (!start_answered.load(std::memory_order_acquire)) {
        if (stopped_by.empty()) {
            for (const auto& [m, state] : control.states()) {
                if (m != o.machine && state == "stop" &&
                    std::find(machines.begin(), machines.end(), m) != machines.end()) {
                    stopped_by.push_back(m);
                }
            }
        }
        if (!stopped_by.empty() && !stop_sent) {
            if (const auto pending = pending_part(); !pending.empty()) {
                // Nothing ran yet (the barrier holds the senders): a short grace.
                cli::daemon_call(Json{{"op", "stop"}, {"dataflow", pending}, {"grace_s", 1.0}},
                                 60s);
                stop_sent = true;
            }
        }
        std::this_thread::sleep_for(20ms);
    }
    starter.join();
    std::filesystem::remove(part_file, ec);
    const auto& started = *maybe_started;
    if (!stopped_by.empty()) {
        if (started) { // it ran before the stop reached it
            cli::daemon_call(
                Json{{"op", "stop"}, {"dataflow", (*started)["uuid"]}, {"grace_s", 5.0}}, 60s);
        }
        return fail("machine " + names(stopped_by) + " stopped the dataflow" +
                    why_stopped(stopped_by));
    }
    if (!started) {
        const auto why = "machine '" + o.machine + "' could not start its part (" +
                         started.error().message + ")";
        control.say(o.machine, "stop", why); // the others stop what they started, saying why
        dds_wait_for_acks(control.writer, DDS_SECS(1));
        cli::print_daemon_error(started.error(), err);
        return fail(why + ": every machine stops");
    }
    const auto uuid = (*started)["uuid"].get<std::string>();
    RemoteReport remote(descriptor, o.machine, part, err);
    remote.update(uuid, control.states());
    auto stop_part = [&uuid] {
        cli::daemon_call(Json{{"op", "stop"}, {"dataflow", uuid}, {"grace_s", 5.0}}, 60s);
    };
    std::atomic<bool> part_ended{false};
    Json result; // the part's end (the `wait` reply), read after the join
    std::thread waiter([&] {
        auto reply = cli::daemon_call(Json{{"op", "wait"}, {"dataflow", uuid}},
                                      std::chrono::hours(24 * 365));
        if (reply) {
            result = std::move(*reply);
        }
        part_ended.store(true);
    });
    control.say(o.machine, "running");
    // The others' parts started when this one did: they may take as long as this one could.
    if (const auto [missing, stopped] = await({"running", "done"}, start_timeout + timeout);
        !missing.empty()) {
        control.say(o.machine, "stop");
        dds_wait_for_acks(control.writer, DDS_SECS(1));
        stop_part();
        waiter.join();
        return fail(stopped ? "machine " + names(missing) + " stopped the dataflow" +
                                  why_stopped(missing)
                            : "machine " + names(missing) + " did not start its part within " +
                                  std::to_string(static_cast<int>(o.start_timeout_s)) + " + " +
                                  seconds + " s: stopped everywhere");
    }
    remote.update(uuid, control.states());
    out << "zeroflow-bridge: dataflow '" << flow << "' runs on machines";
    for (const auto& m : machines) {
        out << ' ' << m;
    }
    out << "; here (machine '" << o.machine << "') as " << uuid << " (" << part.outbound.size()
        << " outputs out, " << part.inbound.size() << " in)" << std::endl;
    report(Json{{"uuid", uuid}, {"name", flow}});

    // Until the part ends, a signal (stop everywhere), or another machine's stop.
    bool stop_everywhere = false;
    bool stopped_elsewhere = false;
    bool finished_elsewhere = false; // a watching part: every other machine's part ended
    while (!part_ended.load()) {
        if (cli::InterruptScope::interrupted()) {
            stop_everywhere = true;
            break;
        }
        const auto seen = control.states();
        remote.update(uuid, seen);
        for (const auto& [m, state] : seen) {
            stopped_elsewhere = stopped_elsewhere || (m != o.machine && state == "stop");
        }
        if (stopped_elsewhere) {
            out << "zeroflow-bridge: stop from another machine" << std::endl;
            break;
        }
        finished_elsewhere =
            part.watching && std::all_of(machines.begin(), machines.end(), [&](const auto& m) {
                const auto it = seen.find(m);
                return it != seen.end() && (it->second == "done" || it->second == "gone");
            });
        if (finished_elsewhere) {
            out << "zeroflow-bridge: every machine's part ended: the watching part here ends"
                << std::endl;
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    if (stop_everywhere) {
        control.say(o.machine, "stop");
        dds_wait_for_acks(control.writer, DDS_SECS(2));
    }
    if (!part_ended.load()) {
        stop_part();
    }
    waiter.join();
    remote.update(uuid, control.states()); // the part here ended: the others' last states
    // Stopped here by a request we did not make (`zeroflow stop` on this machine, or this
    // daemon's shutdown): the whole dataflow stops, as a signal to this bridge would do.
    const bool stopped_here = !stop_everywhere && !stopped_elsewhere && !finished_elsewhere &&
                              result.value("stop_requested", false);
    if (stopped_here) {
        out << "zeroflow-bridge: part stopped on this machine: every machine stops" << std::endl;
        stop_everywhere = true;
        control.say(o.machine, "stop");
        dds_wait_for_acks(control.writer, DDS_SECS(2));
    }
    if (!stop_everywhere) {
        control.say(o.machine, "done");
        dds_wait_for_acks(control.writer, DDS_SECS(1));
    }
    out << "zeroflow-bridge: machine '" << o.machine << "' done" << std::endl;
    if (!stop_everywhere && !stopped_elsewhere && !finished_elsewhere &&
        !result.value("success", false)) {
        // The part ended by itself, and not every node exited 0 (pumps included).
        return cli::report_result(result, out, err);
    }
    return cli::kExitOk;
}

} // namespace zeroflow::bridge
