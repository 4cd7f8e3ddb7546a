// Events a node receives and samples it sends. Both are move-only views into shared memory that
// hand their chunk back when they die; neither may outlive the Node that produced it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace zeroflow {

namespace detail {
class NodeImpl;
}

enum class EventKind : std::uint8_t { Input, InputClosed, AllInputsClosed, Stop, Error };

/// One event of a node's stream. `data` points into shared memory (zero-copy) and stays valid
/// while the Event lives; `id` is the input's id; `message` is set for Error events.
struct Event {
    EventKind kind = EventKind::Stop;
    std::string_view id;
    std::span<const std::byte> data;
    std::uint64_t timestamp_ns = 0; ///< send time, CLOCK_MONOTONIC
    std::uint64_t sequence = 0;     ///< per output, from 1
    std::string_view message;

    Event() = default;
    Event(Event&& other) noexcept;
    Event& operator=(Event&& other) noexcept;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    ~Event();

private:
    friend class detail::NodeImpl;
    void release() noexcept;
    detail::NodeImpl* owner_ = nullptr;
    std::uint32_t input_ = 0;
    std::uint32_t chunk_ = 0;
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
    /// Sends fewer bytes than were loaned (must be <= the loaned size).
    void resize(std::size_t bytes) noexcept {
        if (bytes <= size_) {
            size_ = bytes;
        }
    }

private:
    friend class detail::NodeImpl;
    void discard() noexcept;
    detail::NodeImpl* owner_ = nullptr;
    std::uint32_t output_ = 0;
    std::uint32_t chunk_ = 0;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::uint64_t capacity_ = 0;
};

} // namespace zeroflow
