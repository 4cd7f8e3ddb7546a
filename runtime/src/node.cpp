// The node API: connecting to the daemon, the event stream, loans and sends.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zeroflow/runtime/wire.hpp>

#include "node_impl.hpp"

namespace zeroflow {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::invalid_argument:
        return "invalid_argument";
    case ErrorKind::message_too_large:
        return "message_too_large";
    case ErrorKind::pool_exhausted:
        return "pool_exhausted";
    case ErrorKind::no_space:
        return "no_space";
    case ErrorKind::closed:
        return "closed";
    case ErrorKind::daemon_unreachable:
        return "daemon_unreachable";
    case ErrorKind::protocol_mismatch:
        return "protocol_mismatch";
    case ErrorKind::no_such_dataflow:
        return "no_such_dataflow";
    case ErrorKind::no_such_node:
        return "no_such_node";
    case ErrorKind::node_not_dynamic:
        return "node_not_dynamic";
    case ErrorKind::ambiguous_node:
        return "ambiguous_node";
    case ErrorKind::node_already_connected:
        return "node_already_connected";
    case ErrorKind::missing_environment:
        return "missing_environment";
    case ErrorKind::shared_memory:
        return "shared_memory";
    case ErrorKind::timeout:
        return "timeout";
    case ErrorKind::internal:
        return "internal";
    case ErrorKind::metadata_too_large:
        return "metadata_too_large";
    case ErrorKind::node_is_dynamic:
        return "node_is_dynamic";
    }
    return "internal";
}

namespace {

using protocol::Json;

Error from_shm(const shm::Error& e) {
    switch (e.code) {
    case shm::ErrorCode::message_too_large:
        return {ErrorKind::message_too_large, e.message};
    case shm::ErrorCode::pool_exhausted:
        return {ErrorKind::pool_exhausted, e.message};
    case shm::ErrorCode::no_space:
        return {ErrorKind::no_space, e.message};
    case shm::ErrorCode::closed:
        return {ErrorKind::closed, e.message};
    case shm::ErrorCode::invalid_argument:
        return {ErrorKind::invalid_argument, e.message};
    default:
        return {ErrorKind::shared_memory, e.message};
    }
}

Error from_remote(const protocol::RemoteError& e) {
    using Kind = protocol::DaemonErrorKind;
    const auto kind = protocol::parse_daemon_error_kind(e.kind);
    // A kind this library does not know (a newer daemon's) reads as internal, named.
    const Error unmapped{ErrorKind::internal, e.kind + ": " + e.message};
    if (!kind) {
        return unmapped;
    }
    // Every kind decided here: a new one breaks the build (-Wswitch) until it is mapped.
    switch (*kind) {
    case Kind::no_such_dataflow:
        return {ErrorKind::no_such_dataflow, e.message};
    case Kind::no_such_node:
    // A node of another machine (connect_dynamic on the wrong machine): not here, and the
    // message names its machine.
    case Kind::remote_node:
        return {ErrorKind::no_such_node, e.message};
    case Kind::node_not_dynamic:
        return {ErrorKind::node_not_dynamic, e.message};
    case Kind::node_is_dynamic:
        return {ErrorKind::node_is_dynamic, e.message};
    case Kind::ambiguous_node:
        return {ErrorKind::ambiguous_node, e.message};
    case Kind::node_already_connected:
    // `busy` after the library's retries (NodeImpl::connect): the node's previous connection
    // still holds it, as its senders have not taken back what it held.
    case Kind::busy:
        return {ErrorKind::node_already_connected, e.message};
    case Kind::protocol_mismatch:
        return {ErrorKind::protocol_mismatch, e.message};
    case Kind::start_failed:
    case Kind::dataflow_stopping:
        return {ErrorKind::closed, e.message};
    // Not a node's to meet in normal use (a bug of this library, the daemon's or the CLI's,
    // or a condition of the whole daemon): internal, with the daemon's kind in the message.
    case Kind::frame_too_large:
    case Kind::bad_frame:
    case Kind::bad_request:
    case Kind::unknown_op:
    case Kind::io_error:
    case Kind::timeout:
    case Kind::closed:
    case Kind::peer_refused:
    case Kind::bad_dataflow:
    case Kind::name_taken:
    case Kind::shared_memory:
    case Kind::resource_limit:
    case Kind::out_of_memory:
    case Kind::ambiguous_dataflow:
    case Kind::dataflow_not_running:
    case Kind::no_such_output:
    case Kind::shutting_down:
    case Kind::internal:
    case Kind::bad_reply:
        return unmapped;
    }
    return unmapped;
}

/// True when the daemon closed `fd` (it died, or finished our dataflow); does not read from it.
bool peer_hung_up(int fd) noexcept {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

Error from_protocol(const protocol::ProtocolError& e, const std::filesystem::path& socket) {
    switch (e.code) {
    case protocol::ErrorCode::peer_refused:
        return {ErrorKind::daemon_unreachable,
                "no zeroflow daemon at " + socket.string() + " (" + e.message +
                    "); start one with `zeroflow up`, or run the dataflow with `zeroflow run`"};
    case protocol::ErrorCode::timeout:
        return {ErrorKind::timeout, "the zeroflow daemon did not answer: " + e.message};
    case protocol::ErrorCode::protocol_mismatch:
        return {ErrorKind::protocol_mismatch, e.message};
    default:
        return {ErrorKind::daemon_unreachable, "lost the zeroflow daemon: " + e.message};
    }
}

std::optional<std::uint64_t> env_uint(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    char* end = nullptr;
    const auto parsed = std::strtoull(value, &end, 10);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return parsed;
}

} // namespace

namespace detail {

std::expected<std::unique_ptr<NodeImpl>, Error> NodeImpl::connect(Json request) {
    const auto dir = protocol::runtime_dir();
    const auto socket = protocol::socket_path(dir);
    auto client = protocol::Client::connect(socket, std::chrono::seconds(5));
    if (!client) {
        return std::unexpected(from_protocol(client.error(), socket));
    }
    request["protocol_version"] = protocol::kProtocolVersion;
    request["pid"] = ::getpid();
    // A spawned node whose outputs are read on other machines writes them on DDS itself
    // (direct publishing): its writers find their readers before it registers, so the start
    // barrier also waits for them and nothing it sends before the other machines listen is lost.
    std::unique_ptr<RemoteWriter> remote;
    if (request.value("op", std::string()) == "register") {
        auto opened = RemoteWriter::from_env(request.value("node_id", std::string()));
        if (!opened) {
            return std::unexpected(opened.error());
        }
        remote = std::move(*opened);
    }
    // The reply waits for the start barrier (every spawned node registered): be patient.
    const auto wait = std::chrono::seconds(env_uint(protocol::kRegisterTimeoutEnv).value_or(3600));
    std::expected<Json, protocol::RemoteError> body;
    // `busy`: a dynamic node's previous connection is still being reclaimed; it takes the
    // senders' next wake-up, so a short wait is enough.
    for (int attempt = 0;; ++attempt) {
        auto reply = client->request(request, wait);
        if (!reply) {
            return std::unexpected(from_protocol(reply.error(), socket));
        }
        body = protocol::unwrap_reply(*reply);
        if (body || !body.error().is(protocol::DaemonErrorKind::busy) || attempt >= 100) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!body) {
        return std::unexpected(from_remote(body.error()));
    }
    try {
        auto setup = wire::node_setup_from_json(*body);
        if (!setup) {
            return std::unexpected(
                Error{ErrorKind::internal, "bad reply from daemon: " + setup.error()});
        }
        auto impl = std::make_unique<NodeImpl>();
        impl->id = setup->node_id;
        impl->dynamic = request.value("op", std::string()) == "connect_dynamic";
        impl->dataflow_id = setup->dataflow_id;
        const auto node_index = setup->node_index;
        auto spec = wire::layout_spec_from_json(setup->segment);
        if (!spec) {
            return std::unexpected(
                Error{ErrorKind::internal, "bad layout from daemon: " + spec.error()});
        }
        // The segment's memfd came with the reply (SCM_RIGHTS); open() checks its seals.
        auto segment = shm::Segment::open(*spec, client->take_fd());
        if (!segment) {
            return std::unexpected(from_shm(segment.error()));
        }
        impl->segment_ = std::make_unique<shm::Segment>(std::move(*segment));
        // A spawned node attaches after the start barrier, when its senders may have sent; a
        // restarted one (`resume`) picks up what is still queued for it.
        auto receiver =
            setup->resume ? shm::NodeReceiver::attach_resuming(*impl->segment_, node_index)
                          : shm::NodeReceiver::attach(*impl->segment_, node_index, !impl->dynamic);
        if (!receiver) {
            return std::unexpected(from_shm(receiver.error()));
        }
        impl->receiver_.emplace(std::move(*receiver));
        impl->input_names.resize(impl->receiver_->input_count());
        impl->input_from_timer.resize(impl->receiver_->input_count());
        for (std::uint32_t i = 0; i < impl->receiver_->input_count(); ++i) {
            const auto connection = impl->receiver_->connection_of(i);
            if (connection < spec->connections.size()) {
                const auto output = spec->connections[connection].output;
                impl->input_from_timer[i] = output < spec->outputs.size() &&
                                            spec->outputs[output].owner == shm::kDaemonOwner;
            }
        }
        for (const auto& in : setup->inputs) {
            for (std::uint32_t i = 0; i < impl->receiver_->input_count(); ++i) {
                if (impl->receiver_->connection_of(i) == in.connection) {
                    impl->input_names[i] = in.id;
                }
            }
        }
        impl->open_inputs_ = impl->receiver_->input_count();
        for (const auto& out : setup->outputs) {
            auto sender = shm::OutputSender::attach(*impl->segment_, out.output);
            if (!sender) {
                return std::unexpected(from_shm(sender.error()));
            }
            impl->senders_.push_back(std::move(*sender));
            impl->output_names.push_back(out.id);
            impl->remote_index_.push_back(remote ? remote->find(out.id) : -1);
        }
        impl->remote_ = std::move(remote);
        const auto busy = env_uint(protocol::kBusyPollEnv).value_or(setup->busy_poll_us);
        impl->busy_poll_ = std::chrono::microseconds(busy);
        impl->closes_outputs = setup->closes_outputs;
        impl->client_.emplace(std::move(*client));
        impl->wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
        if (impl->wake_fd_ < 0) {
            return std::unexpected(
                Error{ErrorKind::internal, std::string("eventfd: ") + std::strerror(errno)});
        }
        impl->watcher_ = std::thread([raw = impl.get()] { raw->watch_daemon(); });
        return impl;
    } catch (const std::exception& e) {
        return std::unexpected(
            Error{ErrorKind::internal, std::string("bad reply from daemon: ") + e.what()});
    }
}

NodeImpl::~NodeImpl() {
    // After a Stop the daemon closes our outputs when it sees us exit: it does so after it set
    // every node's Stop, so a neighbour still sees its Stop first. Closing them here could race
    // the daemon's loop over the nodes (it may be descheduled between two of them).
    if (!dynamic && closes_outputs && !stop_seen_) {
        for (auto& sender : senders_) {
            sender.close(); // downstream gets InputClosed after what is queued
        }
    }
    if (remote_) { // as the senders: closed here, or the daemon closes them (the publish pump
                   // then writes the closed on DDS)
        remote_->close(!dynamic && closes_outputs && !stop_seen_);
    }
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof(one));
    }
    if (watcher_.joinable()) {
        watcher_.join();
    }
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
}

void NodeImpl::redirect_output_to_log() noexcept {
    const char* file = std::getenv(protocol::kLogFileEnv);
    if (file == nullptr || *file == '\0') {
        return;
    }
    const int log = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) {
        return;
    }
    for (const int fd : {1, 2}) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
            ::dup2(log, fd);
        }
    }
    ::close(log);
}

void NodeImpl::watch_daemon() {
    // The daemon never writes to a registered node's connection; EOF or an error means it is
    // gone. Wake the event loop so next() reports it.
    pollfd fds[2] = {{client_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
        const int rc = ::poll(fds, 2, -1);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc < 0 || (fds[1].revents & POLLIN) != 0) {
            return;
        }
        if (fds[0].revents != 0) {
            char buffer[256];
            const auto n = ::recv(client_->fd(), buffer, sizeof(buffer), MSG_DONTWAIT);
            if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
                continue;
            }
            // The daemon read our stdout/stderr through a pipe: with it gone, a write there
            // would raise SIGPIPE. Write to the log file directly from now on.
            redirect_output_to_log();
            // SYNC daemon_lost: publish (pairs with next()), then wake the event loop
            daemon_lost_.store(true, std::memory_order_release);
            receiver_->wake();
            return;
        }
    }
}

Event NodeImpl::make_event(EventKind kind) const {
    Event e;
    e.kind = kind;
    return e;
}

std::optional<Event> NodeImpl::next(std::optional<std::chrono::nanoseconds> timeout) {
    // The clock is read only when there is a timeout: next() without one is the hot path.
    const auto start =
        timeout ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    for (;;) {
        if (stream_ == Stream::ended) {
            return make_event(EventKind::Stop);
        }
        if (stream_ == Stream::all_closed_pending) {
            stream_ = Stream::ended;
            if (!error_delivered_ &&
                (daemon_lost_.load(std::memory_order_acquire) || peer_hung_up(client_->fd()))) {
                // The inputs closed because the daemon died (their senders saw it first): the
                // stream goes on to its Error (or to a Stop the daemon queued before it left).
                daemon_lost_.store(true, std::memory_order_release);
                stream_ = Stream::open;
            }
            return make_event(EventKind::AllInputsClosed);
        }
        if (error_delivered_) {
            stream_ = Stream::ended;
            return make_event(EventKind::Stop);
        }
        std::chrono::nanoseconds remaining(-1);
        if (timeout) {
            remaining = *timeout - (std::chrono::steady_clock::now() - start);
            if (remaining.count() < 0) {
                remaining = std::chrono::nanoseconds(0);
            }
        }
        const bool lost = daemon_lost_.load(std::memory_order_acquire); // SYNC daemon_lost
        auto d = lost ? receiver_->poll() : receiver_->wait(remaining, busy_poll_);
        if (!d) {
            if (lost) {
                error_delivered_ = true;
                error_message_ = "lost the connection to the zeroflow daemon (it exited or was "
                                 "killed); the stream ends";
                Event e = make_event(EventKind::Error);
                e.message = error_message_;
                return e;
            }
            for (auto& sender : senders_) {
                sender.maintain(); // woken without an event: maybe an input of ours died
            }
            if (timeout && std::chrono::steady_clock::now() - start >= *timeout) {
                return std::nullopt;
            }
            continue;
        }
        switch (d->kind) {
        case shm::Delivery::Kind::message: {
            Event e;
            e.kind = EventKind::Input;
            e.id = input_names[d->input];
            e.data = {d->data, static_cast<std::size_t>(d->size)};
            e.timestamp_ns = d->timestamp_ns;
            e.sequence = d->sequence;
            e.owner_ = this;
            e.input_ = d->input;
            e.chunk_ = d->chunk;
            e.wall_time_ns_ = d->wall_time_ns;
            if (d->ndim != 0 || d->dtype != 0 || d->encoding_size != 0 || d->metadata_size != 0) {
                describe(e, *d);
            }
            return e;
        }
        case shm::Delivery::Kind::input_closed: {
            Event e = make_event(EventKind::InputClosed);
            e.id = input_names[d->input];
            if (--open_inputs_ == 0) {
                stream_ = Stream::all_closed_pending;
            }
            return e;
        }
        case shm::Delivery::Kind::stop:
            stream_ = Stream::ended;
            stop_seen_ = true;
            return make_event(EventKind::Stop);
        }
    }
}

namespace {

/// Index of `wanted` in `names`, or invalid_argument listing the declared ones; `what` is
/// "input" or "output".
std::expected<std::uint32_t, Error> find_named(const std::vector<std::string>& names,
                                               std::string_view wanted, const std::string& node,
                                               const std::string& what) {
    for (std::uint32_t i = 0; i < names.size(); ++i) {
        if (names[i] == wanted) {
            return i;
        }
    }
    std::string known;
    for (const auto& name : names) {
        known += (known.empty() ? "" : ", ") + name;
    }
    return std::unexpected(Error{ErrorKind::invalid_argument,
                                 "node '" + node + "' has no " + what + " '" + std::string(wanted) +
                                     "' (declared " + what +
                                     "s: " + (known.empty() ? "none" : known) +
                                     "); add it to the node's `" + what + "s:` in the dataflow"});
}

} // namespace

std::expected<std::uint32_t, Error> NodeImpl::find_output(std::string_view output) const {
    return find_named(output_names, output, id, "output");
}

std::expected<std::uint32_t, Error> NodeImpl::find_input(std::string_view input) const {
    return find_named(input_names, input, id, "input");
}

std::expected<Output, Error> NodeImpl::output_handle(std::string_view output) {
    auto index = find_output(output);
    if (!index) {
        return std::unexpected(std::move(index.error()));
    }
    return Output(this, *index);
}

std::expected<Input, Error> NodeImpl::input_handle(std::string_view input) {
    auto index = find_input(input);
    if (!index) {
        return std::unexpected(std::move(index.error()));
    }
    if (receiver_) {
        receiver_->mark_asked(*index); // for `run`'s report of inputs the node never named
    }
    return Input(this, *index);
}

void NodeImpl::describe(Event& e, const shm::Delivery& d) const noexcept {
    // Everything here was read from shared memory by the receiver and bounds-checked there;
    // what is left to check is that type and shape agree with the payload's size. When they
    // do not (a scribbling sender), the message reads as plain bytes.
    if (d.encoding_size != 0) {
        e.encoding_ = std::string_view(
            reinterpret_cast<const char*>(d.metadata + shm::kEncodingOffset), d.encoding_size);
    }
    if (d.metadata_size != 0) {
        e.metadata_ = MetadataView(d.metadata + shm::kParametersOffset, d.metadata_size);
    }
    if (d.dtype > kLastDataType) {
        return;
    }
    const auto dtype = static_cast<DataType>(d.dtype);
    const auto elem = element_size(dtype);
    std::array<std::uint64_t, kMaxDims> shape{};
    std::memcpy(shape.data(), d.metadata + shm::kShapeOffset, d.ndim * sizeof(std::uint64_t));
    std::uint64_t bytes = elem;
    for (std::uint8_t k = 0; k < d.ndim; ++k) {
        if (__builtin_mul_overflow(bytes, shape[k], &bytes)) {
            return;
        }
    }
    if (d.ndim != 0 ? bytes != d.size : d.size % elem != 0) {
        return;
    }
    e.dtype_ = dtype;
    e.ndim_ = d.ndim;
    e.shape_ = shape;
}

std::expected<Sample, Error> NodeImpl::loan_at(std::uint32_t o, std::size_t bytes) {
    auto loan = senders_[o].loan(bytes);
    if (!loan) {
        return std::unexpected(from_shm(loan.error()));
    }
    Sample s;
    s.owner_ = this;
    s.output_ = o;
    s.chunk_ = loan->chunk;
    s.data_ = loan->data;
    s.size_ = bytes;
    s.capacity_ = loan->capacity;
    s.area_ = loan->metadata();
    s.metadata_ =
        SampleMetadata(loan->metadata() + shm::kParametersOffset, senders_[o].max_metadata_size());
    return s;
}

std::expected<Sample, Error> NodeImpl::loan(std::string_view output, std::size_t bytes) {
    auto index = find_output(output);
    if (!index) {
        return std::unexpected(std::move(index.error()));
    }
    return loan_at(*index, bytes);
}

std::expected<void, Error> NodeImpl::check_sample(const Sample& sample) const {
    const auto& name = senders_[sample.output_].name(); // "node/output", as shm: names it
    if (sample.shape_invalid_) {
        return std::unexpected(
            Error{ErrorKind::invalid_argument,
                  "the shape set on a sample of output '" + name + "' has more than " +
                      std::to_string(kMaxDims) +
                      " dimensions or a product that overflows; zeroflow messages have up to " +
                      std::to_string(kMaxDims) + " dimensions"});
    }
    if (sample.encoding_invalid_) {
        return std::unexpected(Error{ErrorKind::invalid_argument,
                                     "the encoding set on a sample of output '" + name +
                                         "' is longer than " + std::to_string(kMaxEncodingSize) +
                                         " bytes; use a short name such as \"rgb8\" or "
                                         "\"sensor_msgs/msg/Image\""});
    }
    if (static_cast<std::uint8_t>(sample.dtype_) > kLastDataType) {
        return std::unexpected(
            Error{ErrorKind::invalid_argument, "unknown DataType code " +
                                                   std::to_string(static_cast<int>(sample.dtype_)) +
                                                   " on a sample of output '" + name + "'"});
    }
    if (sample.ndim_ != 0 || sample.dtype_ != DataType::bytes) {
        const auto elem = element_size(sample.dtype_);
        const auto elements = sample.ndim_ != 0 ? sample.elements_ : sample.size_ / elem;
        std::uint64_t expected = 0;
        if (__builtin_mul_overflow(elements, std::uint64_t{elem}, &expected) ||
            expected != sample.size_ || (sample.ndim_ == 0 && sample.size_ % elem != 0)) {
            std::string shape;
            for (std::uint8_t d = 0; d < sample.ndim_; ++d) {
                shape += (d == 0 ? "" : ", ") + std::to_string(sample.shape_[d]);
            }
            return std::unexpected(
                Error{ErrorKind::invalid_argument,
                      "a sample of output '" + name + "' holds " + std::to_string(sample.size_) +
                          " bytes, but its type " + std::string(to_string(sample.dtype_)) +
                          " with shape {" + shape + "} needs " +
                          (sample.ndim_ != 0 ? std::to_string(expected)
                                             : "a multiple of " + std::to_string(elem)) +
                          " bytes; set a shape that matches (set_shape) or resize the sample"});
        }
    }
    const auto& meta = sample.metadata_;
    switch (meta.problem()) {
    case SampleMetadata::Problem::none:
        break;
    case SampleMetadata::Problem::too_large:
        return std::unexpected(Error{
            ErrorKind::metadata_too_large,
            "the parameters of a message on output '" + name + "' need " +
                std::to_string(meta.needed()) + " bytes (at key '" + meta.problem_key() +
                "'), but the output takes " + std::to_string(meta.capacity()) +
                "; raise it with `shm: {" + name + ": {max_metadata_size: ...}}` in the dataflow"});
    case SampleMetadata::Problem::bad_key:
        return std::unexpected(Error{ErrorKind::invalid_argument, "a parameter key on output '" +
                                                                      name +
                                                                      "' is empty or longer "
                                                                      "than 255 bytes ('" +
                                                                      meta.problem_key() + "')"});
    case SampleMetadata::Problem::bad_value:
        return std::unexpected(Error{ErrorKind::invalid_argument,
                                     "the value of parameter '" + meta.problem_key() +
                                         "' on output '" + name +
                                         "' does not fit (integers must fit int64, lengths 32 "
                                         "bits)"});
    }
    return {};
}

std::expected<void, Error> NodeImpl::send(Sample&& sample, const SenderStamp* stamp) {
    if (sample.owner_ != this || sample.output_ >= senders_.size()) {
        return std::unexpected(
            Error{ErrorKind::invalid_argument,
                  "this sample was not loaned by this node (or was already sent)"});
    }
    const shm::Loan loan{sample.chunk_, sample.data_, sample.capacity_};
    auto& sender = senders_[sample.output_];
    const auto size = sample.size_;
    shm::MessageInfo info;
    // The plain path (bytes, no shape, encoding or parameters) checks three bytes and goes on.
    if (sample.ndim_ != 0 || sample.dtype_ != DataType::bytes || sample.encoding_size_ != 0 ||
        sample.metadata_.size() != 0 || sample.shape_invalid_ || sample.encoding_invalid_ ||
        sample.metadata_.problem() != SampleMetadata::Problem::none) {
        auto checked = check_sample(sample);
        if (!checked) {
            sample.discard();
            return std::unexpected(std::move(checked.error()));
        }
        info.dtype = static_cast<std::uint8_t>(sample.dtype_);
        info.ndim = sample.ndim_;
        info.encoding_size = sample.encoding_size_;
        info.metadata_size = static_cast<std::uint32_t>(sample.metadata_.size());
        if (sample.ndim_ != 0) {
            std::memcpy(sample.area_ + shm::kShapeOffset, sample.shape_.data(),
                        sample.ndim_ * sizeof(std::uint64_t));
        }
    }
    sample.owner_ = nullptr; // consumed whatever happens
    auto sent = stamp == nullptr
                    ? sender.send(loan, size, 0, info)
                    : sender.send_stamped(loan, size,
                                          shm::SenderStamp{stamp->sequence, stamp->timestamp_ns,
                                                           stamp->wall_time_ns},
                                          info);
    if (!sent) {
        return std::unexpected(from_shm(sent.error()));
    }
    if (!remote_index_.empty() && remote_index_[sample.output_] >= 0) {
        publish_remote(sample.output_, sample, loan, size);
    }
    return {};
}

void NodeImpl::publish_remote(std::uint32_t output, const Sample& sample, const shm::Loan& loan,
                              std::uint64_t size) noexcept {
    // After the local send, so local receivers never wait for the network. The chunk is not
    // lent again before this returns (an output is used by one thread at a time), and
    // receivers only read it.
    const auto stamp = senders_[output].last_stamp();
    zf_remote_message m{};
    m.sequence = stamp.sequence;
    m.timestamp_ns = stamp.timestamp_ns;
    m.wall_time_ns = stamp.wall_time_ns;
    m.dtype = static_cast<std::uint8_t>(sample.dtype_);
    m.ndim = sample.ndim_;
    m.shape = sample.shape_.data();
    m.encoding = reinterpret_cast<const char*>(loan.metadata() + shm::kEncodingOffset);
    m.encoding_size = sample.encoding_size_;
    m.parameters = loan.metadata() + shm::kParametersOffset;
    m.parameters_size = sample.metadata_.size();
    m.payload = loan.data;
    m.payload_size = size;
    remote_->write(remote_index_[output], m);
}

void NodeImpl::release(std::uint32_t input, std::uint32_t chunk) noexcept {
    receiver_->release(input, chunk);
}

void NodeImpl::discard(std::uint32_t output, std::uint32_t chunk) noexcept {
    if (output < senders_.size()) {
        senders_[output].discard(shm::Loan{chunk, nullptr, 0});
    }
}

std::uint64_t NodeImpl::dropped_at(std::uint32_t input) const noexcept {
    return input < input_names.size() ? receiver_->dropped(input) : 0;
}

std::uint64_t NodeImpl::dropped(std::string_view input) const noexcept {
    for (std::uint32_t i = 0; i < input_names.size(); ++i) {
        if (input_names[i] == input) {
            return receiver_->dropped(i);
        }
    }
    return 0;
}

} // namespace detail

// ---- Event and Sample ------------------------------------------------------------------------

Event::Event(Event&& other) noexcept
    : kind(other.kind), id(other.id), data(other.data), timestamp_ns(other.timestamp_ns),
      sequence(other.sequence), message(other.message), owner_(other.owner_), input_(other.input_),
      chunk_(other.chunk_), wall_time_ns_(other.wall_time_ns_), dtype_(other.dtype_),
      ndim_(other.ndim_), shape_(other.shape_), encoding_(other.encoding_),
      metadata_(other.metadata_) {
    other.owner_ = nullptr;
}

Event& Event::operator=(Event&& other) noexcept {
    if (this != &other) {
        release();
        kind = other.kind;
        id = other.id;
        data = other.data;
        timestamp_ns = other.timestamp_ns;
        sequence = other.sequence;
        message = other.message;
        owner_ = other.owner_;
        input_ = other.input_;
        chunk_ = other.chunk_;
        wall_time_ns_ = other.wall_time_ns_;
        dtype_ = other.dtype_;
        ndim_ = other.ndim_;
        shape_ = other.shape_;
        encoding_ = other.encoding_;
        metadata_ = other.metadata_;
        other.owner_ = nullptr;
    }
    return *this;
}

Event::~Event() {
    release();
}

void Event::release() noexcept {
    if (owner_ != nullptr) {
        owner_->release(input_, chunk_);
        owner_ = nullptr;
        data = {};
        ndim_ = 0;
        dtype_ = DataType::bytes;
        encoding_ = {};
        metadata_ = {};
    }
}

std::expected<void, Error> Event::check_view(DataType type, std::size_t size,
                                             std::size_t align) const {
    // std::byte views any message; an untyped (bytes) message has no type to check, so it
    // reads as any T, subject to size and alignment.
    const bool any = type == DataType::bytes || dtype_ == DataType::bytes;
    if (!any && type != dtype_) {
        return std::unexpected(Error{
            ErrorKind::invalid_argument,
            "message on input '" + std::string(id) + "' holds " + std::string(to_string(dtype_)) +
                ", not " + std::string(to_string(type)) + "; read it as as<" +
                std::string(to_string(dtype_)) + " type>() or check event.dtype() first"});
    }
    if (data.size() % size != 0) {
        return std::unexpected(
            Error{ErrorKind::invalid_argument,
                  "message on input '" + std::string(id) + "' has " + std::to_string(data.size()) +
                      " bytes, not a multiple of the element size " + std::to_string(size)});
    }
    if (reinterpret_cast<std::uintptr_t>(data.data()) % align != 0) {
        return std::unexpected(
            Error{ErrorKind::invalid_argument, "message on input '" + std::string(id) +
                                                   "' is not aligned to " + std::to_string(align) +
                                                   " bytes for this element type"});
    }
    return {};
}

Sample::Sample(Sample&& other) noexcept
    : owner_(other.owner_), output_(other.output_), chunk_(other.chunk_), data_(other.data_),
      size_(other.size_), capacity_(other.capacity_), area_(other.area_), dtype_(other.dtype_),
      ndim_(other.ndim_), encoding_size_(other.encoding_size_),
      shape_invalid_(other.shape_invalid_), encoding_invalid_(other.encoding_invalid_),
      elements_(other.elements_), shape_(other.shape_), metadata_(std::move(other.metadata_)) {
    other.owner_ = nullptr;
}

Sample& Sample::operator=(Sample&& other) noexcept {
    if (this != &other) {
        discard();
        owner_ = other.owner_;
        output_ = other.output_;
        chunk_ = other.chunk_;
        data_ = other.data_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        area_ = other.area_;
        dtype_ = other.dtype_;
        ndim_ = other.ndim_;
        encoding_size_ = other.encoding_size_;
        shape_invalid_ = other.shape_invalid_;
        encoding_invalid_ = other.encoding_invalid_;
        elements_ = other.elements_;
        shape_ = other.shape_;
        metadata_ = std::move(other.metadata_);
        other.owner_ = nullptr;
    }
    return *this;
}

Sample::~Sample() {
    discard();
}

void Sample::discard() noexcept {
    if (owner_ != nullptr) {
        owner_->discard(output_, chunk_);
        owner_ = nullptr;
    }
}

Sample& Sample::set_shape(std::span<const std::uint64_t> shape) noexcept {
    if (shape.size() > kMaxDims) {
        shape_invalid_ = true;
        return *this;
    }
    std::uint64_t elements = 1;
    for (auto dim : shape) {
        if (__builtin_mul_overflow(elements, dim, &elements)) {
            shape_invalid_ = true;
            return *this;
        }
    }
    shape_invalid_ = false;
    std::copy(shape.begin(), shape.end(), shape_.begin());
    ndim_ = static_cast<std::uint8_t>(shape.size());
    elements_ = elements;
    return *this;
}

Sample& Sample::set_type(DataType dtype, std::span<const std::uint64_t> shape) noexcept {
    dtype_ = dtype;
    return set_shape(shape);
}

Sample& Sample::set_encoding(std::string_view encoding) noexcept {
    if (encoding.size() > kMaxEncodingSize || area_ == nullptr) {
        encoding_invalid_ = encoding.size() > kMaxEncodingSize;
        return *this;
    }
    encoding_invalid_ = false;
    std::memcpy(area_ + shm::kEncodingOffset, encoding.data(), encoding.size());
    encoding_size_ = static_cast<std::uint8_t>(encoding.size());
    return *this;
}

// ---- Output and Input ------------------------------------------------------------------------

std::expected<Sample, Error> Output::loan(std::size_t bytes) const {
    return impl_->loan_at(index_, bytes);
}

std::expected<Sample, Error> Output::loan_typed(DataType dtype, std::size_t count) const {
    if (static_cast<std::uint8_t>(dtype) > kLastDataType) {
        return std::unexpected(Error{ErrorKind::invalid_argument, "unknown DataType code"});
    }
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(count, element_size(dtype), &bytes)) {
        return std::unexpected(Error{ErrorKind::message_too_large,
                                     std::to_string(count) + " elements of " +
                                         std::string(to_string(dtype)) + " overflow a size"});
    }
    auto sample = impl_->loan_at(index_, bytes);
    if (sample) {
        const std::uint64_t shape[1] = {count};
        sample->set_type(dtype, shape);
    }
    return sample;
}

std::expected<void, Error> Output::send(std::span<const std::byte> bytes) const {
    auto sample = impl_->loan_at(index_, bytes.size());
    if (!sample) {
        return std::unexpected(std::move(sample.error()));
    }
    if (!bytes.empty()) {
        std::memcpy(sample->data().data(), bytes.data(), bytes.size());
    }
    return impl_->send(std::move(*sample));
}

const std::string& Output::id() const noexcept {
    return impl_->output_names[index_];
}

std::size_t Output::max_metadata_size() const noexcept {
    return impl_->sender(index_).max_metadata_size();
}

std::uint64_t Output::sent() const noexcept {
    return impl_->sender(index_).messages_sent();
}

bool Input::matches(const Event& event) const noexcept {
    return (event.kind == EventKind::Input || event.kind == EventKind::InputClosed) &&
           event.id == impl_->input_names[index_];
}

const std::string& Input::id() const noexcept {
    return impl_->input_names[index_];
}

std::uint64_t Input::dropped() const noexcept {
    return impl_->dropped_at(index_);
}

bool Input::from_timer() const noexcept {
    return impl_->input_from_timer[index_];
}

// ---- Node ------------------------------------------------------------------------------------

Node::Node(std::unique_ptr<detail::NodeImpl> impl) noexcept : impl_(std::move(impl)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

std::expected<Node, Error> Node::from_env() {
    const char* dataflow = std::getenv(protocol::kDataflowIdEnv);
    const char* node = std::getenv(protocol::kNodeIdEnv);
    if (dataflow == nullptr || node == nullptr || *dataflow == '\0' || *node == '\0') {
        return std::unexpected(Error{
            ErrorKind::missing_environment,
            std::string(protocol::kDataflowIdEnv) + " and " + protocol::kNodeIdEnv +
                " are not set: this program is a zeroflow node; start it through a dataflow "
                "(`zeroflow run dataflow.yml`), or declare it `path: dynamic` and connect with "
                "Node::connect_dynamic (C: zf_node_connect_dynamic)"});
    }
    auto impl = detail::NodeImpl::connect(
        protocol::Json{{"op", "register"}, {"dataflow_id", dataflow}, {"node_id", node}});
    if (!impl) {
        return std::unexpected(impl.error());
    }
    return Node(std::move(*impl));
}

std::expected<Node, Error> Node::connect_dynamic(std::string_view node_id) {
    const char* dataflow = std::getenv(protocol::kDataflowEnv);
    return connect_dynamic(node_id, dataflow != nullptr ? dataflow : "");
}

std::expected<Node, Error> Node::connect_dynamic(std::string_view node_id,
                                                 std::string_view dataflow) {
    protocol::Json request{{"op", "connect_dynamic"}, {"node_id", std::string(node_id)}};
    if (!dataflow.empty()) {
        request["dataflow"] = std::string(dataflow);
    }
    auto impl = detail::NodeImpl::connect(std::move(request));
    if (!impl) {
        return std::unexpected(impl.error());
    }
    return Node(std::move(*impl));
}

Event Node::next() {
    return *impl_->next(std::nullopt);
}

std::optional<Event> Node::next(std::chrono::nanoseconds timeout) {
    return impl_->next(timeout);
}

std::expected<Output, Error> Node::output(std::string_view id) {
    return impl_->output_handle(id);
}

std::expected<Input, Error> Node::input(std::string_view id) {
    return impl_->input_handle(id);
}

std::expected<Sample, Error> Node::loan(std::string_view output, std::size_t bytes) {
    return impl_->loan(output, bytes);
}

std::expected<void, Error> Node::send(Sample&& sample) {
    return impl_->send(std::move(sample));
}

std::expected<void, Error> Node::forward(Sample&& sample, const SenderStamp& stamp) {
    return impl_->send(std::move(sample), &stamp);
}

std::expected<void, Error> Node::send_output(std::string_view output,
                                             std::span<const std::byte> bytes) {
    auto sample = impl_->loan(output, bytes.size());
    if (!sample) {
        return std::unexpected(sample.error());
    }
    if (!bytes.empty()) {
        std::memcpy(sample->data().data(), bytes.data(), bytes.size());
    }
    return impl_->send(std::move(*sample));
}

const std::string& Node::id() const noexcept {
    return impl_->id;
}
const std::string& Node::dataflow_id() const noexcept {
    return impl_->dataflow_id;
}
std::vector<std::string> Node::inputs() const {
    return impl_->input_names;
}
std::vector<std::string> Node::outputs() const {
    return impl_->output_names;
}
std::uint64_t Node::dropped(std::string_view input) const noexcept {
    return impl_->dropped(input);
}

} // namespace zeroflow
