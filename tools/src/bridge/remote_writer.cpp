// libzeroflow-dds-writer.so: the DDS writers of a node that publishes directly
// (docs/design/machines.md#direct-publishing). The node library loads it with dlopen
// (runtime/src/remote_writer.cpp) and calls it right after each local send of an output read
// on other machines, on the sending thread: the message goes on the output's topic exactly as
// the publish pump would write it, without a hand-over to the pump.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <dds/dds.h>

#include "topics.hpp"

struct zf_remote_writer {
    dds_entity_t participant = 0;
    std::vector<std::string> outputs;
    std::vector<dds_entity_t> writers;
};

namespace {

using Clock = std::chrono::steady_clock;

void say(char* error, std::size_t size, const std::string& text) {
    if (size > 0) {
        const auto n = std::min(size - 1, text.size());
        std::memcpy(error, text.data(), n);
        error[n] = '\0';
    }
}

struct Entry {
    std::string output;
    std::uint32_t depth = 1;
    std::uint32_t readers = 0;
};

std::vector<std::string> split(const std::string& text, char by) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (;;) {
        const auto at = text.find(by, from);
        parts.push_back(text.substr(from, at - from));
        if (at == std::string::npos) {
            return parts;
        }
        from = at + 1;
    }
}

} // namespace

extern "C" {

zf_remote_writer* zf_remote_writer_open(unsigned abi, const char* node_id, const char* spec,
                                        char* error, std::size_t error_size) {
    if (abi != ZF_REMOTE_WRITER_ABI) {
        say(error, error_size,
            "the node library and zeroflow-bridge's DDS writer plugin are of different builds");
        return nullptr;
    }
    const auto parts = split(spec, ';');
    std::uint32_t domain = 0;
    std::vector<Entry> entries;
    const auto* domain_end = parts.empty() ? nullptr : parts[0].data() + parts[0].size();
    bool ok = parts.size() >= 3 && !parts[0].empty() && !parts[1].empty() &&
              std::from_chars(parts[0].data(), domain_end, domain).ptr == domain_end;
    for (std::size_t i = 2; ok && i < parts.size(); ++i) {
        const auto at = parts[i].rfind('@');
        const auto depth =
            at == std::string::npos || at == 0
                ? std::nullopt
                : zeroflow::bridge::parse_topic_depth(std::string_view(parts[i]).substr(at + 1));
        ok = depth && depth->has_readers;
        if (ok) {
            entries.push_back({parts[i].substr(0, at), depth->depth, depth->readers});
        }
    }
    if (!ok) {
        say(error, error_size,
            std::string("bad ") + ZF_REMOTE_OUTPUTS_ENV + " '" + spec +
                "' (DOMAIN;FLOW;OUTPUT@DEPTH*READERS...: zeroflow-bridge writes it)");
        return nullptr;
    }
    auto* w = new zf_remote_writer();
    w->participant = dds_create_participant(domain, nullptr, nullptr);
    if (w->participant < 0) {
        say(error, error_size,
            std::string("cannot create the DDS participant: ") + dds_strretcode(w->participant) +
                " (check CYCLONEDDS_URI)");
        delete w;
        return nullptr;
    }
    const auto fail = [&](const std::string& why) -> zf_remote_writer* {
        say(error, error_size, why);
        dds_delete(w->participant);
        delete w;
        return nullptr;
    };
    for (const auto& e : entries) {
        const auto name = zeroflow::bridge::data_topic_name(parts[1], node_id, e.output);
        const dds_entity_t topic = dds_create_topic(w->participant, &zeroflow_bridge_Message_desc,
                                                    name.c_str(), nullptr, nullptr);
        dds_qos_t* qos = zeroflow::bridge::direct_writer_qos(e.depth);
        const dds_entity_t writer =
            topic < 0 ? topic : dds_create_writer(w->participant, topic, qos, nullptr);
        dds_delete_qos(qos);
        if (writer < 0) {
            return fail("cannot create the DDS writer of " + std::string(node_id) + "/" + e.output +
                        ": " + dds_strretcode(writer));
        }
        w->outputs.push_back(e.output);
        w->writers.push_back(writer);
    }
    // The other machines' readers (their subscribe pumps run before their parts register)
    // must be there before this node sends anything: it registers, and so passes the start
    // barrier, only after this returns.
    const auto deadline =
        Clock::now() + std::chrono::seconds(zeroflow::bridge::kReadersTimeoutSeconds);
    for (std::size_t i = 0; i < w->writers.size(); ++i) {
        dds_publication_matched_status_t status{};
        while (dds_get_publication_matched_status(w->writers[i], &status) == 0 &&
               status.current_count < entries[i].readers) {
            if (Clock::now() >= deadline) {
                return fail(std::string(node_id) + "/" + entries[i].output + " has " +
                            std::to_string(status.current_count) + " of its " +
                            std::to_string(entries[i].readers) + " remote readers after " +
                            std::to_string(zeroflow::bridge::kReadersTimeoutSeconds) + " s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    return w;
}

int zf_remote_writer_find(zf_remote_writer* w, const char* output) {
    for (std::size_t i = 0; i < w->outputs.size(); ++i) {
        if (w->outputs[i] == output) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

int zf_remote_writer_write(zf_remote_writer* w, int index, const zf_remote_message* message) {
    if (index < 0 || static_cast<std::size_t>(index) >= w->writers.size()) {
        return -1;
    }
    const dds_return_t r =
        zeroflow::bridge::write_message(w->writers[static_cast<std::size_t>(index)], *message);
    return r == DDS_RETCODE_OK ? 0 : r == DDS_RETCODE_TIMEOUT ? 1 : -1;
}

void zf_remote_writer_destroy(zf_remote_writer* w, int write_closed) {
    // The last messages reach every machine: 2 s for all writers together (a machine that is
    // gone never acknowledges; the node's exit waits no longer for it).
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    for (const auto writer : w->writers) {
        if (write_closed != 0) {
            // The history may be full of unacknowledged messages: wait for room this once.
            while (zeroflow::bridge::write_closed(writer) == DDS_RETCODE_TIMEOUT &&
                   Clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
        dds_wait_for_acks(writer, std::max<dds_duration_t>(0, left.count()));
    }
    dds_delete(w->participant);
    delete w;
}

} // extern "C"
