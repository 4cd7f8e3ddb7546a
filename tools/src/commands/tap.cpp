// Observer taps from the CLI's side: attach_tap, the segment from SCM_RIGHTS, a NodeReceiver
// on the tap's pseudo-node.
#include "tap.hpp"

#include <thread>

#include <poll.h>
#include <unistd.h>

#include <zeroflow/runtime/wire.hpp>

namespace zeroflow::cli {

using protocol::Json;
using namespace std::chrono_literals;

std::expected<Json, DaemonError> dataflow_stats(const std::optional<std::string>& dataflow) {
    Json request{{"op", "stats"}};
    if (dataflow) {
        request["dataflow"] = *dataflow;
    }
    return daemon_call(request, 10s);
}

std::expected<Tap, DaemonError> Tap::attach(const std::optional<std::string>& dataflow,
                                            const std::vector<std::string>& outputs) {
    const auto socket = protocol::socket_path(protocol::runtime_dir());
    auto client = protocol::Client::connect(socket, 2s);
    if (!client) {
        return std::unexpected(DaemonError{
            std::nullopt, client.error().code == protocol::ErrorCode::peer_refused
                              ? "no zeroflow daemon is running for " +
                                    protocol::runtime_dir().string() +
                                    "; start one with `zeroflow up`"
                              : "cannot reach the zeroflow daemon: " + client.error().message});
    }
    Json request{{"op", "attach_tap"}, {"protocol_version", protocol::kProtocolVersion}};
    if (dataflow) {
        request["dataflow"] = *dataflow;
    }
    if (!outputs.empty()) {
        request["outputs"] = outputs;
    }
    std::expected<Json, protocol::RemoteError> body;
    for (int attempt = 0;; ++attempt) {
        auto reply = client->request(request, 10s);
        if (!reply) {
            return std::unexpected(DaemonError{
                std::nullopt, "the zeroflow daemon did not answer: " + reply.error().message});
        }
        body = protocol::unwrap_reply(*reply);
        // busy: the senders are still taking back what the previous observer held.
        if (body || !body.error().is(protocol::DaemonErrorKind::busy) || attempt >= 100) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    if (!body) {
        return std::unexpected(DaemonError{protocol::parse_daemon_error_kind(body.error().kind),
                                           body.error().message});
    }
    try {
        Tap tap;
        auto setup = wire::tap_setup_from_json(*body);
        if (!setup) {
            return std::unexpected(DaemonError{protocol::DaemonErrorKind::internal,
                                               "bad reply from daemon: " + setup.error()});
        }
        auto spec = wire::layout_spec_from_json(setup->segment);
        if (!spec) {
            return std::unexpected(DaemonError{protocol::DaemonErrorKind::internal,
                                               "bad layout from daemon: " + spec.error()});
        }
        auto segment = shm::Segment::open(*spec, client->take_fd());
        if (!segment) {
            return std::unexpected(
                DaemonError{protocol::DaemonErrorKind::shared_memory, segment.error().message});
        }
        tap.segment_ = std::make_unique<shm::Segment>(std::move(*segment));
        auto receiver = shm::NodeReceiver::attach(*tap.segment_, setup->node_index);
        if (!receiver) {
            return std::unexpected(
                DaemonError{protocol::DaemonErrorKind::shared_memory, receiver.error().message});
        }
        tap.receiver_.emplace(std::move(*receiver));
        tap.dataflow_id_ = setup->dataflow_id;
        tap.dataflow_name_ = setup->dataflow_name;
        std::vector<std::uint32_t> connections;
        for (auto& o : setup->outputs) {
            tap.names_.push_back(std::move(o.name));
            tap.output_of_.push_back(o.output);
            connections.push_back(o.connection);
        }
        const auto inputs = tap.receiver_->input_count();
        tap.input_to_.assign(inputs, nullptr);
        tap.closed_.assign(inputs, false);
        for (std::uint32_t i = 0; i < inputs; ++i) {
            for (std::size_t k = 0; k < connections.size(); ++k) {
                if (tap.receiver_->connection_of(i) == connections[k]) {
                    tap.input_to_[i] = &tap.names_[k];
                    ++tap.open_;
                }
            }
        }
        tap.client_ = std::make_unique<protocol::Client>(std::move(*client));
        return tap;
    } catch (const std::exception& e) {
        return std::unexpected(DaemonError{protocol::DaemonErrorKind::internal,
                                           std::string("bad reply from daemon: ") + e.what()});
    }
}

bool Tap::daemon_hung_up() noexcept {
    pollfd p{client_->fd(), POLLIN, 0};
    // The daemon sends nothing more after the attach reply: readable means end of file.
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

std::optional<Observed> Tap::next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto next_check = std::chrono::steady_clock::now() + 100ms;
    while (!ended_) {
        // Poll, never sleep on the futex: a sleeping receiver costs its sender a wake-up
        // syscall per message, and a tap must cost the sender nothing it can feel. The tap's
        // queue (64) covers the polling period many times over.
        auto d = receiver_->poll();
        if (!d) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) {
                break;
            }
            if (now >= next_check) {
                next_check = now + 100ms;
                if (daemon_hung_up()) {
                    ended_ = true;
                    break;
                }
            }
            std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(deadline - now, 1ms));
            continue;
        }
        {
            if (d->kind == shm::Delivery::Kind::stop) {
                ended_ = true;
                break;
            }
            if (d->kind == shm::Delivery::Kind::input_closed) {
                if (input_to_[d->input] != nullptr && !closed_[d->input]) {
                    closed_[d->input] = true;
                    ended_ = --open_ == 0;
                }
                continue;
            }
            if (input_to_[d->input] == nullptr) {
                receiver_->release(d->input, d->chunk); // not asked for (cannot happen: dead)
                continue;
            }
            return Observed{*d, input_to_[d->input]};
        }
    }
    return std::nullopt;
}

void Tap::release(const Observed& message) noexcept {
    receiver_->release(message.delivery.input, message.delivery.chunk);
}

std::uint64_t Tap::dropped(const std::string& output) const noexcept {
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < input_to_.size(); ++i) {
        if (input_to_[i] != nullptr && *input_to_[i] == output) {
            total += receiver_->dropped(i);
        }
    }
    return total;
}

std::uint32_t Tap::output_index(const std::string& output) const noexcept {
    for (std::size_t k = 0; k < names_.size(); ++k) {
        if (names_[k] == output) {
            return output_of_[k];
        }
    }
    return 0;
}

} // namespace zeroflow::cli
