// libFuzzer target: the message-parameters decoder (MetadataView) on arbitrary bytes, as a
// receiver finds them in a scribbled chunk. Checks, beyond "no crash, no UB, no out-of-bounds
// read": keys() and entries() agree; every key's kind() and typed get<>() agree with its entry;
// and a well-formed area with unique keys re-encodes (SampleMetadata) to the very same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <zeroflow/runtime/metadata.hpp>

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // An exact-size copy: ASan flags any read past the area's end.
    std::vector<std::byte> area(size);
    if (size != 0) {
        std::memcpy(area.data(), data, size);
    }
    const zeroflow::MetadataView sut(area.data(), area.size());
    const auto keys = sut.keys();
    const auto entries = sut.entries();
    check(keys.size() == entries.size());
    check(!sut.ok() ? keys.empty() && sut.empty() : true);

    std::set<std::string_view> unique;
    for (const auto& e : entries) {
        unique.insert(e.key);
    }
    for (const auto& e : entries) {
        check(sut.kind(e.key).has_value());
        if (unique.size() != entries.size()) {
            continue; // a duplicate key: lookups find its first record only
        }
        check(*sut.kind(e.key) == e.kind);
        using K = zeroflow::ParameterKind;
        switch (e.kind) {
        case K::boolean:
            check(sut.get<bool>(e.key) == e.boolean);
            break;
        case K::int64:
            check(sut.get<std::int64_t>(e.key) == e.int64);
            break;
        case K::float64: {
            const auto v = sut.get<double>(e.key);
            check(v.has_value() && std::memcmp(&*v, &e.float64, sizeof(double)) == 0);
            break;
        }
        case K::string:
            check(sut.get<std::string_view>(e.key) == e.string);
            break;
        case K::int64_list:
            check(sut.get<std::vector<std::int64_t>>(e.key) == e.int64_list);
            break;
        case K::float64_list:
            check(sut.get<std::vector<double>>(e.key)->size() == e.float64_list.size());
            break;
        case K::string_list:
            check(sut.get<std::vector<std::string_view>>(e.key) == e.string_list);
            break;
        }
    }

    if (sut.ok() && unique.size() == entries.size()) {
        std::vector<std::byte> again(size + 1);
        zeroflow::SampleMetadata writer(again.data(), size);
        for (const auto& e : entries) {
            using K = zeroflow::ParameterKind;
            switch (e.kind) {
            case K::boolean:
                writer.set_bool(e.key, e.boolean);
                break;
            case K::int64:
                writer.set_int(e.key, e.int64);
                break;
            case K::float64:
                writer.set_double(e.key, e.float64);
                break;
            case K::string:
                writer.set_string(e.key, e.string);
                break;
            case K::int64_list:
                writer.set_int_list(e.key, e.int64_list);
                break;
            case K::float64_list:
                writer.set_double_list(e.key, e.float64_list);
                break;
            case K::string_list:
                writer.set_string_list(e.key, e.string_list);
                break;
            }
        }
        check(writer.problem() == zeroflow::SampleMetadata::Problem::none);
        check(writer.size() == size);
        // Booleans other than 0/1 decode as true and re-encode as 1: compare decoded values
        // for those, bytes for everything else.
        bool odd_bool = false;
        for (const auto& e : entries) {
            odd_bool = odd_bool || e.kind == zeroflow::ParameterKind::boolean;
        }
        if (!odd_bool && size != 0) {
            check(std::memcmp(again.data(), area.data(), size) == 0);
        }
    }
    return 0;
}
