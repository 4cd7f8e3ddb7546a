// A message's parameters (dora's metadata parameters): string keys, in the order they were
// set, to bool, int64, double, string, or lists of int64 / double / string. Senders write them
// straight into the chunk (SampleMetadata); receivers read them where they lie (MetadataView),
// checking every length against the bounds they know, so a scribbled area reads as empty.
// The encoding is in docs/design/shm.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace zeroflow {

namespace detail {
struct MetadataRecord; ///< one decoded record (metadata.cpp)
}

/// The kind of one parameter's value. The numeric values are the codes in shared memory.
enum class ParameterKind : std::uint8_t {
    boolean = 1,
    int64 = 2,
    float64 = 3,
    string = 4,
    int64_list = 5,
    float64_list = 6,
    string_list = 7,
};

/// Longest parameter key, in bytes.
inline constexpr std::size_t kMaxParameterKey = 255;

/// One parameter as found in a message, for code that walks them all (bindings, tools).
/// Views point into the message's shared memory: valid while its Event lives.
struct Parameter {
    std::string_view key;
    ParameterKind kind = ParameterKind::boolean;
    bool boolean = false;
    std::int64_t int64 = 0;
    double float64 = 0;
    std::string_view string;
    std::vector<std::int64_t> int64_list;
    std::vector<double> float64_list;
    std::vector<std::string_view> string_list;
};

/// Reads the parameters of a received message. Cheap to copy (a pointer and a size). Every
/// accessor walks the encoded bytes with bounds checks: a malformed area (a scribbling peer)
/// makes ok() false and the view behave as empty; it never reads out of bounds.
class MetadataView {
public:
    MetadataView() = default;
    MetadataView(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}

    /// True when there are no parameters (or they cannot be read).
    bool empty() const noexcept;
    /// False when the encoded parameters are malformed.
    bool ok() const noexcept;
    /// The keys, in the order the sender set them.
    std::vector<std::string_view> keys() const;
    /// Every parameter, in order (empty when malformed).
    std::vector<Parameter> entries() const;
    /// The kind of `key`'s value; nullopt when there is no such key.
    std::optional<ParameterKind> kind(std::string_view key) const noexcept;
    /// The encoded bytes (for recorders that keep them as they are).
    std::span<const std::byte> raw() const noexcept { return {data_, size_}; }

    /// The value of `key` as T; nullopt when the key is missing or its value is of another
    /// kind. T: bool; any integer type (nullopt when the value does not fit); float or double
    /// (an int64 value converts); std::string_view or std::string; std::vector of int64_t,
    /// double, std::string_view or std::string.
    template <typename T>
    std::optional<T> get(std::string_view key) const {
        using U = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<U, bool>) {
            return get_bool(key);
        } else if constexpr (std::is_integral_v<U>) {
            const auto value = get_int(key);
            if (!value || !std::in_range<U>(*value)) {
                return std::nullopt;
            }
            return static_cast<U>(*value);
        } else if constexpr (std::is_floating_point_v<U>) {
            const auto value = get_double(key);
            if (!value) {
                return std::nullopt;
            }
            return static_cast<U>(*value);
        } else if constexpr (std::is_same_v<U, std::string_view>) {
            return get_string(key);
        } else if constexpr (std::is_same_v<U, std::string>) {
            const auto value = get_string(key);
            if (!value) {
                return std::nullopt;
            }
            return std::string(*value);
        } else if constexpr (std::is_same_v<U, std::vector<std::int64_t>>) {
            return get_int_list(key);
        } else if constexpr (std::is_same_v<U, std::vector<double>>) {
            return get_double_list(key);
        } else if constexpr (std::is_same_v<U, std::vector<std::string_view>>) {
            return get_string_list(key);
        } else if constexpr (std::is_same_v<U, std::vector<std::string>>) {
            auto views = get_string_list(key);
            if (!views) {
                return std::nullopt;
            }
            return std::vector<std::string>(views->begin(), views->end());
        } else {
            static_assert(sizeof(U) == 0, "unsupported parameter type");
        }
    }

    std::optional<bool> get_bool(std::string_view key) const noexcept;
    std::optional<std::int64_t> get_int(std::string_view key) const noexcept;
    /// A float64 value, or an int64 one converted.
    std::optional<double> get_double(std::string_view key) const noexcept;
    std::optional<std::string_view> get_string(std::string_view key) const noexcept;
    std::optional<std::vector<std::int64_t>> get_int_list(std::string_view key) const;
    std::optional<std::vector<double>> get_double_list(std::string_view key) const;
    std::optional<std::vector<std::string_view>> get_string_list(std::string_view key) const;

private:
    enum class Validity : std::uint8_t { unknown, valid, invalid };
    std::optional<detail::MetadataRecord> lookup(std::string_view key) const noexcept;

    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    mutable Validity validity_ = Validity::unknown; ///< ok()'s one walk, cached
};

/// Writes the parameters of a message being sent, straight into its chunk. Setting a key that
/// is already there replaces its value (the key keeps its place). Overflowing the output's
/// `max_metadata_size`, an empty or over-long key, or an integer that does not fit int64 is
/// remembered and makes node.send() fail (metadata_too_large or invalid_argument, with the
/// sizes); nothing is ever truncated.
class SampleMetadata {
public:
    SampleMetadata() = default;
    SampleMetadata(std::byte* data, std::size_t capacity) noexcept
        : data_(data), capacity_(capacity) {}

    SampleMetadata& set(std::string_view key, bool value);
    template <std::integral I>
    requires(!std::is_same_v<I, bool>) SampleMetadata& set(std::string_view key, I value) {
        if (!std::in_range<std::int64_t>(value)) {
            return fail_value(key);
        }
        return set_int(key, static_cast<std::int64_t>(value));
    }
    SampleMetadata& set(std::string_view key, double value) { return set_double(key, value); }
    SampleMetadata& set(std::string_view key, float value) { return set_double(key, value); }
    SampleMetadata& set(std::string_view key, std::string_view value) {
        return set_string(key, value);
    }
    SampleMetadata& set(std::string_view key, const char* value) {
        return set_string(key, value != nullptr ? std::string_view(value) : std::string_view());
    }
    SampleMetadata& set(std::string_view key, const std::string& value) {
        return set_string(key, value);
    }
    SampleMetadata& set(std::string_view key, std::span<const std::int64_t> value) {
        return set_int_list(key, value);
    }
    SampleMetadata& set(std::string_view key, const std::vector<std::int64_t>& value) {
        return set_int_list(key, value);
    }
    template <std::integral I>
    requires(!std::is_same_v<I, bool> &&
             !std::is_same_v<I, std::int64_t>) SampleMetadata& set(std::string_view key,
                                                                   const std::vector<I>& value) {
        std::vector<std::int64_t> wide;
        wide.reserve(value.size());
        for (auto v : value) {
            if (!std::in_range<std::int64_t>(v)) {
                return fail_value(key);
            }
            wide.push_back(static_cast<std::int64_t>(v));
        }
        return set_int_list(key, wide);
    }
    SampleMetadata& set(std::string_view key, std::span<const double> value) {
        return set_double_list(key, value);
    }
    SampleMetadata& set(std::string_view key, const std::vector<double>& value) {
        return set_double_list(key, value);
    }
    SampleMetadata& set(std::string_view key, std::span<const std::string_view> value) {
        return set_string_list(key, value);
    }
    SampleMetadata& set(std::string_view key, const std::vector<std::string_view>& value) {
        return set_string_list(key, value);
    }
    SampleMetadata& set(std::string_view key, const std::vector<std::string>& value) {
        std::vector<std::string_view> views(value.begin(), value.end());
        return set_string_list(key, views);
    }

    SampleMetadata& set_bool(std::string_view key, bool value);
    SampleMetadata& set_int(std::string_view key, std::int64_t value);
    SampleMetadata& set_double(std::string_view key, double value);
    SampleMetadata& set_string(std::string_view key, std::string_view value);
    SampleMetadata& set_int_list(std::string_view key, std::span<const std::int64_t> value);
    SampleMetadata& set_double_list(std::string_view key, std::span<const double> value);
    SampleMetadata& set_string_list(std::string_view key, std::span<const std::string_view> value);
    /// Removes `key`; true if it was there.
    bool erase(std::string_view key) noexcept;
    /// Removes every parameter and forgets earlier errors.
    void clear() noexcept;

    /// Bytes the parameters take so far.
    std::size_t size() const noexcept { return used_; }
    /// The output's max_metadata_size.
    std::size_t capacity() const noexcept { return capacity_; }
    /// What has been written, as a receiver will read it.
    MetadataView view() const noexcept { return {data_, used_}; }

    enum class Problem : std::uint8_t { none, too_large, bad_key, bad_value };
    /// The first problem seen (send() turns it into an error), and for too_large the bytes
    /// that the parameters would have needed.
    Problem problem() const noexcept { return problem_; }
    std::size_t needed() const noexcept { return needed_; }
    const std::string& problem_key() const noexcept { return problem_key_; }

private:
    std::byte* reserve(std::string_view key, ParameterKind kind, std::size_t value_size);
    SampleMetadata& fail_value(std::string_view key);
    SampleMetadata& set_numbers(std::string_view key, ParameterKind kind, const void* values,
                                std::size_t count);
    void note(Problem problem, std::string_view key, std::size_t needed = 0);

    std::byte* data_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t used_ = 0;
    std::size_t needed_ = 0;
    Problem problem_ = Problem::none;
    std::string problem_key_;
};

} // namespace zeroflow
