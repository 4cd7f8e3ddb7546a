// libzeroflow-dds-writer.so: the DDS writers of a node that publishes directly
// (docs/design/machines.md#direct-publishing). The node library loads it with dlopen
// (runtime/src/remote_writer.cpp) and calls it right after each local send of an output read
// on other machines, on the sending thread: the message goes on the output's topic exactly as
// the publish pump would write it, without a hand-over to the pump.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <dds/dds.h>

#include "remote_writer_abi.h"
#include "topics.hpp"
#include "zeroflow_bridge.h"

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

bool parse_uint(const std::string& text, std::uint32_t& value) {
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    value = static_cast<std::uint32_t>(std::stoul(text));
    return true;
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
    bool ok = parts.size() >= 3 && parse_uint(parts[0], domain) && !parts[1].empty();
    for (std::size_t i = 2; ok && i < parts.size(); ++i) {
        const auto at = parts[i].rfind('@');
        const auto star = parts[i].rfind('*');
        Entry e;
        ok = at != std::string::npos && star != std::string::npos && at > 0 && star > at &&
             parse_uint(parts[i].substr(at + 1, star - at - 1), e.depth) &&
             parse_uint(parts[i].substr(star + 1), e.readers);
        e.output = parts[i].substr(0, at);
        entries.push_back(e);
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
    std::array<char, 256> encoding{}; // NUL-terminated for the IDL string (at most 63 bytes)
    std::memcpy(encoding.data(), message->encoding,
                std::min(message->encoding_size, encoding.size() - 1));
    zeroflow_bridge_Message m{};
    m.closed = false;
    m.sequence_number = message->sequence;
    m.timestamp_ns = message->timestamp_ns;
    m.wall_time_ns = message->wall_time_ns;
    m.dtype = message->dtype;
    m.shape._buffer = const_cast<std::uint64_t*>(message->shape);
    m.shape._length = message->ndim;
    m.shape._maximum = message->ndim;
    m.encoding = encoding.data();
    m.parameters._buffer = static_cast<std::uint8_t*>(const_cast<void*>(message->parameters));
    m.parameters._length = static_cast<std::uint32_t>(message->parameters_size);
    m.parameters._maximum = m.parameters._length;
    m.payload._buffer = static_cast<std::uint8_t*>(const_cast<void*>(message->payload));
    m.payload._length = static_cast<std::uint32_t>(message->payload_size);
    m.payload._maximum = m.payload._length;
    const dds_return_t r = dds_write(w->writers[static_cast<std::size_t>(index)], &m);
    return r == DDS_RETCODE_OK ? 0 : r == DDS_RETCODE_TIMEOUT ? 1 : -1;
}

void zf_remote_writer_destroy(zf_remote_writer* w, int write_closed) {
    // The last messages reach every machine: 2 s for all writers together (a machine that is
    // gone never acknowledges; the node's exit waits no longer for it).
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    for (const auto writer : w->writers) {
        if (write_closed != 0) {
            zeroflow_bridge_Message m{};
            m.closed = true;
            m.encoding = const_cast<char*>("");
            // The history may be full of unacknowledged messages: wait for room this once.
            while (dds_write(writer, &m) == DDS_RETCODE_TIMEOUT && Clock::now() < deadline) {
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
