// zeroflow.Message in protobuf wire format, written and read by hand (no protobuf library):
//   message Message {
//     uint64 sequence = 1; uint64 timestamp_ns = 2; uint64 wall_time_ns = 3;
//     string dtype = 4; repeated uint64 shape = 5; string encoding = 6;
//     bytes parameters = 7; string parameters_json = 8; bytes data = 9;
//   }
#include "record_format.hpp"

#include <zeroflow/runtime/types.hpp>

namespace zeroflow::cli::record_format {
namespace {

void varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}

void tag(std::vector<std::uint8_t>& out, std::uint32_t field, std::uint32_t wire) {
    varint(out, (std::uint64_t{field} << 3) | wire);
}

void bytes_field(std::vector<std::uint8_t>& out, std::uint32_t field,
                 std::span<const std::uint8_t> bytes) {
    tag(out, field, 2);
    varint(out, bytes.size());
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void string_field(std::vector<std::uint8_t>& out, std::uint32_t field, std::string_view s) {
    bytes_field(out, field, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void uint_field(std::vector<std::uint8_t>& out, std::uint32_t field, std::uint64_t v) {
    tag(out, field, 0);
    varint(out, v);
}

/// FieldDescriptorProto: name 1, number 3, label 4 (1 optional, 3 repeated), type 5
/// (4 uint64, 9 string, 12 bytes), json_name 10.
std::vector<std::uint8_t> field(std::string_view name, std::uint32_t number, bool repeated,
                                std::uint32_t type) {
    std::vector<std::uint8_t> f;
    string_field(f, 1, name);
    uint_field(f, 3, number);
    uint_field(f, 4, repeated ? 3 : 1);
    uint_field(f, 5, type);
    return f;
}

struct Reader {
    std::span<const std::uint8_t> data;
    std::size_t at = 0;
    bool ok = true;
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64 && at < data.size(); shift += 7) {
            const auto b = data[at++];
            v |= std::uint64_t{b & 0x7fU} << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        ok = false;
        return 0;
    }
    std::span<const std::uint8_t> bytes() {
        const auto n = varint();
        if (!ok || n > data.size() - at) {
            ok = false;
            return {};
        }
        const auto out = data.subspan(at, n);
        at += n;
        return out;
    }
};

constexpr const char* kNames[] = {"bytes", "u8",  "i8",  "u16", "i16", "u32",
                                  "i32",   "u64", "i64", "f32", "f64", "bool"};

} // namespace

std::string dtype_name(std::uint8_t code) {
    return code <= kLastDataType ? kNames[code] : "bytes";
}

std::uint8_t dtype_code(const std::string& name) {
    for (std::uint8_t k = 0; k <= kLastDataType; ++k) {
        if (name == kNames[k]) {
            return k;
        }
    }
    return 0;
}

std::vector<std::uint8_t> schema() {
    std::vector<std::uint8_t> message;
    string_field(message, 1, "Message");
    const std::vector<std::vector<std::uint8_t>> fields = {
        field("sequence", 1, false, 4),     field("timestamp_ns", 2, false, 4),
        field("wall_time_ns", 3, false, 4), field("dtype", 4, false, 9),
        field("shape", 5, true, 4),         field("encoding", 6, false, 9),
        field("parameters", 7, false, 12),  field("parameters_json", 8, false, 9),
        field("data", 9, false, 12)};
    for (const auto& f : fields) {
        bytes_field(message, 2, f);
    }
    std::vector<std::uint8_t> file;
    string_field(file, 1, "zeroflow/message.proto");
    string_field(file, 2, "zeroflow");
    bytes_field(file, 4, message);
    string_field(file, 12, "proto3");
    std::vector<std::uint8_t> set;
    bytes_field(set, 1, file);
    return set;
}

std::vector<std::uint8_t> encode_prefix(const Fields& f, std::uint64_t payload_size) {
    std::vector<std::uint8_t> out;
    out.reserve(64 + f.parameters.size() * 3 + f.encoding.size());
    uint_field(out, 1, f.sequence);
    uint_field(out, 2, f.timestamp_ns);
    uint_field(out, 3, f.wall_time_ns);
    string_field(out, 4, dtype_name(f.dtype));
    if (!f.shape.empty()) {
        std::vector<std::uint8_t> packed;
        for (auto d : f.shape) {
            varint(packed, d);
        }
        bytes_field(out, 5, packed);
    }
    if (!f.encoding.empty()) {
        string_field(out, 6, f.encoding);
    }
    if (!f.parameters.empty()) {
        bytes_field(out, 7, f.parameters);
        string_field(out, 8, f.parameters_json);
    }
    tag(out, 9, 2);
    varint(out, payload_size);
    return out;
}

std::expected<Fields, std::string> decode(std::span<const std::uint8_t> data,
                                          std::span<const std::uint8_t>& payload) {
    Fields f;
    Reader r{data};
    payload = {};
    while (r.ok && r.at < data.size()) {
        const auto key = r.varint();
        const auto number = key >> 3;
        const auto wire = key & 7;
        if (wire == 0) {
            const auto v = r.varint();
            if (number == 1) {
                f.sequence = v;
            } else if (number == 2) {
                f.timestamp_ns = v;
            } else if (number == 3) {
                f.wall_time_ns = v;
            } else if (number == 5) {
                f.shape.push_back(v); // unpacked form
            }
        } else if (wire == 2) {
            const auto b = r.bytes();
            const std::string text(b.begin(), b.end());
            switch (number) {
            case 4:
                f.dtype = dtype_code(text);
                break;
            case 5: {
                Reader p{b};
                while (p.ok && p.at < b.size()) {
                    f.shape.push_back(p.varint());
                }
                r.ok = r.ok && p.ok;
                break;
            }
            case 6:
                f.encoding = text;
                break;
            case 7:
                f.parameters.assign(b.begin(), b.end());
                break;
            case 8:
                f.parameters_json = text;
                break;
            case 9:
                payload = b;
                break;
            default:
                break;
            }
        } else {
            return std::unexpected("a field of wire type " + std::to_string(wire) +
                                   " (not a zeroflow.Message)");
        }
    }
    if (!r.ok) {
        return std::unexpected("a truncated or malformed zeroflow.Message");
    }
    return f;
}

} // namespace zeroflow::cli::record_format
