// `zeroflow record`: the tap thread copies each message out of shared memory and releases its
// chunk at once; a writer thread turns the copies into MCAP (record_format.hpp). A full queue
// (the disk cannot keep up) drops the newest copy and counts it; the dataflow never waits.
#include "record.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "interrupt.hpp"
#include "mcap_writer.hpp"
#include "message_text.hpp"
#include "record_format.hpp"
#include "tap.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Copy {
    std::uint16_t channel = 0;
    std::uint64_t sequence = 0;
    std::uint64_t wall_time = 0;
    std::vector<std::uint8_t> prefix; ///< every zeroflow.Message field but the payload's bytes
    std::vector<std::uint8_t> payload;
};

/// Copies waiting for the writer thread, bounded by bytes.
class Queue {
public:
    explicit Queue(std::uint64_t limit) : limit_(limit) {}
    bool push(Copy&& c) {
        const auto size = c.prefix.size() + c.payload.size();
        {
            std::lock_guard lock(mutex_);
            if (bytes_ + size > limit_ && !items_.empty()) {
                return false;
            }
            bytes_ += size;
            items_.push_back(std::move(c));
        }
        ready_.notify_one();
        return true;
    }
    /// A payload buffer to fill: a recycled one when there is one (no allocation, no page
    /// faults on the hot loop), else a new one.
    std::vector<std::uint8_t> buffer() {
        std::lock_guard lock(mutex_);
        if (spare_.empty()) {
            return {};
        }
        auto b = std::move(spare_.back());
        spare_.pop_back();
        return b;
    }
    /// Hands a written copy's buffer back for reuse (a few are kept).
    void recycle(std::vector<std::uint8_t>&& b) {
        std::lock_guard lock(mutex_);
        if (spare_.size() < 64) {
            spare_.push_back(std::move(b));
        }
    }
    std::optional<Copy> pop() {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !items_.empty() || closed_; });
        if (items_.empty()) {
            return std::nullopt;
        }
        auto c = std::move(items_.front());
        items_.pop_front();
        bytes_ -= c.prefix.size() + c.payload.size();
        return c;
    }
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Copy> items_;
    std::vector<std::vector<std::uint8_t>> spare_;
    std::uint64_t bytes_ = 0;
    std::uint64_t limit_;
    bool closed_ = false;
};

} // namespace

int run_record(const RecordOptions& o, std::ostream& out, std::ostream& err) {
    const auto compression = mcap::parse_compression(o.compression);
    if (!compression) {
        err << "zeroflow: error: --compression takes zstd, lz4 or none, not '" << o.compression
            << "'\n";
        return kExitUsage;
    }
    auto tap = Tap::attach(o.dataflow, o.outputs);
    if (!tap) {
        err << "zeroflow: error: " << tap.error().message << "\n";
        return kExitFailure;
    }
    auto writer = mcap::Writer::create(o.file, *compression);
    if (!writer) {
        err << "zeroflow: error: " << writer.error() << "\n";
        return kExitFailure;
    }
    const auto schema_bytes = record_format::schema();
    const auto schema = writer->add_schema(record_format::kSchemaName,
                                           record_format::kSchemaEncoding, schema_bytes);
    std::map<std::string, std::uint16_t> channel_of;
    for (const auto& name : tap->outputs()) {
        const auto& ol = tap->layout().outputs[tap->output_index(name)];
        channel_of[name] =
            writer->add_channel(schema, name, record_format::kMessageEncoding,
                                {{"dataflow_id", tap->dataflow_id()},
                                 {"dataflow_name", tap->dataflow_name()},
                                 {"max_message_size", std::to_string(ol.max_message_size)},
                                 {"max_metadata_size", std::to_string(ol.max_metadata_size)}});
    }

    const InterruptScope interrupts;

    Queue queue(o.queue_bytes);
    std::string write_error;
    std::thread writer_thread([&] {
        while (auto c = queue.pop()) {
            if (!write_error.empty()) {
                continue; // keep draining so the tap side never blocks
            }
            const std::span<const std::uint8_t> parts[] = {c->prefix, c->payload};
            if (auto ok = writer->add_message(c->channel, static_cast<std::uint32_t>(c->sequence),
                                              c->wall_time, c->wall_time, parts);
                !ok) {
                write_error = ok.error();
            }
            queue.recycle(std::move(c->payload));
        }
    });

    std::uint64_t seen = 0;
    std::uint64_t recorder_dropped = 0;
    std::uint64_t bytes = 0;
    const auto start = Clock::now();
    while (
        !InterruptScope::interrupted() && !tap->ended() &&
        !(o.duration_s && Clock::now() - start >= std::chrono::duration<double>(*o.duration_s))) {
        auto m = tap->next(100ms);
        if (!m) {
            continue;
        }
        const auto& d = m->delivery;
        const auto desc = describe(d);
        record_format::Fields f;
        f.sequence = d.sequence;
        f.timestamp_ns = d.timestamp_ns;
        f.wall_time_ns = d.wall_time_ns;
        f.dtype = static_cast<std::uint8_t>(desc.dtype);
        f.shape = desc.shape;
        f.encoding = desc.encoding;
        if (d.metadata_size != 0) {
            const auto raw = desc.parameters.raw();
            f.parameters.assign(reinterpret_cast<const std::uint8_t*>(raw.data()),
                                reinterpret_cast<const std::uint8_t*>(raw.data()) + raw.size());
            f.parameters_json = parameters_json(desc.parameters).dump();
        }
        Copy c;
        c.channel = channel_of[*m->output];
        c.sequence = d.sequence;
        c.wall_time = d.wall_time_ns;
        c.prefix = record_format::encode_prefix(f, d.size);
        c.payload = queue.buffer();
        const auto* bytes_in = reinterpret_cast<const std::uint8_t*>(d.data);
        c.payload.assign(bytes_in, bytes_in + d.size); // one copy, no zeroing first
        tap->release(*m); // the chunk goes back before anything touches the disk
        ++seen;
        bytes += d.size;
        if (!queue.push(std::move(c))) {
            ++recorder_dropped;
        }
    }
    std::uint64_t tap_dropped = 0;
    for (const auto& name : tap->outputs()) {
        tap_dropped += tap->dropped(name);
    }
    queue.close();
    writer_thread.join();
    if (write_error.empty()) {
        if (auto ok = writer->finish(); !ok) {
            write_error = ok.error();
        }
    }
    if (!write_error.empty()) {
        err << "zeroflow: error: " << write_error << "\n";
        return kExitFailure;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const Json summary{{"file", o.file},
                       {"dataflow", tap->dataflow_id()},
                       {"outputs", tap->outputs()},
                       {"messages", writer->messages()},
                       {"payload_bytes", bytes},
                       {"file_bytes", writer->bytes_written()},
                       {"seconds", seconds},
                       {"tap_dropped", tap_dropped},
                       {"recorder_dropped", recorder_dropped},
                       {"compression", o.compression}};
    if (o.json) {
        out << summary.dump() << "\n";
    } else {
        out << "recorded " << writer->messages() << " messages (" << bytes << " payload bytes) of "
            << tap->outputs().size() << " outputs in " << seconds << " s to " << o.file << " ("
            << writer->bytes_written() << " bytes, " << o.compression << ")\n"
            << "dropped: " << tap_dropped << " (the recorder fell behind the tap), "
            << recorder_dropped << " (the disk fell behind the recorder)\n";
    }
    (void)seen;
    return kExitOk;
}

} // namespace zeroflow::cli
