// Private state of a Node: the daemon connection, the mapped segment, the node's receiver and
// senders, and the stream's end-of-life state machine.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include <zeroflow/node.hpp>
#include <zeroflow/protocol/protocol.hpp>
#include <zeroflow/shm/receiver.hpp>
#include <zeroflow/shm/sender.hpp>

#include "remote_writer.hpp"

namespace zeroflow::detail {

class NodeImpl {
public:
    /// Sends `request` (register or connect_dynamic) and sets up from the reply.
    static std::expected<std::unique_ptr<NodeImpl>, Error> connect(protocol::Json request);

    NodeImpl() = default;
    NodeImpl(const NodeImpl&) = delete;
    NodeImpl& operator=(const NodeImpl&) = delete;
    ~NodeImpl();

    std::optional<Event> next(std::optional<std::chrono::nanoseconds> timeout);
    std::expected<Sample, Error> loan(std::string_view output, std::size_t bytes);
    /// Lends on output `index` (< output_names.size()).
    std::expected<Sample, Error> loan_at(std::uint32_t index, std::size_t bytes);
    std::expected<std::uint32_t, Error> find_output(std::string_view output) const;
    std::expected<std::uint32_t, Error> find_input(std::string_view input) const;
    std::expected<Output, Error> output_handle(std::string_view output);
    std::expected<Input, Error> input_handle(std::string_view input);
    const shm::OutputSender& sender(std::uint32_t index) const { return senders_[index]; }
    std::uint64_t dropped_at(std::uint32_t input) const noexcept;
    /// Sends `sample`; with `stamp`, the header carries it instead of this sender's own.
    std::expected<void, Error> send(Sample&& sample, const SenderStamp* stamp = nullptr);
    void release(std::uint32_t input, std::uint32_t chunk) noexcept;
    void discard(std::uint32_t output, std::uint32_t chunk) noexcept;
    std::uint64_t dropped(std::string_view input) const noexcept;

    std::string id;
    std::string dataflow_id;
    bool dynamic = false; ///< a dynamic node may reconnect: leaving does not close its outputs
    /// False for a node with a restart policy: the daemon closes its outputs once its exit is
    /// final, so a restart shows downstream no InputClosed.
    bool closes_outputs = true;
    std::vector<std::string> input_names;  ///< by receiver input index
    std::vector<std::string> output_names; ///< by sender index
    std::vector<bool> input_from_timer;    ///< by receiver input index

private:
    enum class Stream : std::uint8_t { open, all_closed_pending, ended };
    std::expected<void, Error> check_sample(const Sample& sample) const;
    void describe(Event& e, const shm::Delivery& d) const noexcept;
    Event make_event(EventKind kind) const;
    void watch_daemon();
    /// The message just sent on `output` (its chunk is still ours: nothing was lent since),
    /// written on that output's DDS topic.
    void publish_remote(std::uint32_t output, const Sample& sample, const shm::Loan& loan,
                        std::uint64_t size) noexcept;
    static void redirect_output_to_log() noexcept;

    std::optional<protocol::Client> client_;
    std::unique_ptr<shm::Segment> segment_;
    std::optional<shm::NodeReceiver> receiver_;
    std::vector<shm::OutputSender> senders_;
    /// Outputs read on other machines, written on DDS by this node (direct publishing).
    std::unique_ptr<RemoteWriter> remote_;
    std::vector<int> remote_index_; ///< by sender index: remote_'s writer, or -1
    std::chrono::nanoseconds busy_poll_{0};
    std::uint32_t open_inputs_ = 0;
    Stream stream_ = Stream::open;
    /// The daemon asked this node to stop: its outputs are then the daemon's to close (see
    /// ~NodeImpl), so no neighbour sees our InputClosed before its own Stop.
    bool stop_seen_ = false;
    bool error_delivered_ = false;
    std::string error_message_;
    std::atomic<bool> daemon_lost_{false};
    int wake_fd_ = -1; ///< eventfd that ends the watcher thread
    std::thread watcher_;
};

} // namespace zeroflow::detail
