// zeroflow's node API: the one header node code includes (link zeroflow::runtime).
//
//   auto node = zeroflow::Node::from_env();          // in a node the daemon started
//   if (!node) { std::cerr << node.error().message() << "\n"; return 1; }
//   auto out = node->output("out");                  // resolved once; a typo fails here
//   for (auto event = node->next(); event.kind != zeroflow::EventKind::Stop; event = node->next())
//   {
//       if (event.kind == zeroflow::EventKind::Input) {
//           auto sample = out->loan<float>(3);       // dtype f32, shape {3}
//           sample->metadata().set("frame", std::int64_t{7});
//           node->send(std::move(*sample));
//       }
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zeroflow/runtime/error.hpp>
#include <zeroflow/runtime/event.hpp>

namespace zeroflow {

/// One of a node's outputs, resolved once (no lookup by name per loan). A small copyable
/// handle; it must not outlive its Node.
class Output {
public:
    /// Lends `bytes` of shared memory (DataType::bytes). Errors as Node::loan.
    std::expected<Sample, Error> loan(std::size_t bytes) const;
    /// Lends room for `count` elements of T: dtype from T, shape {count}.
    template <typename T>
    std::expected<Sample, Error> loan(std::size_t count) const {
        return loan_typed(data_type_of<T>(), count);
    }
    /// Lends room for `count` elements of `dtype`, shape {count}.
    std::expected<Sample, Error> loan_typed(DataType dtype, std::size_t count) const;
    /// Copies `bytes` into a loan and sends it.
    std::expected<void, Error> send(std::span<const std::byte> bytes) const;

    const std::string& id() const noexcept;
    /// The output's max_metadata_size: bytes of parameters one message may carry.
    std::size_t max_metadata_size() const noexcept;
    /// Messages sent so far.
    std::uint64_t sent() const noexcept;

private:
    friend class detail::NodeImpl;
    Output(detail::NodeImpl* impl, std::uint32_t index) noexcept : impl_(impl), index_(index) {}
    detail::NodeImpl* impl_;
    std::uint32_t index_;
};

/// One of a node's inputs, resolved once: node.input("image") fails at start-up for an input
/// the dataflow does not declare, where a typo in `event.id == "imgae"` would fail silently.
/// A small copyable handle; it must not outlive its Node.
class Input {
public:
    /// True when `event` is an event (Input or InputClosed) of this input.
    bool matches(const Event& event) const noexcept;
    const std::string& id() const noexcept;
    /// Messages this input lost to a full queue so far.
    std::uint64_t dropped() const noexcept;
    /// True when a timer of the daemon feeds this input (`zeroflow/timer/...`): its messages
    /// are ticks whose 8 bytes count them from 1.
    bool from_timer() const noexcept;

private:
    friend class detail::NodeImpl;
    Input(detail::NodeImpl* impl, std::uint32_t index) noexcept : impl_(impl), index_(index) {}
    detail::NodeImpl* impl_;
    std::uint32_t index_;
};

/// A node of a running dataflow: its event stream and its outputs. Not thread-safe: use it
/// from one thread (events and samples belong to that thread too). The library never exits
/// the process and never throws; errors are values.
class Node {
public:
    /// Connects as the node the daemon started this process as (ZEROFLOW_DATAFLOW_ID,
    /// ZEROFLOW_NODE_ID and ZEROFLOW_RUNTIME_DIR in the environment). A node the dataflow
    /// declares `path: dynamic` gets ErrorKind::node_is_dynamic: use connect_dynamic.
    static std::expected<Node, Error> from_env();

    /// Connects as the dynamic node `node_id` (`path: dynamic` in the dataflow) of the running
    /// dataflow that has one; ZEROFLOW_DATAFLOW (UUID or name) picks one when several do.
    static std::expected<Node, Error> connect_dynamic(std::string_view node_id);
    /// Same, naming the dataflow (UUID or name) explicitly.
    static std::expected<Node, Error> connect_dynamic(std::string_view node_id,
                                                      std::string_view dataflow);

    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    ~Node(); ///< closes this node's outputs (downstream gets InputClosed) and disconnects

    /// Blocks for the next event. After the stream ended (Stop), returns Stop at once.
    Event next();
    /// Waits at most `timeout`; nullopt when nothing came.
    std::optional<Event> next(std::chrono::nanoseconds timeout);

    /// The handle of output `id`: invalid_argument at once for an output the node does not
    /// declare (the message lists those it does).
    std::expected<Output, Error> output(std::string_view id);
    /// The handle of input `id`: invalid_argument for an input the node does not declare.
    std::expected<Input, Error> input(std::string_view id);

    /// Lends `bytes` of shared memory on `output`. Errors: invalid_argument (unknown output),
    /// message_too_large, pool_exhausted, no_space, closed.
    std::expected<Sample, Error> loan(std::string_view output, std::size_t bytes);
    /// Sends a loaned sample to every input connected to its output (zero-copy).
    std::expected<void, Error> send(Sample&& sample);
    /// Sends like send(), but receivers see `stamp` (sequence, monotonic and wall-clock send
    /// time) instead of this node's own: for a node that forwards another sender's messages
    /// (zeroflow-bridge's subscribe pump). The output's sequence continues from
    /// `stamp.sequence`. Receivers order their inputs by `timestamp_ns`: give a time of this
    /// machine's monotonic clock (0: now), never another machine's.
    std::expected<void, Error> forward(Sample&& sample, const SenderStamp& stamp);
    /// Copies `bytes` into a loan and sends it.
    std::expected<void, Error> send_output(std::string_view output,
                                           std::span<const std::byte> bytes);

    const std::string& id() const noexcept;
    const std::string& dataflow_id() const noexcept;
    std::vector<std::string> inputs() const;
    std::vector<std::string> outputs() const;
    /// Messages `input` lost to a full queue so far (0 for an unknown input).
    std::uint64_t dropped(std::string_view input) const noexcept;

private:
    explicit Node(std::unique_ptr<detail::NodeImpl> impl) noexcept;
    std::unique_ptr<detail::NodeImpl> impl_;
};

} // namespace zeroflow
