// The parameters codec (writer into a chunk, bounds-checked reader) and DataType names.
//
// Encoding, little-endian, no padding, records back to back until metadata_size bytes:
//   u8 key length (1..255), key bytes, u8 ParameterKind, value:
//     boolean: u8 0/1 | int64, float64: 8 bytes | string: u32 length, bytes
//     int64_list, float64_list: u32 count, count x 8 bytes
//     string_list: u32 count, then count x (u32 length, bytes)
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <zeroflow/runtime/metadata.hpp>
#include <zeroflow/runtime/types.hpp>

namespace zeroflow {

static_assert(std::endian::native == std::endian::little,
              "the metadata encoding is written for little-endian machines (x86-64, arm64)");

std::string_view to_string(DataType type) noexcept {
    switch (type) {
    case DataType::bytes:
        return "bytes";
    case DataType::u8:
        return "u8";
    case DataType::i8:
        return "i8";
    case DataType::u16:
        return "u16";
    case DataType::i16:
        return "i16";
    case DataType::u32:
        return "u32";
    case DataType::i32:
        return "i32";
    case DataType::u64:
        return "u64";
    case DataType::i64:
        return "i64";
    case DataType::f32:
        return "f32";
    case DataType::f64:
        return "f64";
    case DataType::boolean:
        return "bool";
    }
    return "bytes";
}

std::optional<DataType> parse_data_type(std::string_view name) noexcept {
    static constexpr std::pair<std::string_view, DataType> kNames[] = {
        {"bytes", DataType::bytes},  {"u8", DataType::u8},           {"uint8", DataType::u8},
        {"i8", DataType::i8},        {"int8", DataType::i8},         {"u16", DataType::u16},
        {"uint16", DataType::u16},   {"i16", DataType::i16},         {"int16", DataType::i16},
        {"u32", DataType::u32},      {"uint32", DataType::u32},      {"i32", DataType::i32},
        {"int32", DataType::i32},    {"u64", DataType::u64},         {"uint64", DataType::u64},
        {"i64", DataType::i64},      {"int64", DataType::i64},       {"f32", DataType::f32},
        {"float32", DataType::f32},  {"f64", DataType::f64},         {"float64", DataType::f64},
        {"bool", DataType::boolean}, {"boolean", DataType::boolean},
    };
    for (const auto& [text, type] : kNames) {
        if (text == name) {
            return type;
        }
    }
    return std::nullopt;
}

namespace detail {

struct MetadataRecord {
    std::string_view key;
    ParameterKind kind = ParameterKind::boolean;
    const std::byte* value = nullptr;
    std::size_t value_size = 0;
    std::size_t offset = 0; ///< of the record's first byte
    std::size_t size = 0;   ///< of the whole record
};

} // namespace detail

namespace {

using Record = detail::MetadataRecord;

std::uint32_t read_u32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

void write_u32(std::byte* p, std::uint32_t v) noexcept {
    std::memcpy(p, &v, sizeof(v));
}

/// Size of the value of `kind` at data[pos, size), or nullopt when it does not fit.
std::optional<std::size_t> value_size(const std::byte* data, std::size_t pos, std::size_t size,
                                      ParameterKind kind) noexcept {
    const auto left = size - pos;
    switch (kind) {
    case ParameterKind::boolean:
        return left >= 1 ? std::optional<std::size_t>(1) : std::nullopt;
    case ParameterKind::int64:
    case ParameterKind::float64:
        return left >= 8 ? std::optional<std::size_t>(8) : std::nullopt;
    case ParameterKind::string: {
        if (left < 4) {
            return std::nullopt;
        }
        const std::size_t n = read_u32(data + pos);
        return n <= left - 4 ? std::optional<std::size_t>(4 + n) : std::nullopt;
    }
    case ParameterKind::int64_list:
    case ParameterKind::float64_list: {
        if (left < 4) {
            return std::nullopt;
        }
        const std::size_t n = read_u32(data + pos);
        return n <= (left - 4) / 8 ? std::optional<std::size_t>(4 + n * 8) : std::nullopt;
    }
    case ParameterKind::string_list: {
        if (left < 4) {
            return std::nullopt;
        }
        const std::size_t n = read_u32(data + pos);
        std::size_t used = 4;
        // Bounded: each element takes at least 4 bytes of what is left.
        for (std::size_t i = 0; i < n; ++i) {
            if (left - used < 4) {
                return std::nullopt;
            }
            const std::size_t len = read_u32(data + pos + used);
            if (len > left - used - 4) {
                return std::nullopt;
            }
            used += 4 + len;
        }
        return used;
    }
    }
    return std::nullopt;
}

/// Calls f(record) for each record until f returns true (found) or the end; returns
/// {well_formed, found}.
template <typename F>
std::pair<bool, bool> walk(const std::byte* data, std::size_t size, F&& f) noexcept {
    std::size_t pos = 0;
    while (pos < size) {
        Record r;
        r.offset = pos;
        const std::size_t key_len = std::to_integer<std::size_t>(data[pos]);
        if (key_len == 0 || key_len + 2 > size - pos) {
            return {false, false};
        }
        r.key = std::string_view(reinterpret_cast<const char*>(data + pos + 1), key_len);
        const auto kind = std::to_integer<std::uint8_t>(data[pos + 1 + key_len]);
        if (kind < 1 || kind > 7) {
            return {false, false};
        }
        r.kind = static_cast<ParameterKind>(kind);
        pos += key_len + 2;
        const auto vs = value_size(data, pos, size, r.kind);
        if (!vs) {
            return {false, false};
        }
        r.value = data + pos;
        r.value_size = *vs;
        pos += *vs;
        r.size = pos - r.offset;
        if (f(r)) {
            return {true, true};
        }
    }
    return {true, false};
}

/// The first record of `key`. With `whole` the walk goes on to the end (so that a malformed
/// tail makes it fail: nullopt); without it, it stops at the match (the caller knows the area
/// is well formed).
std::optional<Record> find(const std::byte* data, std::size_t size, std::string_view key,
                           bool whole) noexcept {
    std::optional<Record> found;
    const auto [ok, stopped] = walk(data, size, [&](const Record& r) {
        if (!found && r.key == key) {
            found = r;
            return !whole;
        }
        return false;
    });
    (void)stopped;
    return ok ? found : std::nullopt;
}

std::vector<std::string_view> strings_of(const Record& r) {
    std::vector<std::string_view> out;
    const std::size_t n = read_u32(r.value);
    out.reserve(n);
    std::size_t pos = 4;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t len = read_u32(r.value + pos);
        out.emplace_back(reinterpret_cast<const char*>(r.value + pos + 4), len);
        pos += 4 + len;
    }
    return out;
}

template <typename T>
std::vector<T> numbers_of(const Record& r) {
    const std::size_t n = read_u32(r.value);
    std::vector<T> out(n);
    if (n != 0) {
        std::memcpy(out.data(), r.value + 4, n * sizeof(T));
    }
    return out;
}

} // namespace

// ---- MetadataView ----------------------------------------------------------------------------

bool MetadataView::ok() const noexcept {
    // Checked once per view: the bytes are the sender's to write only while it owns the chunk,
    // and every later read is bounds-checked again whatever they became since.
    if (validity_ == Validity::unknown) {
        validity_ = walk(data_, size_, [](const Record&) { return false; }).first
                        ? Validity::valid
                        : Validity::invalid;
    }
    return validity_ == Validity::valid;
}

std::optional<Record> MetadataView::lookup(std::string_view key) const noexcept {
    if (!ok()) {
        return std::nullopt;
    }
    return find(data_, size_, key, false);
}

bool MetadataView::empty() const noexcept {
    return size_ == 0 || !ok();
}

std::vector<std::string_view> MetadataView::keys() const {
    std::vector<std::string_view> out;
    if (!walk(data_, size_, [&](const Record& r) {
             out.push_back(r.key);
             return false;
         }).first) {
        out.clear();
    }
    return out;
}

std::vector<Parameter> MetadataView::entries() const {
    std::vector<Parameter> out;
    const bool ok = walk(data_, size_, [&](const Record& r) {
                        Parameter p;
                        p.key = r.key;
                        p.kind = r.kind;
                        switch (r.kind) {
                        case ParameterKind::boolean:
                            p.boolean = std::to_integer<std::uint8_t>(r.value[0]) != 0;
                            break;
                        case ParameterKind::int64:
                            std::memcpy(&p.int64, r.value, 8);
                            break;
                        case ParameterKind::float64:
                            std::memcpy(&p.float64, r.value, 8);
                            break;
                        case ParameterKind::string:
                            p.string = std::string_view(reinterpret_cast<const char*>(r.value + 4),
                                                        r.value_size - 4);
                            break;
                        case ParameterKind::int64_list:
                            p.int64_list = numbers_of<std::int64_t>(r);
                            break;
                        case ParameterKind::float64_list:
                            p.float64_list = numbers_of<double>(r);
                            break;
                        case ParameterKind::string_list:
                            p.string_list = strings_of(r);
                            break;
                        }
                        out.push_back(std::move(p));
                        return false;
                    }).first;
    if (!ok) {
        out.clear();
    }
    return out;
}

std::optional<ParameterKind> MetadataView::kind(std::string_view key) const noexcept {
    const auto r = lookup(key);
    return r ? std::optional<ParameterKind>(r->kind) : std::nullopt;
}

std::optional<bool> MetadataView::get_bool(std::string_view key) const noexcept {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::boolean) {
        return std::nullopt;
    }
    return std::to_integer<std::uint8_t>(r->value[0]) != 0;
}

std::optional<std::int64_t> MetadataView::get_int(std::string_view key) const noexcept {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::int64) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    std::memcpy(&v, r->value, sizeof(v));
    return v;
}

std::optional<double> MetadataView::get_double(std::string_view key) const noexcept {
    const auto r = lookup(key);
    if (!r) {
        return std::nullopt;
    }
    if (r->kind == ParameterKind::float64) {
        double v = 0;
        std::memcpy(&v, r->value, sizeof(v));
        return v;
    }
    if (r->kind == ParameterKind::int64) {
        std::int64_t v = 0;
        std::memcpy(&v, r->value, sizeof(v));
        return static_cast<double>(v);
    }
    return std::nullopt;
}

std::optional<std::string_view> MetadataView::get_string(std::string_view key) const noexcept {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::string) {
        return std::nullopt;
    }
    return std::string_view(reinterpret_cast<const char*>(r->value + 4), r->value_size - 4);
}

std::optional<std::vector<std::int64_t>> MetadataView::get_int_list(std::string_view key) const {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::int64_list) {
        return std::nullopt;
    }
    return numbers_of<std::int64_t>(*r);
}

std::optional<std::vector<double>> MetadataView::get_double_list(std::string_view key) const {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::float64_list) {
        return std::nullopt;
    }
    return numbers_of<double>(*r);
}

std::optional<std::vector<std::string_view>>
MetadataView::get_string_list(std::string_view key) const {
    const auto r = lookup(key);
    if (!r || r->kind != ParameterKind::string_list) {
        return std::nullopt;
    }
    return strings_of(*r);
}

// ---- SampleMetadata --------------------------------------------------------------------------

void SampleMetadata::note(Problem problem, std::string_view key, std::size_t needed) {
    if (problem_ == Problem::none) {
        problem_ = problem;
        problem_key_ = std::string(key.substr(0, kMaxParameterKey));
        needed_ = needed;
    } else if (problem_ == Problem::too_large && problem == Problem::too_large) {
        needed_ = std::max(needed_, needed);
    }
}

SampleMetadata& SampleMetadata::fail_value(std::string_view key) {
    note(Problem::bad_value, key);
    return *this;
}

bool SampleMetadata::erase(std::string_view key) noexcept {
    const auto r = find(data_, used_, key, true);
    if (!r) {
        return false;
    }
    std::memmove(data_ + r->offset, data_ + r->offset + r->size, used_ - r->offset - r->size);
    used_ -= r->size;
    return true;
}

void SampleMetadata::clear() noexcept {
    used_ = 0;
    needed_ = 0;
    problem_ = Problem::none;
    problem_key_.clear();
}

std::byte* SampleMetadata::reserve(std::string_view key, ParameterKind kind,
                                   std::size_t value_size) {
    if (key.empty() || key.size() > kMaxParameterKey) {
        note(Problem::bad_key, key);
        return nullptr;
    }
    // Replacing keeps the key's place: the records after it move up over the old value.
    std::size_t at = used_;
    std::size_t old_size = 0;
    if (const auto r = find(data_, used_, key, true)) {
        at = r->offset;
        old_size = r->size;
    }
    const std::size_t record = 2 + key.size() + value_size;
    const std::size_t total = used_ - old_size + record;
    if (total > capacity_ || data_ == nullptr) {
        note(Problem::too_large, key, total);
        return nullptr;
    }
    if (old_size != 0) {
        const std::size_t tail = used_ - at - old_size;
        std::memmove(data_ + at + record, data_ + at + old_size, tail);
    }
    data_[at] = static_cast<std::byte>(key.size());
    std::memcpy(data_ + at + 1, key.data(), key.size());
    data_[at + 1 + key.size()] = static_cast<std::byte>(kind);
    used_ = total;
    return data_ + at + 2 + key.size();
}

SampleMetadata& SampleMetadata::set_bool(std::string_view key, bool value) {
    if (auto* p = reserve(key, ParameterKind::boolean, 1)) {
        *p = static_cast<std::byte>(value ? 1 : 0);
    }
    return *this;
}

SampleMetadata& SampleMetadata::set(std::string_view key, bool value) {
    return set_bool(key, value);
}

SampleMetadata& SampleMetadata::set_int(std::string_view key, std::int64_t value) {
    if (auto* p = reserve(key, ParameterKind::int64, 8)) {
        std::memcpy(p, &value, 8);
    }
    return *this;
}

SampleMetadata& SampleMetadata::set_double(std::string_view key, double value) {
    if (auto* p = reserve(key, ParameterKind::float64, 8)) {
        std::memcpy(p, &value, 8);
    }
    return *this;
}

SampleMetadata& SampleMetadata::set_string(std::string_view key, std::string_view value) {
    if (value.size() > std::numeric_limits<std::uint32_t>::max()) {
        return fail_value(key);
    }
    if (auto* p = reserve(key, ParameterKind::string, 4 + value.size())) {
        write_u32(p, static_cast<std::uint32_t>(value.size()));
        std::memcpy(p + 4, value.data(), value.size());
    }
    return *this;
}

SampleMetadata& SampleMetadata::set_int_list(std::string_view key,
                                             std::span<const std::int64_t> value) {
    return set_numbers(key, ParameterKind::int64_list, value.data(), value.size());
}

SampleMetadata& SampleMetadata::set_double_list(std::string_view key,
                                                std::span<const double> value) {
    return set_numbers(key, ParameterKind::float64_list, value.data(), value.size());
}

SampleMetadata& SampleMetadata::set_numbers(std::string_view key, ParameterKind kind,
                                            const void* values, std::size_t count) {
    if (count > std::numeric_limits<std::uint32_t>::max() / 8) {
        return fail_value(key);
    }
    if (auto* p = reserve(key, kind, 4 + count * 8)) {
        write_u32(p, static_cast<std::uint32_t>(count));
        if (count != 0) {
            std::memcpy(p + 4, values, count * 8);
        }
    }
    return *this;
}

SampleMetadata& SampleMetadata::set_string_list(std::string_view key,
                                                std::span<const std::string_view> value) {
    std::size_t bytes = 4;
    for (const auto& s : value) {
        if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
            return fail_value(key);
        }
        bytes += 4 + s.size();
    }
    if (value.size() > std::numeric_limits<std::uint32_t>::max()) {
        return fail_value(key);
    }
    if (auto* p = reserve(key, ParameterKind::string_list, bytes)) {
        write_u32(p, static_cast<std::uint32_t>(value.size()));
        std::size_t pos = 4;
        for (const auto& s : value) {
            write_u32(p + pos, static_cast<std::uint32_t>(s.size()));
            std::memcpy(p + pos + 4, s.data(), s.size());
            pos += 4 + s.size();
        }
    }
    return *this;
}

} // namespace zeroflow
