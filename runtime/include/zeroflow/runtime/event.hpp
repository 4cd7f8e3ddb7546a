// Events a node receives and samples it sends. Both are move-only views into shared memory that
// hand their chunk back when they die; neither may outlive the Node that produced it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <span>
#include <string_view>

#include <zeroflow/runtime/error.hpp>
#include <zeroflow/runtime/metadata.hpp>
#include <zeroflow/runtime/types.hpp>

namespace zeroflow {

namespace detail {
class NodeImpl;
}
class Input;

enum class EventKind : std::uint8_t { Input, InputClosed, AllInputsClosed, Stop, Error };

/// Who sent a message and when, as its chunk header says: what Node::forward writes instead of
/// the node's own, so that a node which stands in for another sender (zeroflow-bridge's
/// subscribe pump, a replayer) shows receivers that sender's sequence and clocks.
struct SenderStamp {
    std::uint64_t sequence = 0;     ///< the original sender's, per output, from 1
    std::uint64_t timestamp_ns = 0; ///< CLOCK_MONOTONIC of this machine; 0 means now
    /// CLOCK_REALTIME, ns since 1970, as the original sender stamped it; 0: now, derived from
    /// timestamp_ns as send() derives it.
    std::uint64_t wall_time_ns = 0;
};

/// One event of a node's stream. `data` points into shared memory (zero-copy) and stays valid
/// while the Event lives; `id` is the input's id; `message` is set for Error events. What the
/// sender said about the message (type, shape, encoding, parameters, wall-clock time) comes
/// through the member functions; views they return are valid while the Event lives too.
struct Event {
    EventKind kind = EventKind::Stop;
    std::string_view id;
    std::span<const std::byte> data;
    /// Send time, CLOCK_MONOTONIC. A message from another machine: when it entered this
    /// machine's segment (monotonic clocks of two machines cannot be compared).
    std::uint64_t timestamp_ns = 0;
    std::uint64_t sequence = 0; ///< per output, from 1 (from another machine: the sender's)
    std::string_view message;

    /// The element type (DataType::bytes unless the sender set one).
    DataType dtype() const noexcept { return dtype_; }
    /// The shape, row-major (C order); empty unless the sender set one. Checked on arrival:
    /// product(shape) * element_size(dtype()) == data.size(), or the message reads as bytes.
    std::span<const std::uint64_t> shape() const noexcept { return {shape_.data(), ndim_}; }
    /// What the bytes mean to people and tools ("rgb8", "jpeg", "json"); "" when none.
    std::string_view encoding() const noexcept { return encoding_; }
    /// The sender's parameters (dora's metadata parameters), in the order they were set.
    const MetadataView& metadata() const noexcept { return metadata_; }
    /// Send time on CLOCK_REALTIME, nanoseconds since 1970 (from another machine: the sender's).
    std::uint64_t wall_time_ns() const noexcept { return wall_time_ns_; }
    /// This message's sequence and clocks, as Node::forward takes them.
    SenderStamp stamp() const noexcept { return {sequence, timestamp_ns, wall_time_ns_}; }

    /// The payload as elements of T. invalid_argument unless the message's dtype is T's (an
    /// untyped bytes message has no type to check and reads as any T; any message reads as
    /// std::byte), its size is a multiple of sizeof(T), and its data is aligned for T.
    template <typename T>
    std::expected<std::span<const T>, Error> as() const {
        if (auto checked = check_view(data_type_of<T>(), sizeof(T), alignof(T)); !checked) {
            return std::unexpected(std::move(checked.error()));
        }
        return std::span<const T>(reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T));
    }

    Event() = default;
    Event(Event&& other) noexcept;
    Event& operator=(Event&& other) noexcept;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    ~Event();

private:
    friend class detail::NodeImpl;
    friend class Input;
    void release() noexcept;
    std::expected<void, Error> check_view(DataType type, std::size_t size, std::size_t align) const;
    detail::NodeImpl* owner_ = nullptr;
    std::uint32_t input_ = 0;
    std::uint32_t chunk_ = 0;
    std::uint64_t wall_time_ns_ = 0;
    DataType dtype_ = DataType::bytes;
    std::uint8_t ndim_ = 0;
    std::array<std::uint64_t, kMaxDims> shape_{};
    std::string_view encoding_;
    MetadataView metadata_;
};

/// A chunk of shared memory lent by an output: write the message into data(), then
/// node.send(std::move(sample)). Dropping it unsent gives the chunk back.
class Sample {
public:
    Sample() = default;
    Sample(Sample&& other) noexcept;
    Sample& operator=(Sample&& other) noexcept;
    Sample(const Sample&) = delete;
    Sample& operator=(const Sample&) = delete;
    ~Sample();

    /// The writable payload: exactly the size that was asked for in loan().
    std::span<std::byte> data() const noexcept { return {data_, size_}; }
    /// Sends fewer bytes than were loaned (must be <= the loaned size). A typed sample's shape
    /// must then be set to match, or send() refuses it.
    void resize(std::size_t bytes) noexcept {
        if (bytes <= size_) {
            size_ = bytes;
        }
    }

    /// Sets the shape (row-major, at most kMaxDims dimensions) keeping the dtype that loan<T>
    /// set. send() checks product(shape) * element size == the sample's size.
    Sample& set_shape(std::span<const std::uint64_t> shape) noexcept;
    Sample& set_shape(std::initializer_list<std::uint64_t> shape) noexcept {
        return set_shape(std::span<const std::uint64_t>(shape.begin(), shape.size()));
    }
    /// Sets the element type and the shape.
    Sample& set_type(DataType dtype, std::span<const std::uint64_t> shape) noexcept;
    Sample& set_type(DataType dtype, std::initializer_list<std::uint64_t> shape) noexcept {
        return set_type(dtype, std::span<const std::uint64_t>(shape.begin(), shape.size()));
    }
    /// Sets the encoding ("rgb8", "jpeg", ...; at most kMaxEncodingSize bytes).
    Sample& set_encoding(std::string_view encoding) noexcept;
    /// The parameters to send with the message (written straight into shared memory).
    SampleMetadata& metadata() noexcept { return metadata_; }

    DataType dtype() const noexcept { return dtype_; }
    std::span<const std::uint64_t> shape() const noexcept { return {shape_.data(), ndim_}; }

private:
    friend class detail::NodeImpl;
    void discard() noexcept;
    detail::NodeImpl* owner_ = nullptr;
    std::uint32_t output_ = 0;
    std::uint32_t chunk_ = 0;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::uint64_t capacity_ = 0;
    std::byte* area_ = nullptr; ///< the chunk's metadata area
    DataType dtype_ = DataType::bytes;
    std::uint8_t ndim_ = 0;
    std::uint8_t encoding_size_ = 0;
    bool shape_invalid_ = false;    ///< more than kMaxDims, or a product that overflows
    bool encoding_invalid_ = false; ///< longer than kMaxEncodingSize
    std::uint64_t elements_ = 0;    ///< product of the shape (private: never read back)
    std::array<std::uint64_t, kMaxDims> shape_{};
    SampleMetadata metadata_;
};

} // namespace zeroflow
