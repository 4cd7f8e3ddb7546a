// Formatting observed messages for `zeroflow topic echo` (text and JSON).
#include "message_text.hpp"

#include <array>
#include <cstring>
#include <ctime>
#include <sstream>

namespace zeroflow::cli {

using protocol::Json;

MessageDescription describe(const shm::Delivery& d) {
    MessageDescription m;
    if (d.encoding_size != 0) {
        m.encoding.assign(reinterpret_cast<const char*>(d.metadata + shm::kEncodingOffset),
                          d.encoding_size);
    }
    if (d.metadata_size != 0) {
        m.parameters = MetadataView(d.metadata + shm::kParametersOffset, d.metadata_size);
    }
    if (d.dtype > kLastDataType) {
        return m;
    }
    const auto dtype = static_cast<DataType>(d.dtype);
    std::array<std::uint64_t, kMaxDims> shape{};
    std::memcpy(shape.data(), d.metadata + shm::kShapeOffset, d.ndim * sizeof(std::uint64_t));
    std::uint64_t bytes = element_size(dtype);
    for (std::uint8_t k = 0; k < d.ndim; ++k) {
        if (__builtin_mul_overflow(bytes, shape[k], &bytes)) {
            return m;
        }
    }
    if (d.ndim != 0 ? bytes != d.size : d.size % element_size(dtype) != 0) {
        return m;
    }
    m.dtype = dtype;
    m.shape.assign(shape.begin(), shape.begin() + d.ndim);
    return m;
}

Json parameters_json(const MetadataView& view) {
    Json j = Json::object();
    for (const auto& p : view.entries()) {
        const std::string key(p.key);
        switch (p.kind) {
        case ParameterKind::boolean:
            j[key] = p.boolean;
            break;
        case ParameterKind::int64:
            j[key] = p.int64;
            break;
        case ParameterKind::float64:
            j[key] = p.float64;
            break;
        case ParameterKind::string:
            j[key] = std::string(p.string);
            break;
        case ParameterKind::int64_list:
            j[key] = p.int64_list;
            break;
        case ParameterKind::float64_list:
            j[key] = p.float64_list;
            break;
        case ParameterKind::string_list: {
            Json list = Json::array();
            for (auto s : p.string_list) {
                list.push_back(std::string(s));
            }
            j[key] = list;
            break;
        }
        }
    }
    return j;
}

bool is_text_encoding(const std::string& encoding) {
    return encoding == "utf-8" || encoding == "utf8" || encoding == "UTF-8" ||
           encoding == "string" || encoding == "text" || encoding.starts_with("text/");
}

namespace {

template <typename T>
T element(const std::byte* data, std::size_t i) {
    T value{};
    std::memcpy(&value, data + i * sizeof(T), sizeof(T));
    return value;
}

Json value_at(DataType type, const std::byte* data, std::size_t i) {
    switch (type) {
    case DataType::u8:
        return element<std::uint8_t>(data, i);
    case DataType::i8:
        return element<std::int8_t>(data, i);
    case DataType::u16:
        return element<std::uint16_t>(data, i);
    case DataType::i16:
        return element<std::int16_t>(data, i);
    case DataType::u32:
        return element<std::uint32_t>(data, i);
    case DataType::i32:
        return element<std::int32_t>(data, i);
    case DataType::u64:
        return element<std::uint64_t>(data, i);
    case DataType::i64:
        return element<std::int64_t>(data, i);
    case DataType::f32:
        return element<float>(data, i);
    case DataType::f64:
        return element<double>(data, i);
    case DataType::boolean:
        return element<std::uint8_t>(data, i) != 0;
    case DataType::bytes:
        break;
    }
    return element<std::uint8_t>(data, i);
}

std::string hex(const std::byte* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        const auto b = static_cast<unsigned>(data[i]);
        if (i != 0) {
            out += ' ';
        }
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

/// Valid UTF-8 prefix of at most `max` bytes (never cuts a character in two); the rest of an
/// invalid sequence becomes U+FFFD so the JSON stays valid.
std::string text_prefix(const std::byte* data, std::size_t size, std::size_t max) {
    std::string out;
    std::size_t i = 0;
    while (i < size && i < max) {
        const auto c = static_cast<unsigned char>(data[i]);
        std::size_t len = c < 0x80         ? 1
                          : (c >> 5) == 6  ? 2
                          : (c >> 4) == 14 ? 3
                          : (c >> 3) == 30 ? 4
                                           : 0;
        bool ok = len != 0 && i + len <= size;
        for (std::size_t k = 1; ok && k < len; ++k) {
            ok = (static_cast<unsigned char>(data[i + k]) & 0xc0) == 0x80;
        }
        if (!ok) {
            out += "\xef\xbf\xbd";
            ++i;
            continue;
        }
        if (i + len > max) {
            break;
        }
        out.append(reinterpret_cast<const char*>(data + i), len);
        i += len;
    }
    return out;
}

} // namespace

Json message_json(const std::string& output, const shm::Delivery& d, std::size_t max_values,
                  std::size_t max_bytes) {
    const auto m = describe(d);
    Json j{{"output", output},
           {"sequence", d.sequence},
           {"timestamp_ns", d.timestamp_ns},
           {"wall_time_ns", d.wall_time_ns},
           {"size", d.size},
           {"dtype", std::string(to_string(m.dtype))},
           {"shape", m.shape},
           {"encoding", m.encoding},
           {"parameters", parameters_json(m.parameters)}};
    if (m.dtype != DataType::bytes) {
        const auto count = d.size / element_size(m.dtype);
        Json values = Json::array();
        for (std::size_t i = 0; i < count && i < max_values; ++i) {
            values.push_back(value_at(m.dtype, d.data, i));
        }
        j["values"] = values;
        j["truncated"] = count > max_values;
    } else if (is_text_encoding(m.encoding)) {
        j["text"] = text_prefix(d.data, d.size, max_bytes * 16);
        j["truncated"] = d.size > max_bytes * 16;
    } else {
        j["hex"] = hex(d.data, std::min<std::size_t>(d.size, max_bytes));
        j["truncated"] = d.size > max_bytes;
    }
    return j;
}

std::string message_text(const std::string& output, const shm::Delivery& d, std::size_t max_values,
                         std::size_t max_bytes) {
    const auto j = message_json(output, d, max_values, max_bytes);
    std::ostringstream out;
    const auto wall = static_cast<std::time_t>(d.wall_time_ns / 1'000'000'000ULL);
    std::tm tm{};
    ::gmtime_r(&wall, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    char nanos[16];
    std::snprintf(nanos, sizeof(nanos), ".%09lluZ",
                  static_cast<unsigned long long>(d.wall_time_ns % 1'000'000'000ULL));
    out << "--- " << output << " #" << d.sequence << "  " << when << nanos << "\n";
    out << "size: " << d.size << " bytes  dtype: " << j["dtype"].get<std::string>();
    if (!j["shape"].empty()) {
        out << "  shape: " << j["shape"].dump();
    }
    if (!j["encoding"].get<std::string>().empty()) {
        out << "  encoding: " << j["encoding"].get<std::string>();
    }
    out << "\n";
    if (!j["parameters"].empty()) {
        out << "parameters: " << j["parameters"].dump() << "\n";
    }
    const bool truncated = j.value("truncated", false);
    if (j.contains("values")) {
        out << "values: " << j["values"].dump() << (truncated ? " ..." : "") << "\n";
    } else if (j.contains("text")) {
        out << "text: " << j["text"].get<std::string>() << (truncated ? " ..." : "") << "\n";
    } else {
        out << "hex: " << j["hex"].get<std::string>() << (truncated ? " ..." : "") << "\n";
    }
    return out.str();
}

} // namespace zeroflow::cli
