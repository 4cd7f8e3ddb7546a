// Layout spec and node setup <-> JSON, and UUID text, shared by the node library and the daemon.
#include <fstream>
#include <limits>
#include <random>

#include <zeroflow/runtime/wire.hpp>

namespace zeroflow::wire {

Uuid random_uuid() {
    Uuid uuid{};
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    if (!urandom.read(reinterpret_cast<char*>(uuid.data()), uuid.size())) {
        std::random_device rd;
        for (auto& b : uuid) {
            b = static_cast<std::uint8_t>(rd());
        }
    }
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0f) | 0x40);
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3f) | 0x80);
    return uuid;
}

std::string to_string(const Uuid& uuid) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(kDigits[uuid[i] >> 4]);
        out.push_back(kDigits[uuid[i] & 15]);
    }
    return out;
}

std::optional<Uuid> parse_uuid(std::string_view text) {
    if (text.size() != 36) {
        return std::nullopt;
    }
    Uuid uuid{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return std::nullopt;
            }
            ++i;
            continue;
        }
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            if (c >= 'A' && c <= 'F') {
                return c - 'A' + 10;
            }
            return -1;
        };
        const int hi = nibble(text[i]);
        const int lo = i + 1 < text.size() ? nibble(text[i + 1]) : -1;
        if (hi < 0 || lo < 0 || byte >= uuid.size()) {
            return std::nullopt;
        }
        uuid[byte++] = static_cast<std::uint8_t>(hi << 4 | lo);
        i += 2;
    }
    return byte == uuid.size() ? std::optional<Uuid>(uuid) : std::nullopt;
}

protocol::Json to_json(const shm::LayoutSpec& spec) {
    protocol::Json outputs = protocol::Json::array();
    for (const auto& o : spec.outputs) {
        outputs.push_back({{"owner", o.owner},
                           {"name", o.name},
                           {"max_message_size", o.max_message_size},
                           {"chunks_per_class", o.chunks_per_class},
                           {"max_metadata_size", o.max_metadata_size}});
    }
    protocol::Json connections = protocol::Json::array();
    for (const auto& c : spec.connections) {
        connections.push_back({{"output", c.output},
                               {"receiver", c.receiver},
                               {"queue_size", c.queue_size},
                               {"input", c.input}});
    }
    return {{"uuid", to_string(spec.uuid)},
            {"generation", spec.generation},
            {"node_count", spec.node_count},
            {"outputs", outputs},
            {"connections", connections}};
}

namespace {

// `what` names the message in errors ("layout field 'x' ...", "node setup field 'x' ...").
template <typename T>
bool read_uint(const protocol::Json& j, const char* field, T& out, std::string& error,
               const char* what = "layout") {
    const auto it = j.find(field);
    if (it == j.end() || !it->is_number_unsigned() ||
        it->template get<std::uint64_t>() > std::numeric_limits<T>::max()) {
        error = std::string(what) + " field '" + field + "' missing or out of range";
        return false;
    }
    out = static_cast<T>(it->template get<std::uint64_t>());
    return true;
}

bool read_string(const protocol::Json& j, const char* field, std::string& out, std::string& error,
                 const char* what = "layout") {
    const auto it = j.find(field);
    if (it == j.end() || !it->is_string()) {
        error = std::string(what) + " field '" + field + "' missing or not a string";
        return false;
    }
    out = it->get<std::string>();
    return true;
}

// An optional field: absent leaves `out` as it is.
template <typename T>
bool read_optional_uint(const protocol::Json& j, const char* field, T& out, std::string& error,
                        const char* what) {
    return !j.contains(field) || read_uint(j, field, out, error, what);
}

bool read_optional_string(const protocol::Json& j, const char* field, std::string& out,
                          std::string& error, const char* what) {
    return !j.contains(field) || read_string(j, field, out, error, what);
}

bool read_optional_bool(const protocol::Json& j, const char* field, bool& out, std::string& error,
                        const char* what) {
    const auto it = j.find(field);
    if (it == j.end()) {
        return true;
    }
    if (!it->is_boolean()) {
        error = std::string(what) + " field '" + field + "' is not a boolean";
        return false;
    }
    out = it->get<bool>();
    return true;
}

constexpr const char* kSetup = "node setup";

} // namespace

std::expected<shm::LayoutSpec, std::string> layout_spec_from_json(const protocol::Json& json) {
    std::string error;
    if (!json.is_object()) {
        return std::unexpected("layout is not an object");
    }
    shm::LayoutSpec spec;
    std::string uuid_text;
    if (!read_string(json, "uuid", uuid_text, error) ||
        !read_uint(json, "generation", spec.generation, error) ||
        !read_uint(json, "node_count", spec.node_count, error)) {
        return std::unexpected(error);
    }
    auto uuid = parse_uuid(uuid_text);
    if (!uuid) {
        return std::unexpected("layout uuid is not a UUID");
    }
    spec.uuid = *uuid;
    const auto outputs = json.find("outputs");
    const auto connections = json.find("connections");
    if (outputs == json.end() || !outputs->is_array() || connections == json.end() ||
        !connections->is_array()) {
        return std::unexpected("layout outputs/connections missing");
    }
    for (const auto& o : *outputs) {
        shm::OutputSpec os;
        if (!o.is_object() || !read_uint(o, "owner", os.owner, error) ||
            !read_string(o, "name", os.name, error) ||
            !read_uint(o, "max_message_size", os.max_message_size, error) ||
            !read_uint(o, "chunks_per_class", os.chunks_per_class, error) ||
            !read_uint(o, "max_metadata_size", os.max_metadata_size, error)) {
            return std::unexpected(error.empty() ? "bad output entry" : error);
        }
        spec.outputs.push_back(std::move(os));
    }
    for (const auto& c : *connections) {
        shm::ConnectionSpec cs;
        if (!c.is_object() || !read_uint(c, "output", cs.output, error) ||
            !read_uint(c, "receiver", cs.receiver, error) ||
            !read_uint(c, "queue_size", cs.queue_size, error) ||
            !read_string(c, "input", cs.input, error)) {
            return std::unexpected(error.empty() ? "bad connection entry" : error);
        }
        spec.connections.push_back(std::move(cs));
    }
    return spec;
}

protocol::Json to_json(const NodeSetup& setup) {
    protocol::Json inputs = protocol::Json::array();
    for (const auto& in : setup.inputs) {
        inputs.push_back({{"id", in.id}, {"connection", in.connection}});
    }
    protocol::Json outputs = protocol::Json::array();
    for (const auto& out : setup.outputs) {
        outputs.push_back({{"id", out.id}, {"output", out.output}});
    }
    return {{"dataflow_id", setup.dataflow_id},
            {"dataflow_name", setup.dataflow_name},
            {"node_id", setup.node_id},
            {"node_index", setup.node_index},
            {"segment", setup.segment},
            {"inputs", inputs},
            {"outputs", outputs},
            {"busy_poll_us", setup.busy_poll_us},
            {"resume", setup.resume},
            {"closes_outputs", setup.closes_outputs}};
}

std::expected<NodeSetup, std::string> node_setup_from_json(const protocol::Json& json) {
    if (!json.is_object()) {
        return std::unexpected("node setup is not an object");
    }
    NodeSetup setup;
    std::string error;
    if (!read_string(json, "dataflow_id", setup.dataflow_id, error, kSetup) ||
        !read_optional_string(json, "dataflow_name", setup.dataflow_name, error, kSetup) ||
        !read_string(json, "node_id", setup.node_id, error, kSetup) ||
        !read_uint(json, "node_index", setup.node_index, error, kSetup) ||
        !read_optional_uint(json, "busy_poll_us", setup.busy_poll_us, error, kSetup) ||
        !read_optional_bool(json, "resume", setup.resume, error, kSetup) ||
        !read_optional_bool(json, "closes_outputs", setup.closes_outputs, error, kSetup)) {
        return std::unexpected(error);
    }
    const auto segment = json.find("segment");
    const auto inputs = json.find("inputs");
    const auto outputs = json.find("outputs");
    if (segment == json.end() || !segment->is_object()) {
        return std::unexpected("node setup field 'segment' missing or not an object");
    }
    if (inputs == json.end() || !inputs->is_array() || outputs == json.end() ||
        !outputs->is_array()) {
        return std::unexpected("node setup inputs/outputs missing");
    }
    setup.segment = *segment;
    for (const auto& in : *inputs) {
        NodeSetup::Input input;
        if (!in.is_object() || !read_string(in, "id", input.id, error, kSetup) ||
            !read_uint(in, "connection", input.connection, error, kSetup)) {
            return std::unexpected(error.empty() ? "bad input entry" : error);
        }
        setup.inputs.push_back(std::move(input));
    }
    for (const auto& out : *outputs) {
        NodeSetup::Output output;
        if (!out.is_object() || !read_string(out, "id", output.id, error, kSetup) ||
            !read_uint(out, "output", output.output, error, kSetup)) {
            return std::unexpected(error.empty() ? "bad output entry" : error);
        }
        setup.outputs.push_back(std::move(output));
    }
    return setup;
}

protocol::Json to_json(const TapSetup& setup) {
    protocol::Json outputs = protocol::Json::array();
    for (const auto& out : setup.outputs) {
        outputs.push_back(
            {{"name", out.name}, {"output", out.output}, {"connection", out.connection}});
    }
    return {{"dataflow_id", setup.dataflow_id},
            {"dataflow_name", setup.dataflow_name},
            {"tap", setup.tap},
            {"node_index", setup.node_index},
            {"segment", setup.segment},
            {"outputs", outputs}};
}

std::expected<TapSetup, std::string> tap_setup_from_json(const protocol::Json& json) {
    constexpr const char* kTap = "tap setup";
    if (!json.is_object()) {
        return std::unexpected("tap setup is not an object");
    }
    TapSetup setup;
    std::string error;
    if (!read_string(json, "dataflow_id", setup.dataflow_id, error, kTap) ||
        !read_optional_string(json, "dataflow_name", setup.dataflow_name, error, kTap) ||
        !read_uint(json, "tap", setup.tap, error, kTap) ||
        !read_uint(json, "node_index", setup.node_index, error, kTap)) {
        return std::unexpected(error);
    }
    const auto segment = json.find("segment");
    if (segment == json.end() || !segment->is_object()) {
        return std::unexpected("tap setup field 'segment' missing or not an object");
    }
    setup.segment = *segment;
    const auto outputs = json.find("outputs");
    if (outputs == json.end() || !outputs->is_array()) {
        return std::unexpected("tap setup field 'outputs' missing or not an array");
    }
    for (const auto& out : *outputs) {
        TapSetup::Output output;
        if (!out.is_object() || !read_string(out, "name", output.name, error, kTap) ||
            !read_uint(out, "output", output.output, error, kTap) ||
            !read_uint(out, "connection", output.connection, error, kTap)) {
            return std::unexpected(error.empty() ? "bad tap output entry" : error);
        }
        setup.outputs.push_back(std::move(output));
    }
    return setup;
}

} // namespace zeroflow::wire
