// Element types of messages: what a message's bytes are an array of. The numeric values are
// the codes chunks carry in shared memory (docs/design/shm.md); they never change meaning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace zeroflow {

/// A message's element type. `bytes` is what every message is unless its sender says more.
/// (`bool` is a C++ keyword: its enumerator is `boolean`; its name is "bool".)
enum class DataType : std::uint8_t {
    bytes = 0,
    u8 = 1,
    i8 = 2,
    u16 = 3,
    i16 = 4,
    u32 = 5,
    i32 = 6,
    u64 = 7,
    i64 = 8,
    f32 = 9,
    f64 = 10,
    boolean = 11,
};

inline constexpr std::uint8_t kLastDataType = 11;
/// Most dimensions a message's shape may have.
inline constexpr std::size_t kMaxDims = 8;
/// Most bytes of a message's encoding string.
inline constexpr std::size_t kMaxEncodingSize = 63;

/// Bytes of one element (1 for bytes and bool).
constexpr std::size_t element_size(DataType type) noexcept {
    switch (type) {
    case DataType::u16:
    case DataType::i16:
        return 2;
    case DataType::u32:
    case DataType::i32:
    case DataType::f32:
        return 4;
    case DataType::u64:
    case DataType::i64:
    case DataType::f64:
        return 8;
    default:
        return 1;
    }
}

/// "bytes", "u8", ..., "f64", "bool".
std::string_view to_string(DataType type) noexcept;

/// Parses zeroflow's names ("u8", "f32", "bool", "bytes") and numpy's ("uint8", "float32",
/// "int64", "bool"); nullopt for anything else.
std::optional<DataType> parse_data_type(std::string_view name) noexcept;

/// The DataType of a C++ element type (compile error for a type that has none).
template <typename T>
constexpr DataType data_type_of() noexcept {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        return DataType::boolean;
    } else if constexpr (std::is_same_v<U, std::byte>) {
        return DataType::bytes;
    } else if constexpr (std::is_same_v<U, float>) {
        return DataType::f32;
    } else if constexpr (std::is_same_v<U, double>) {
        return DataType::f64;
    } else if constexpr (std::is_integral_v<U> && !std::is_same_v<U, char>) {
        constexpr bool is_signed = std::is_signed_v<U>;
        if constexpr (sizeof(U) == 1) {
            return is_signed ? DataType::i8 : DataType::u8;
        } else if constexpr (sizeof(U) == 2) {
            return is_signed ? DataType::i16 : DataType::u16;
        } else if constexpr (sizeof(U) == 4) {
            return is_signed ? DataType::i32 : DataType::u32;
        } else {
            static_assert(sizeof(U) == 8, "no DataType for this integer type");
            return is_signed ? DataType::i64 : DataType::u64;
        }
    } else {
        static_assert(sizeof(U) == 0, "no zeroflow::DataType for this element type");
        return DataType::bytes;
    }
}

} // namespace zeroflow
