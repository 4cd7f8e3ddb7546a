// `zeroflow topic`: list and info from the daemon's `stats`; hz, bw and echo through a tap.
// hz and bw read only chunk headers (send time, size, sequence), never payloads.
#include "topic.hpp"

#include <atomic>
#include <cmath>
#include <csignal>
#include <deque>
#include <iomanip>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "interrupt.hpp"
#include "message_text.hpp"
#include "tap.hpp"

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        ++u;
    }
    std::ostringstream s;
    s << std::fixed << std::setprecision(u == 0 ? 0 : 2) << bytes << " " << units[u];
    return s.str();
}

int topic_list(const TopicOptions& o, std::ostream& out, std::ostream& err) {
    auto s = dataflow_stats(o.dataflow);
    if (!s) {
        return fail(err, s.error().message);
    }
    std::map<std::string, std::vector<std::string>> subscribers;
    for (const auto& in : (*s)["inputs"]) {
        subscribers[in["source"].get<std::string>()].push_back(in["node"].get<std::string>() + "/" +
                                                               in["input"].get<std::string>());
    }
    Json list = Json::array();
    for (const auto& output : (*s)["outputs"]) {
        if (output["timer"].get<bool>()) {
            continue;
        }
        const auto name = output["name"].get<std::string>();
        list.push_back({{"output", name},
                        {"sent", output["sent"]},
                        {"bytes", output["bytes"]},
                        {"max_message_size", output["max_message_size"]},
                        {"subscribers", subscribers[name]},
                        {"observers", output["observers"]}});
    }
    if (o.json) {
        out << Json{{"dataflow", (*s)["uuid"]}, {"outputs", list}}.dump(2) << "\n";
        return kExitOk;
    }
    out << std::left << std::setw(28) << "OUTPUT" << std::setw(12) << "SENT"
        << "SUBSCRIBERS\n";
    for (const auto& e : list) {
        std::string subs;
        for (const auto& sub : e["subscribers"]) {
            subs += (subs.empty() ? "" : ", ") + sub.get<std::string>();
        }
        out << std::left << std::setw(28) << e["output"].get<std::string>() << std::setw(12)
            << e["sent"].get<std::uint64_t>() << (subs.empty() ? "-" : subs) << "\n";
    }
    return kExitOk;
}

/// The stats entry of `output`, or an error naming the outputs there are.
std::expected<Json, std::string> find_output(const Json& s, const std::string& output) {
    std::string known;
    for (const auto& o : s["outputs"]) {
        if (o["name"].get<std::string>() == output) {
            return o;
        }
        if (!o["timer"].get<bool>()) {
            known += "\n  " + o["name"].get<std::string>();
        }
    }
    return std::unexpected("dataflow " + s["uuid"].get<std::string>() + " has no output '" +
                           output + "'; its outputs are:" + (known.empty() ? " none" : known));
}

int topic_info(const TopicOptions& o, std::ostream& out, std::ostream& err) {
    auto s = dataflow_stats(o.dataflow);
    if (!s) {
        return fail(err, s.error().message);
    }
    auto entry = find_output(*s, o.output);
    if (!entry) {
        return fail(err, entry.error());
    }
    Json info = *entry;
    Json receivers = Json::array();
    for (const auto& in : (*s)["inputs"]) {
        if (in["source"].get<std::string>() == o.output) {
            receivers.push_back(in);
        }
    }
    info["receivers"] = receivers;
    // What the output sends now: one message seen through a tap (waits up to 2 s for one).
    auto tap = Tap::attach(std::string((*s)["uuid"].get<std::string>()), {o.output});
    if (tap) {
        if (auto m = tap->next(2s)) {
            const auto d = describe(m->delivery);
            info["last_seen"] = {{"sequence", m->delivery.sequence},
                                 {"size", m->delivery.size},
                                 {"dtype", std::string(to_string(d.dtype))},
                                 {"shape", d.shape},
                                 {"encoding", d.encoding},
                                 {"parameters", d.parameters.keys().size()}};
            tap->release(*m);
        }
    }
    if (o.json) {
        out << info.dump(2) << "\n";
        return kExitOk;
    }
    out << "output: " << o.output << "\n"
        << "sent: " << info["sent"].get<std::uint64_t>() << " messages, "
        << human_bytes(info["bytes"].get<double>()) << "\n"
        << "max message size: " << human_bytes(info["max_message_size"].get<double>())
        << "  chunks: " << info["chunks"] << " (" << info["free_chunks"] << " free)\n";
    if (info.contains("last_seen")) {
        const auto& l = info["last_seen"];
        out << "last seen: #" << l["sequence"] << ", " << l["size"] << " bytes, dtype "
            << l["dtype"].get<std::string>();
        if (!l["shape"].empty()) {
            out << ", shape " << l["shape"].dump();
        }
        if (!l["encoding"].get<std::string>().empty()) {
            out << ", encoding " << l["encoding"].get<std::string>();
        }
        out << "\n";
    } else {
        out << "last seen: nothing in 2 s\n";
    }
    out << "receivers:" << (receivers.empty() ? " none" : "") << "\n";
    for (const auto& r : receivers) {
        out << "  " << r["node"].get<std::string>() << "/" << r["input"].get<std::string>()
            << "  queue " << r["queued"] << "/" << r["queue_size"] << "  dropped " << r["dropped"]
            << "\n";
    }
    out << "observers: " << info["observers"] << "\n";
    return kExitOk;
}

/// Rate and period statistics over the last `window` messages (send timestamps and sizes).
class Window {
public:
    explicit Window(std::size_t size) : size_(size) {}
    void add(std::uint64_t sequence, std::uint64_t timestamp_ns, std::uint64_t bytes) {
        samples_.push_back({sequence, timestamp_ns, bytes});
        if (samples_.size() > size_) {
            samples_.pop_front();
        }
    }
    Json summary(const std::string& output, std::uint64_t dropped) const {
        Json j{{"output", output}, {"messages", samples_.size()}, {"observer_dropped", dropped}};
        if (samples_.size() < 2) {
            return j;
        }
        const auto& first = samples_.front();
        const auto& last = samples_.back();
        const double span = static_cast<double>(last.timestamp - first.timestamp) * 1e-9;
        // Rate from sequence numbers over send time: right even when this observer dropped
        // some messages (the sender's sequence counts every message sent).
        const double sent = static_cast<double>(last.sequence - first.sequence);
        double bytes = 0;
        double min = 1e300;
        double max = 0;
        double sum = 0;
        double sum2 = 0;
        std::size_t periods = 0;
        for (std::size_t i = 1; i < samples_.size(); ++i) {
            bytes += static_cast<double>(samples_[i].bytes);
            if (samples_[i].sequence != samples_[i - 1].sequence + 1) {
                continue; // a gap (our drop): not a period
            }
            const double p =
                static_cast<double>(samples_[i].timestamp - samples_[i - 1].timestamp) * 1e-9;
            min = std::min(min, p);
            max = std::max(max, p);
            sum += p;
            sum2 += p * p;
            ++periods;
        }
        if (span > 0) {
            j["rate_hz"] = sent / span;
            // Bytes of the messages seen, scaled to all that were sent.
            const double seen = static_cast<double>(samples_.size() - 1);
            j["bytes_per_s"] = bytes / span * (sent / seen);
            j["mean_size"] = bytes / seen;
        }
        if (periods > 0) {
            const double mean = sum / static_cast<double>(periods);
            j["period_min_s"] = min;
            j["period_max_s"] = max;
            j["period_mean_s"] = mean;
            j["period_std_s"] =
                std::sqrt(std::max(0.0, sum2 / static_cast<double>(periods) - mean * mean));
        }
        return j;
    }

private:
    struct Sample {
        std::uint64_t sequence;
        std::uint64_t timestamp;
        std::uint64_t bytes;
    };
    std::size_t size_;
    std::deque<Sample> samples_;
};

void print_rate(const Json& j, bool bw, std::ostream& out) {
    if (!j.contains("rate_hz")) {
        out << "no messages yet\n";
        return;
    }
    out << std::fixed;
    if (bw) {
        out << std::setprecision(2) << "average: " << human_bytes(j["bytes_per_s"].get<double>())
            << "/s  mean size " << human_bytes(j["mean_size"].get<double>()) << "  over "
            << j["messages"] << " messages\n";
    } else {
        out << std::setprecision(3) << "average rate: " << j["rate_hz"].get<double>() << " Hz\n";
        if (j.contains("period_mean_s")) {
            out << std::setprecision(6) << "  min: " << j["period_min_s"].get<double>()
                << "s max: " << j["period_max_s"].get<double>()
                << "s mean: " << j["period_mean_s"].get<double>()
                << "s std dev: " << j["period_std_s"].get<double>() << "s window: " << j["messages"]
                << "\n";
        }
    }
    out.unsetf(std::ios::fixed);
    out.flush();
}

int topic_rate(const TopicOptions& o, std::ostream& out, std::ostream& err) {
    auto tap = Tap::attach(o.dataflow, {o.output});
    if (!tap) {
        return fail(err, tap.error().message);
    }
    const bool bw = o.action == "bw";
    InterruptScope interrupts;
    Window window(o.window);
    const auto start = Clock::now();
    auto next_print = start + 1s;
    std::uint64_t seen = 0;
    const auto done = [&] {
        return InterruptScope::interrupted() || tap->ended() || (o.count && seen >= *o.count) ||
               (o.duration_s &&
                Clock::now() - start >= std::chrono::duration<double>(*o.duration_s));
    };
    while (!done()) {
        if (auto m = tap->next(100ms)) {
            window.add(m->delivery.sequence, m->delivery.timestamp_ns, m->delivery.size);
            tap->release(*m); // headers only: the payload is never read
            ++seen;
        }
        if (!o.json && Clock::now() >= next_print) {
            print_rate(window.summary(o.output, tap->dropped(o.output)), bw, out);
            next_print += 1s;
        }
    }
    const auto summary = window.summary(o.output, tap->dropped(o.output));
    if (o.json) {
        out << summary.dump() << "\n";
    } else {
        print_rate(summary, bw, out);
    }
    if (seen == 0 && tap->ended()) {
        return fail(err, "dataflow " + tap->dataflow_id() + " ended before " + o.output +
                             " sent anything");
    }
    return kExitOk;
}

int topic_echo(const TopicOptions& o, std::ostream& out, std::ostream& err) {
    auto tap = Tap::attach(o.dataflow, {o.output});
    if (!tap) {
        return fail(err, tap.error().message);
    }
    InterruptScope interrupts;
    const auto start = Clock::now();
    std::uint64_t seen = 0;
    while (
        !InterruptScope::interrupted() && !tap->ended() && !(o.count && seen >= *o.count) &&
        !(o.duration_s && Clock::now() - start >= std::chrono::duration<double>(*o.duration_s))) {
        auto m = tap->next(100ms);
        if (!m) {
            continue;
        }
        // Formatted straight from shared memory, then handed back at once.
        const auto text = o.json ? message_json(*m->output, m->delivery).dump() + "\n"
                                 : message_text(*m->output, m->delivery);
        tap->release(*m);
        out << text;
        out.flush();
        ++seen;
    }
    if (o.count && seen < *o.count && tap->ended()) {
        return fail(err, "dataflow " + tap->dataflow_id() + " ended after " + std::to_string(seen) +
                             " of " + std::to_string(*o.count) + " messages");
    }
    return kExitOk;
}

} // namespace

int run_topic(const TopicOptions& options, std::ostream& out, std::ostream& err) {
    if (options.action == "list") {
        return topic_list(options, out, err);
    }
    const auto slash = options.output.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == options.output.size()) {
        err << "zeroflow: error: '" << options.output
            << "' is not an output: write NODE/OUTPUT, e.g. camera/image\n";
        return kExitUsage;
    }
    if (options.action == "info") {
        return topic_info(options, out, err);
    }
    if (options.action == "hz" || options.action == "bw") {
        return topic_rate(options, out, err);
    }
    return topic_echo(options, out, err);
}

} // namespace zeroflow::cli
