// The C API (<zeroflow/node.h>): opaque handles over the C++ API, status codes, a thread-local
// error message. Handles carry a magic and a state and their memory is never returned to the
// allocator while the library is loaded (events and samples are recycled, nodes and outputs are
// kept), so a freed, sent or closed handle is recognised instead of being read as garbage.
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <zeroflow/node.h>
#include <zeroflow/node.hpp>

namespace zf = zeroflow;

namespace {

enum class State : std::uint8_t { live, orphan, dead };

constexpr std::uint32_t kNodeMagic = 0x7a664e44;   // "zfND"
constexpr std::uint32_t kEventMagic = 0x7a664556;  // "zfEV"
constexpr std::uint32_t kOutputMagic = 0x7a664f55; // "zfOU"
constexpr std::uint32_t kSampleMagic = 0x7a665341; // "zfSA"

static_assert(ZF_MAX_DIMS == zf::kMaxDims);
static_assert(ZF_MAX_ENCODING_SIZE == zf::kMaxEncodingSize);
static_assert(ZF_DTYPE_BOOL == static_cast<int>(zf::DataType::boolean));
static_assert(ZF_DTYPE_BOOL == zf::kLastDataType);
static_assert(ZF_DTYPE_F32 == static_cast<int>(zf::DataType::f32));
static_assert(ZF_EVENT_ERROR == static_cast<int>(zf::EventKind::Error));
static_assert(ZF_EVENT_STOP == static_cast<int>(zf::EventKind::Stop));
static_assert(ZF_EVENT_ALL_INPUTS_CLOSED == static_cast<int>(zf::EventKind::AllInputsClosed));
static_assert(ZF_PARAM_STRING_LIST == static_cast<int>(zf::ParameterKind::string_list));
static_assert(ZF_PARAM_BOOL == static_cast<int>(zf::ParameterKind::boolean));
static_assert(ZF_ERR_INVALID_ARGUMENT == static_cast<int>(zf::ErrorKind::invalid_argument) + 1);
static_assert(ZF_ERR_TIMEOUT == static_cast<int>(zf::ErrorKind::timeout) + 1);
static_assert(ZF_ERR_METADATA_TOO_LARGE == static_cast<int>(zf::ErrorKind::metadata_too_large) + 1);
static_assert(ZF_ERR_NODE_IS_DYNAMIC == static_cast<int>(zf::ErrorKind::node_is_dynamic) + 1);

thread_local std::string t_last_error;

zf_status fail(zf_status status, std::string message) noexcept {
    try {
        t_last_error = std::move(message);
    } catch (...) {
        t_last_error.clear(); // out of memory: the status still says what happened
    }
    return status;
}

zf_status fail(const zf::Error& error) noexcept {
    return fail(static_cast<zf_status>(static_cast<int>(error.kind()) + 1), error.message());
}

zf_status null_argument(const char* function, const char* what) noexcept {
    return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": " + what + " is NULL");
}

/// Storage of every handle struct of one kind, for the life of the library: handles are never
/// freed while a caller may still hold them, so checking a stale one is defined behaviour.
template <typename T>
class Keep {
public:
    /// A dead struct to reuse, or a new one.
    T* take() {
        std::lock_guard lock(mutex_);
        if (!spare_.empty()) {
            T* t = spare_.back();
            spare_.pop_back();
            return t;
        }
        all_.push_back(std::make_unique<T>());
        return all_.back().get();
    }
    /// Returns a dead struct for reuse (by any node).
    void give(T* t) {
        std::lock_guard lock(mutex_);
        spare_.push_back(t);
    }
    /// Keeps `t` for good (nodes and outputs: their handles must stay recognisable).
    void keep(std::unique_ptr<T> t) {
        std::lock_guard lock(mutex_);
        all_.push_back(std::move(t));
    }
    ~Keep() {
        // A node never closed still owns its structs: leave those (and their chunks) alone.
        for (auto& t : all_) {
            if (t->state == State::live) {
                (void)t.release();
            }
        }
    }

private:
    std::mutex mutex_;
    std::vector<std::unique_ptr<T>> all_;
    std::vector<T*> spare_;
};

} // namespace

struct zf_output {
    std::uint32_t magic = kOutputMagic;
    State state = State::live;
    zf_node* owner = nullptr;
    std::optional<zf::Output> output;
};

/// Pointers a zf_event's accessors hand out beyond the event itself (parameter lists), kept
/// until the event is freed. Allocated on first use: the plain path never touches it.
struct EventCaches {
    bool params_ready = false;
    std::vector<std::pair<std::string_view, zf::ParameterKind>> params;
    std::deque<std::vector<std::int64_t>> int_lists;
    std::deque<std::vector<double>> double_lists;
    std::deque<std::vector<zf_str>> string_lists;
};

struct zf_event {
    std::uint32_t magic = kEventMagic;
    State state = State::dead;
    bool from_timer = false;
    bool caches_used = false;
    zf_node* owner = nullptr;
    std::optional<zf::Event> event; ///< engaged while live
    char encoding[ZF_MAX_ENCODING_SIZE + 1] = {};
    std::unique_ptr<EventCaches> caches;

    EventCaches& cache() {
        if (!caches) {
            caches = std::make_unique<EventCaches>();
        }
        caches_used = true;
        return *caches;
    }
    /// Hands the chunk back and forgets what was handed out (allocations are kept for reuse).
    void reset() {
        event.reset();
        from_timer = false;
        if (caches_used) {
            caches->params_ready = false;
            caches->params.clear();
            caches->int_lists.clear();
            caches->double_lists.clear();
            caches->string_lists.clear();
            caches_used = false;
        }
    }
};

struct zf_sample {
    std::uint32_t magic = kSampleMagic;
    State state = State::dead;
    zf_node* owner = nullptr;
    zf_output* output = nullptr;
    /// The loan as Output::loan returned it, built in place (a Sample is large to move);
    /// engaged and holding a Sample while live.
    std::optional<std::expected<zf::Sample, zf::Error>> slot;
    zf::Sample& get() { return **slot; }
};

struct zf_node {
    std::uint32_t magic = kNodeMagic;
    State state = State::live;
    std::optional<zf::Node> node;
    std::vector<zf_output*> outputs;
    std::vector<std::string> timer_inputs;
    std::vector<zf_event*> events; ///< every event struct this node holds, live or spare
    std::vector<zf_event*> spare_events;
    std::vector<zf_sample*> samples;
    std::vector<zf_sample*> spare_samples;
};

namespace {

Keep<zf_node>& nodes() {
    static Keep<zf_node> keep;
    return keep;
}
Keep<zf_output>& outputs() {
    static Keep<zf_output> keep;
    return keep;
}
Keep<zf_event>& events() {
    static Keep<zf_event> keep;
    return keep;
}
Keep<zf_sample>& samples() {
    static Keep<zf_sample> keep;
    return keep;
}

[[gnu::cold, gnu::noinline]] zf_status check_node_slow(const zf_node* node,
                                                       const char* function) noexcept {
    if (node == nullptr) {
        return null_argument(function, "the node");
    }
    if (node->magic != kNodeMagic) {
        return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": not a zeroflow node");
    }
    if (node->state != State::live) {
        return fail(ZF_ERR_CLOSED, std::string(function) + ": the node was closed (zf_node_close)");
    }
    return ZF_OK;
}

[[gnu::cold, gnu::noinline]] zf_status check_event_slow(const zf_event* event,
                                                        const char* function) noexcept {
    if (event == nullptr) {
        return null_argument(function, "the event");
    }
    if (event->magic != kEventMagic) {
        return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": not a zeroflow event");
    }
    if (event->state == State::dead) {
        return fail(ZF_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": the event was freed already (zf_event_free)");
    }
    if (event->state == State::orphan) {
        return fail(ZF_ERR_CLOSED, std::string(function) +
                                       ": the event's node was closed; only zf_event_free "
                                       "is allowed on it");
    }
    return ZF_OK;
}

[[gnu::cold, gnu::noinline]] zf_status check_output_slow(const zf_output* output,
                                                         const char* function) noexcept {
    if (output == nullptr) {
        return null_argument(function, "the output");
    }
    if (output->magic != kOutputMagic) {
        return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": not a zeroflow output");
    }
    if (output->state != State::live) {
        return fail(ZF_ERR_CLOSED,
                    std::string(function) + ": the output's node was closed (zf_node_close)");
    }
    return ZF_OK;
}

[[gnu::cold, gnu::noinline]] zf_status check_sample_slow(const zf_sample* sample,
                                                         const char* function) noexcept {
    if (sample == nullptr) {
        return null_argument(function, "the sample");
    }
    if (sample->magic != kSampleMagic) {
        return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": not a zeroflow sample");
    }
    if (sample->state == State::dead) {
        return fail(ZF_ERR_INVALID_ARGUMENT,
                    std::string(function) +
                        ": the sample was sent or discarded already (zf_sample_send / "
                        "zf_sample_discard end it)");
    }
    if (sample->state == State::orphan) {
        return fail(ZF_ERR_CLOSED, std::string(function) + ": the sample's node was closed; only "
                                                           "zf_sample_discard is allowed on it");
    }
    return ZF_OK;
}

/// The checks every call makes: inline on the hot path, the reasons out of line.
inline zf_status check_node(const zf_node* node, const char* function) noexcept {
    if (node != nullptr && node->magic == kNodeMagic && node->state == State::live) [[likely]] {
        return ZF_OK;
    }
    return check_node_slow(node, function);
}
inline zf_status check_event(const zf_event* event, const char* function) noexcept {
    if (event != nullptr && event->magic == kEventMagic && event->state == State::live) [[likely]] {
        return ZF_OK;
    }
    return check_event_slow(event, function);
}
inline zf_status check_output(const zf_output* output, const char* function) noexcept {
    if (output != nullptr && output->magic == kOutputMagic && output->state == State::live)
        [[likely]] {
        return ZF_OK;
    }
    return check_output_slow(output, function);
}
inline zf_status check_sample(const zf_sample* sample, const char* function) noexcept {
    if (sample != nullptr && sample->magic == kSampleMagic && sample->state == State::live)
        [[likely]] {
        return ZF_OK;
    }
    return check_sample_slow(sample, function);
}

#define ZF_CHECK(expr)                                                                             \
    do {                                                                                           \
        if (const zf_status zf_checked = (expr); zf_checked != ZF_OK) {                            \
            return zf_checked;                                                                     \
        }                                                                                          \
    } while (false)

#define ZF_NOT_NULL(ptr, function, what)                                                           \
    do {                                                                                           \
        if ((ptr) == nullptr) {                                                                    \
            return null_argument(function, what);                                                  \
        }                                                                                          \
    } while (false)

/// Runs `body` (which may allocate) and turns an escaping exception into ZF_ERR_INTERNAL: no
/// exception may cross into C.
template <typename Body>
zf_status guarded(const char* function, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        return fail(ZF_ERR_INTERNAL, std::string(function) + ": " + e.what());
    } catch (...) {
        return fail(ZF_ERR_INTERNAL, std::string(function) + ": unknown exception");
    }
}

zf_status make_node(std::expected<zf::Node, zf::Error> connected, zf_node** out) {
    if (!connected) {
        return fail(connected.error());
    }
    auto node = std::make_unique<zf_node>();
    node->node.emplace(std::move(*connected));
    for (const auto& id : node->node->inputs()) {
        if (auto input = node->node->input(id); input && input->from_timer()) {
            node->timer_inputs.push_back(id);
        }
    }
    *out = node.get();
    nodes().keep(std::move(node));
    return ZF_OK;
}

zf_event* take_event(zf_node* node) {
    zf_event* event = nullptr;
    if (!node->spare_events.empty()) {
        event = node->spare_events.back();
        node->spare_events.pop_back();
    } else {
        event = events().take();
        node->events.push_back(event);
    }
    event->owner = node;
    event->state = State::live;
    return event;
}

zf_sample* take_sample(zf_node* node) {
    zf_sample* sample = nullptr;
    if (!node->spare_samples.empty()) {
        sample = node->spare_samples.back();
        node->spare_samples.pop_back();
    } else {
        sample = samples().take();
        node->samples.push_back(sample);
    }
    sample->owner = node;
    sample->state = State::live;
    return sample;
}

/// Ends a sample handle (its zf::Sample already consumed or discarded).
void end_sample(zf_sample* sample) {
    sample->slot.reset();
    sample->state = State::dead;
    sample->output = nullptr;
    sample->owner->spare_samples.push_back(sample);
}

/// Converts to the result of `f()`: lets optional::emplace build a value from a function's
/// result in place (guaranteed elision), where emplace(f()) would move it once more.
template <typename F>
struct InPlace {
    F f;
    operator std::invoke_result_t<F&>() { return f(); } // NOLINT(google-explicit-constructor)
};
template <typename F>
InPlace(F) -> InPlace<F>;

/// Hands out the next event of `node` (`next` returns it) as a zf_event.
template <typename Next>
zf_status deliver(zf_node* node, Next&& next, zf_event** out) {
    zf_event* event = take_event(node);
    event->event.emplace(InPlace{std::forward<Next>(next)});
    if (event->event->kind == zf::EventKind::Input && !node->timer_inputs.empty()) {
        for (const auto& id : node->timer_inputs) {
            if (event->event->id == id) {
                event->from_timer = true;
            }
        }
    }
    *out = event;
    return ZF_OK;
}

void cache_params(zf_event* event) {
    auto& cache = event->cache();
    if (!cache.params_ready) {
        for (const auto& key : event->event->metadata().keys()) {
            cache.params.emplace_back(key, *event->event->metadata().kind(key));
        }
        cache.params_ready = true;
    }
}

/// ZF_OK when `key` exists with a value of `kind`; NOT_FOUND or WRONG_TYPE otherwise.
zf_status check_param(const zf_event* event, const char* key, zf::ParameterKind kind,
                      const char* function) {
    const auto found = event->event->metadata().kind(key);
    if (!found) {
        return fail(ZF_ERR_NOT_FOUND, std::string(function) + ": the message on input '" +
                                          std::string(event->event->id) + "' has no parameter '" +
                                          key + "'");
    }
    const bool converts = kind == zf::ParameterKind::float64 && *found == zf::ParameterKind::int64;
    if (*found != kind && !converts) {
        return fail(ZF_ERR_WRONG_TYPE, std::string(function) + ": parameter '" + key +
                                           "' holds another kind of value (zf_param_kind " +
                                           std::to_string(static_cast<int>(*found)) + ")");
    }
    return ZF_OK;
}

/// After a setter: the metadata's problem, if any, as a status (send will refuse the sample).
zf_status param_problem(zf_sample* sample, const char* function) {
    auto& meta = sample->get().metadata();
    const auto& output = sample->output->output->id();
    switch (meta.problem()) {
    case zf::SampleMetadata::Problem::none:
        return ZF_OK;
    case zf::SampleMetadata::Problem::too_large:
        return fail(ZF_ERR_METADATA_TOO_LARGE,
                    std::string(function) + ": the parameters would need " +
                        std::to_string(meta.needed()) + " bytes (at key '" + meta.problem_key() +
                        "'), output '" + output + "' takes " + std::to_string(meta.capacity()) +
                        " (max_metadata_size); zf_sample_send will refuse this sample");
    case zf::SampleMetadata::Problem::bad_key:
        return fail(ZF_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": parameter keys must be 1 to 255 bytes ('" +
                        meta.problem_key() + "'); zf_sample_send will refuse this sample");
    case zf::SampleMetadata::Problem::bad_value:
        return fail(ZF_ERR_INVALID_ARGUMENT,
                    std::string(function) + ": the value of parameter '" + meta.problem_key() +
                        "' does not fit; zf_sample_send will refuse this sample");
    }
    return ZF_OK;
}

} // namespace

extern "C" {

const char* zf_last_error_message(void) {
    return t_last_error.c_str();
}

const char* zf_status_name(zf_status status) {
    switch (status) {
    case ZF_OK:
        return "ok";
    case ZF_ERR_NOT_FOUND:
        return "not_found";
    case ZF_ERR_WRONG_TYPE:
        return "wrong_type";
    default:
        break;
    }
    const int kind = static_cast<int>(status) - 1;
    if (kind >= 0 && kind <= static_cast<int>(zf::ErrorKind::node_is_dynamic)) {
        // to_string returns views of string literals: NUL-terminated.
        return zf::to_string(static_cast<zf::ErrorKind>(kind)).data();
    }
    return "unknown";
}

// ---- Nodes ------------------------------------------------------------------------------------

zf_status zf_node_from_env(zf_node** node) {
    ZF_NOT_NULL(node, "zf_node_from_env", "the node out-parameter");
    return guarded("zf_node_from_env", [&] { return make_node(zf::Node::from_env(), node); });
}

zf_status zf_node_connect_dynamic(const char* node_id, const char* dataflow, zf_node** node) {
    ZF_NOT_NULL(node_id, "zf_node_connect_dynamic", "node_id");
    ZF_NOT_NULL(node, "zf_node_connect_dynamic", "the node out-parameter");
    return guarded("zf_node_connect_dynamic", [&] {
        if (dataflow == nullptr || *dataflow == '\0') {
            return make_node(zf::Node::connect_dynamic(node_id), node);
        }
        return make_node(zf::Node::connect_dynamic(node_id, dataflow), node);
    });
}

zf_status zf_node_close(zf_node* node) {
    ZF_CHECK(check_node(node, "zf_node_close"));
    return guarded("zf_node_close", [&] {
        // Chunks go back while the node still exists (events and samples must not outlive it).
        for (zf_event* event : node->events) {
            if (event->state == State::live) {
                event->reset();
                event->state = State::orphan;
            } else {
                events().give(event);
            }
        }
        for (zf_sample* sample : node->samples) {
            if (sample->state == State::live) {
                sample->slot.reset();
                sample->state = State::orphan;
            } else {
                samples().give(sample);
            }
        }
        for (zf_output* output : node->outputs) {
            output->output.reset();
            output->state = State::dead;
        }
        node->events.clear();
        node->spare_events.clear();
        node->samples.clear();
        node->spare_samples.clear();
        node->outputs.clear();
        node->state = State::dead;
        node->node.reset(); // closes the outputs and disconnects
        return ZF_OK;
    });
}

zf_status zf_node_id(const zf_node* node, const char** id) {
    ZF_CHECK(check_node(node, "zf_node_id"));
    ZF_NOT_NULL(id, "zf_node_id", "id");
    *id = node->node->id().c_str();
    return ZF_OK;
}

zf_status zf_node_dataflow_id(const zf_node* node, const char** dataflow_id) {
    ZF_CHECK(check_node(node, "zf_node_dataflow_id"));
    ZF_NOT_NULL(dataflow_id, "zf_node_dataflow_id", "dataflow_id");
    *dataflow_id = node->node->dataflow_id().c_str();
    return ZF_OK;
}

zf_status zf_node_dropped(const zf_node* node, const char* input, uint64_t* dropped) {
    ZF_CHECK(check_node(node, "zf_node_dropped"));
    ZF_NOT_NULL(input, "zf_node_dropped", "input");
    ZF_NOT_NULL(dropped, "zf_node_dropped", "dropped");
    return guarded("zf_node_dropped", [&] {
        auto handle = const_cast<zf::Node&>(*node->node).input(input);
        if (!handle) {
            return fail(handle.error());
        }
        *dropped = handle->dropped();
        return ZF_OK;
    });
}

zf_status zf_node_input_from_timer(const zf_node* node, const char* input, bool* from_timer) {
    ZF_CHECK(check_node(node, "zf_node_input_from_timer"));
    ZF_NOT_NULL(input, "zf_node_input_from_timer", "input");
    ZF_NOT_NULL(from_timer, "zf_node_input_from_timer", "from_timer");
    return guarded("zf_node_input_from_timer", [&] {
        auto handle = const_cast<zf::Node&>(*node->node).input(input);
        if (!handle) {
            return fail(handle.error());
        }
        *from_timer = handle->from_timer();
        return ZF_OK;
    });
}

// ---- Events -----------------------------------------------------------------------------------

zf_status zf_node_next(zf_node* node, zf_event** event) {
    ZF_CHECK(check_node(node, "zf_node_next"));
    ZF_NOT_NULL(event, "zf_node_next", "the event out-parameter");
    return guarded("zf_node_next", [&] {
        return deliver(
            node, [node] { return node->node->next(); }, event);
    });
}

zf_status zf_node_next_timeout(zf_node* node, uint64_t timeout_ns, zf_event** event) {
    ZF_CHECK(check_node(node, "zf_node_next_timeout"));
    ZF_NOT_NULL(event, "zf_node_next_timeout", "the event out-parameter");
    return guarded("zf_node_next_timeout", [&] {
        // Durations beyond int64 nanoseconds (292 years) wait "forever".
        const auto ns = std::chrono::nanoseconds(static_cast<std::int64_t>(
            std::min<uint64_t>(timeout_ns, static_cast<uint64_t>(INT64_MAX))));
        auto e = node->node->next(ns);
        if (!e) {
            return fail(ZF_ERR_TIMEOUT, "zf_node_next_timeout: no event within " +
                                            std::to_string(timeout_ns) + " ns");
        }
        return deliver(
            node, [&e]() { return std::move(*e); }, event);
    });
}

zf_status zf_event_free(zf_event* event) {
    if (event == nullptr) {
        return ZF_OK;
    }
    if (event->magic != kEventMagic) {
        return fail(ZF_ERR_INVALID_ARGUMENT, "zf_event_free: not a zeroflow event");
    }
    if (event->state == State::dead) {
        return fail(ZF_ERR_INVALID_ARGUMENT,
                    "zf_event_free: the event was freed already (double free)");
    }
    return guarded("zf_event_free", [&] {
        event->reset();
        if (event->state == State::orphan) {
            event->state = State::dead;
            events().give(event); // its node is gone: any node may reuse it
        } else {
            event->state = State::dead;
            event->owner->spare_events.push_back(event);
        }
        return ZF_OK;
    });
}

zf_status zf_event_kind_of(const zf_event* event, zf_event_kind* kind) {
    ZF_CHECK(check_event(event, "zf_event_kind_of"));
    ZF_NOT_NULL(kind, "zf_event_kind_of", "kind");
    *kind = static_cast<zf_event_kind>(event->event->kind);
    return ZF_OK;
}

zf_status zf_event_id(const zf_event* event, const char** id, size_t* size) {
    ZF_CHECK(check_event(event, "zf_event_id"));
    ZF_NOT_NULL(id, "zf_event_id", "id");
    // Input ids view the node's std::string names in full: NUL-terminated.
    const auto view = event->event->id;
    *id = view.empty() ? "" : view.data();
    if (size != nullptr) {
        *size = view.size();
    }
    return ZF_OK;
}

zf_status zf_event_data(const zf_event* event, const void** data, size_t* size) {
    ZF_CHECK(check_event(event, "zf_event_data"));
    ZF_NOT_NULL(data, "zf_event_data", "data");
    ZF_NOT_NULL(size, "zf_event_data", "size");
    const auto bytes = event->event->data;
    *data = bytes.empty() ? nullptr : bytes.data();
    *size = bytes.size();
    return ZF_OK;
}

zf_status zf_event_dtype(const zf_event* event, zf_dtype* dtype) {
    ZF_CHECK(check_event(event, "zf_event_dtype"));
    ZF_NOT_NULL(dtype, "zf_event_dtype", "dtype");
    *dtype = static_cast<zf_dtype>(event->event->dtype());
    return ZF_OK;
}

zf_status zf_event_shape(const zf_event* event, const uint64_t** dims, size_t* ndim) {
    ZF_CHECK(check_event(event, "zf_event_shape"));
    ZF_NOT_NULL(dims, "zf_event_shape", "dims");
    ZF_NOT_NULL(ndim, "zf_event_shape", "ndim");
    const auto shape = event->event->shape();
    *dims = shape.empty() ? nullptr : shape.data();
    *ndim = shape.size();
    return ZF_OK;
}

zf_status zf_event_encoding(const zf_event* event, const char** encoding) {
    ZF_CHECK(check_event(event, "zf_event_encoding"));
    ZF_NOT_NULL(encoding, "zf_event_encoding", "encoding");
    // The encoding lies in shared memory without a NUL: copy it next to the event.
    auto* mutable_event = const_cast<zf_event*>(event);
    const auto view = event->event->encoding();
    const auto n = std::min<std::size_t>(view.size(), ZF_MAX_ENCODING_SIZE);
    if (n != 0) {
        std::memcpy(mutable_event->encoding, view.data(), n);
    }
    mutable_event->encoding[n] = '\0';
    *encoding = mutable_event->encoding;
    return ZF_OK;
}

zf_status zf_event_timestamp_ns(const zf_event* event, uint64_t* ns) {
    ZF_CHECK(check_event(event, "zf_event_timestamp_ns"));
    ZF_NOT_NULL(ns, "zf_event_timestamp_ns", "ns");
    *ns = event->event->timestamp_ns;
    return ZF_OK;
}

zf_status zf_event_wall_time_ns(const zf_event* event, uint64_t* ns) {
    ZF_CHECK(check_event(event, "zf_event_wall_time_ns"));
    ZF_NOT_NULL(ns, "zf_event_wall_time_ns", "ns");
    *ns = event->event->wall_time_ns();
    return ZF_OK;
}

zf_status zf_event_from_timer(const zf_event* event, bool* from_timer) {
    ZF_CHECK(check_event(event, "zf_event_from_timer"));
    ZF_NOT_NULL(from_timer, "zf_event_from_timer", "from_timer");
    *from_timer = event->from_timer;
    return ZF_OK;
}

zf_status zf_event_sequence(const zf_event* event, uint64_t* sequence) {
    ZF_CHECK(check_event(event, "zf_event_sequence"));
    ZF_NOT_NULL(sequence, "zf_event_sequence", "sequence");
    *sequence = event->event->sequence;
    return ZF_OK;
}

zf_status zf_event_error_message(const zf_event* event, const char** message) {
    ZF_CHECK(check_event(event, "zf_event_error_message"));
    ZF_NOT_NULL(message, "zf_event_error_message", "message");
    // Error messages view a std::string of the node in full: NUL-terminated.
    const auto view = event->event->message;
    *message = view.empty() ? "" : view.data();
    return ZF_OK;
}

zf_status zf_event_param_count(const zf_event* event, size_t* count) {
    ZF_CHECK(check_event(event, "zf_event_param_count"));
    ZF_NOT_NULL(count, "zf_event_param_count", "count");
    return guarded("zf_event_param_count", [&] {
        auto* e = const_cast<zf_event*>(event);
        cache_params(e);
        *count = e->caches->params.size();
        return ZF_OK;
    });
}

zf_status zf_event_param_at(const zf_event* event, size_t index, zf_str* key, zf_param_kind* kind) {
    ZF_CHECK(check_event(event, "zf_event_param_at"));
    ZF_NOT_NULL(key, "zf_event_param_at", "key");
    ZF_NOT_NULL(kind, "zf_event_param_at", "kind");
    return guarded("zf_event_param_at", [&] {
        auto* e = const_cast<zf_event*>(event);
        cache_params(e);
        if (index >= e->caches->params.size()) {
            return fail(ZF_ERR_INVALID_ARGUMENT,
                        "zf_event_param_at: index " + std::to_string(index) +
                            " is beyond the message's " + std::to_string(e->caches->params.size()) +
                            " parameters");
        }
        key->data = e->caches->params[index].first.data();
        key->size = e->caches->params[index].first.size();
        *kind = static_cast<zf_param_kind>(e->caches->params[index].second);
        return ZF_OK;
    });
}

zf_status zf_event_param_kind(const zf_event* event, const char* key, zf_param_kind* kind) {
    ZF_CHECK(check_event(event, "zf_event_param_kind"));
    ZF_NOT_NULL(key, "zf_event_param_kind", "key");
    ZF_NOT_NULL(kind, "zf_event_param_kind", "kind");
    const auto found = event->event->metadata().kind(key);
    if (!found) {
        return fail(ZF_ERR_NOT_FOUND,
                    std::string("zf_event_param_kind: no parameter '") + key + "'");
    }
    *kind = static_cast<zf_param_kind>(*found);
    return ZF_OK;
}

zf_status zf_event_get_bool(const zf_event* event, const char* key, bool* value) {
    ZF_CHECK(check_event(event, "zf_event_get_bool"));
    ZF_NOT_NULL(key, "zf_event_get_bool", "key");
    ZF_NOT_NULL(value, "zf_event_get_bool", "value");
    return guarded("zf_event_get_bool", [&] {
        ZF_CHECK(check_param(event, key, zf::ParameterKind::boolean, "zf_event_get_bool"));
        *value = *event->event->metadata().get_bool(key);
        return ZF_OK;
    });
}

zf_status zf_event_get_int(const zf_event* event, const char* key, int64_t* value) {
    ZF_CHECK(check_event(event, "zf_event_get_int"));
    ZF_NOT_NULL(key, "zf_event_get_int", "key");
    ZF_NOT_NULL(value, "zf_event_get_int", "value");
    return guarded("zf_event_get_int", [&] {
        ZF_CHECK(check_param(event, key, zf::ParameterKind::int64, "zf_event_get_int"));
        *value = *event->event->metadata().get_int(key);
        return ZF_OK;
    });
}

zf_status zf_event_get_double(const zf_event* event, const char* key, double* value) {
    ZF_CHECK(check_event(event, "zf_event_get_double"));
    ZF_NOT_NULL(key, "zf_event_get_double", "key");
    ZF_NOT_NULL(value, "zf_event_get_double", "value");
    return guarded("zf_event_get_double", [&] {
        ZF_CHECK(check_param(event, key, zf::ParameterKind::float64, "zf_event_get_double"));
        *value = *event->event->metadata().get_double(key);
        return ZF_OK;
    });
}

zf_status zf_event_get_string(const zf_event* event, const char* key, zf_str* value) {
    ZF_CHECK(check_event(event, "zf_event_get_string"));
    ZF_NOT_NULL(key, "zf_event_get_string", "key");
    ZF_NOT_NULL(value, "zf_event_get_string", "value");
    return guarded("zf_event_get_string", [&] {
        ZF_CHECK(check_param(event, key, zf::ParameterKind::string, "zf_event_get_string"));
        const auto s = *event->event->metadata().get_string(key);
        value->data = s.data();
        value->size = s.size();
        return ZF_OK;
    });
}

zf_status zf_event_get_int_list(const zf_event* event, const char* key, const int64_t** values,
                                size_t* count) {
    ZF_CHECK(check_event(event, "zf_event_get_int_list"));
    ZF_NOT_NULL(key, "zf_event_get_int_list", "key");
    ZF_NOT_NULL(values, "zf_event_get_int_list", "values");
    ZF_NOT_NULL(count, "zf_event_get_int_list", "count");
    return guarded("zf_event_get_int_list", [&] {
        ZF_CHECK(check_param(event, key, zf::ParameterKind::int64_list, "zf_event_get_int_list"));
        auto& kept = const_cast<zf_event*>(event)->cache().int_lists.emplace_back(
            *event->event->metadata().get_int_list(key));
        *values = kept.empty() ? nullptr : kept.data();
        *count = kept.size();
        return ZF_OK;
    });
}

zf_status zf_event_get_double_list(const zf_event* event, const char* key, const double** values,
                                   size_t* count) {
    ZF_CHECK(check_event(event, "zf_event_get_double_list"));
    ZF_NOT_NULL(key, "zf_event_get_double_list", "key");
    ZF_NOT_NULL(values, "zf_event_get_double_list", "values");
    ZF_NOT_NULL(count, "zf_event_get_double_list", "count");
    return guarded("zf_event_get_double_list", [&] {
        ZF_CHECK(
            check_param(event, key, zf::ParameterKind::float64_list, "zf_event_get_double_list"));
        auto& kept = const_cast<zf_event*>(event)->cache().double_lists.emplace_back(
            *event->event->metadata().get_double_list(key));
        *values = kept.empty() ? nullptr : kept.data();
        *count = kept.size();
        return ZF_OK;
    });
}

zf_status zf_event_get_string_list(const zf_event* event, const char* key, const zf_str** values,
                                   size_t* count) {
    ZF_CHECK(check_event(event, "zf_event_get_string_list"));
    ZF_NOT_NULL(key, "zf_event_get_string_list", "key");
    ZF_NOT_NULL(values, "zf_event_get_string_list", "values");
    ZF_NOT_NULL(count, "zf_event_get_string_list", "count");
    return guarded("zf_event_get_string_list", [&] {
        ZF_CHECK(
            check_param(event, key, zf::ParameterKind::string_list, "zf_event_get_string_list"));
        std::vector<zf_str> strings;
        const auto views = event->event->metadata().get_string_list(key); // kept: views of it
        for (const auto s : *views) {
            strings.push_back(zf_str{s.data(), s.size()});
        }
        auto& kept =
            const_cast<zf_event*>(event)->cache().string_lists.emplace_back(std::move(strings));
        *values = kept.empty() ? nullptr : kept.data();
        *count = kept.size();
        return ZF_OK;
    });
}

// ---- Outputs and samples ----------------------------------------------------------------------

zf_status zf_node_output(zf_node* node, const char* id, zf_output** output) {
    ZF_CHECK(check_node(node, "zf_node_output"));
    ZF_NOT_NULL(id, "zf_node_output", "id");
    ZF_NOT_NULL(output, "zf_node_output", "the output out-parameter");
    return guarded("zf_node_output", [&] {
        for (zf_output* known : node->outputs) {
            if (known->output->id() == id) {
                *output = known;
                return ZF_OK;
            }
        }
        auto handle = node->node->output(id);
        if (!handle) {
            return fail(handle.error());
        }
        auto made = std::make_unique<zf_output>();
        made->owner = node;
        made->output.emplace(*handle);
        node->outputs.push_back(made.get());
        *output = made.get();
        outputs().keep(std::move(made));
        return ZF_OK;
    });
}

zf_status zf_output_send(zf_output* output, const void* data, size_t size) {
    ZF_CHECK(check_output(output, "zf_output_send"));
    if (data == nullptr && size != 0) {
        return null_argument("zf_output_send", "data (with a size > 0)");
    }
    return guarded("zf_output_send", [&] {
        auto sent = output->output->send({static_cast<const std::byte*>(data), size});
        return sent ? ZF_OK : fail(sent.error());
    });
}

zf_status zf_node_send_output(zf_node* node, const char* output, const void* data, size_t size) {
    ZF_CHECK(check_node(node, "zf_node_send_output"));
    ZF_NOT_NULL(output, "zf_node_send_output", "output");
    zf_output* handle = nullptr;
    ZF_CHECK(zf_node_output(node, output, &handle));
    return zf_output_send(handle, data, size);
}

} // extern "C"

namespace {

/// Runs `loan` (an Output loan call) straight into a new sample handle.
template <typename Loan>
zf_status wrap_loan(zf_output* output, Loan&& loan, zf_sample** sample) {
    zf_sample* made = take_sample(output->owner);
    made->slot.emplace(InPlace{std::forward<Loan>(loan)});
    if (!*made->slot) {
        const zf_status status = fail(made->slot->error());
        end_sample(made);
        return status;
    }
    made->output = output;
    *sample = made;
    return ZF_OK;
}

} // namespace

extern "C" {

zf_status zf_output_loan(zf_output* output, size_t bytes, zf_sample** sample) {
    ZF_CHECK(check_output(output, "zf_output_loan"));
    ZF_NOT_NULL(sample, "zf_output_loan", "the sample out-parameter");
    return guarded("zf_output_loan", [&] {
        return wrap_loan(
            output, [&] { return output->output->loan(bytes); }, sample);
    });
}

zf_status zf_output_loan_typed(zf_output* output, zf_dtype dtype, size_t count,
                               zf_sample** sample) {
    ZF_CHECK(check_output(output, "zf_output_loan_typed"));
    ZF_NOT_NULL(sample, "zf_output_loan_typed", "the sample out-parameter");
    if (static_cast<int>(dtype) < 0 || static_cast<int>(dtype) > zf::kLastDataType) {
        return fail(ZF_ERR_INVALID_ARGUMENT, "zf_output_loan_typed: unknown zf_dtype " +
                                                 std::to_string(static_cast<int>(dtype)));
    }
    return guarded("zf_output_loan_typed", [&] {
        return wrap_loan(
            output,
            [&] { return output->output->loan_typed(static_cast<zf::DataType>(dtype), count); },
            sample);
    });
}

zf_status zf_sample_data(zf_sample* sample, void** data, size_t* size) {
    ZF_CHECK(check_sample(sample, "zf_sample_data"));
    ZF_NOT_NULL(data, "zf_sample_data", "data");
    ZF_NOT_NULL(size, "zf_sample_data", "size");
    const auto bytes = sample->get().data();
    *data = bytes.data();
    *size = bytes.size();
    return ZF_OK;
}

zf_status zf_sample_resize(zf_sample* sample, size_t bytes) {
    ZF_CHECK(check_sample(sample, "zf_sample_resize"));
    if (bytes > sample->get().data().size()) {
        return fail(ZF_ERR_INVALID_ARGUMENT, "zf_sample_resize: " + std::to_string(bytes) +
                                                 " bytes is more than the " +
                                                 std::to_string(sample->get().data().size()) +
                                                 " the sample holds; loan a bigger sample instead");
    }
    sample->get().resize(bytes);
    return ZF_OK;
}

} // extern "C"

namespace {

zf_status check_shape(const uint64_t* dims, size_t ndim, const char* function) {
    if (ndim > ZF_MAX_DIMS) {
        return fail(ZF_ERR_INVALID_ARGUMENT, std::string(function) + ": " + std::to_string(ndim) +
                                                 " dimensions; at most " +
                                                 std::to_string(ZF_MAX_DIMS));
    }
    if (dims == nullptr && ndim != 0) {
        return null_argument(function, "dims (with ndim > 0)");
    }
    return ZF_OK;
}

} // namespace

extern "C" {

zf_status zf_sample_set_shape(zf_sample* sample, const uint64_t* dims, size_t ndim) {
    ZF_CHECK(check_sample(sample, "zf_sample_set_shape"));
    ZF_CHECK(check_shape(dims, ndim, "zf_sample_set_shape"));
    sample->get().set_shape(std::span<const std::uint64_t>(dims, ndim));
    return ZF_OK;
}

zf_status zf_sample_set_type(zf_sample* sample, zf_dtype dtype, const uint64_t* dims, size_t ndim) {
    ZF_CHECK(check_sample(sample, "zf_sample_set_type"));
    if (static_cast<int>(dtype) < 0 || static_cast<int>(dtype) > zf::kLastDataType) {
        return fail(ZF_ERR_INVALID_ARGUMENT, "zf_sample_set_type: unknown zf_dtype " +
                                                 std::to_string(static_cast<int>(dtype)));
    }
    ZF_CHECK(check_shape(dims, ndim, "zf_sample_set_type"));
    sample->get().set_type(static_cast<zf::DataType>(dtype),
                           std::span<const std::uint64_t>(dims, ndim));
    return ZF_OK;
}

zf_status zf_sample_set_encoding(zf_sample* sample, const char* encoding) {
    ZF_CHECK(check_sample(sample, "zf_sample_set_encoding"));
    ZF_NOT_NULL(encoding, "zf_sample_set_encoding", "encoding");
    const std::string_view view(encoding);
    if (view.size() > ZF_MAX_ENCODING_SIZE) {
        return fail(ZF_ERR_INVALID_ARGUMENT, "zf_sample_set_encoding: the encoding has " +
                                                 std::to_string(view.size()) + " bytes, at most " +
                                                 std::to_string(ZF_MAX_ENCODING_SIZE) +
                                                 "; use a short name such as \"rgb8\"");
    }
    sample->get().set_encoding(view);
    return ZF_OK;
}

#define ZF_SETTER_PROLOGUE(function)                                                               \
    ZF_CHECK(check_sample(sample, function));                                                      \
    ZF_NOT_NULL(key, function, "key")

zf_status zf_sample_set_bool(zf_sample* sample, const char* key, bool value) {
    ZF_SETTER_PROLOGUE("zf_sample_set_bool");
    return guarded("zf_sample_set_bool", [&] {
        sample->get().metadata().set_bool(key, value);
        return param_problem(sample, "zf_sample_set_bool");
    });
}

zf_status zf_sample_set_int(zf_sample* sample, const char* key, int64_t value) {
    ZF_SETTER_PROLOGUE("zf_sample_set_int");
    return guarded("zf_sample_set_int", [&] {
        sample->get().metadata().set_int(key, value);
        return param_problem(sample, "zf_sample_set_int");
    });
}

zf_status zf_sample_set_double(zf_sample* sample, const char* key, double value) {
    ZF_SETTER_PROLOGUE("zf_sample_set_double");
    return guarded("zf_sample_set_double", [&] {
        sample->get().metadata().set_double(key, value);
        return param_problem(sample, "zf_sample_set_double");
    });
}

zf_status zf_sample_set_string(zf_sample* sample, const char* key, const char* value) {
    ZF_SETTER_PROLOGUE("zf_sample_set_string");
    ZF_NOT_NULL(value, "zf_sample_set_string", "value");
    return guarded("zf_sample_set_string", [&] {
        sample->get().metadata().set_string(key, value);
        return param_problem(sample, "zf_sample_set_string");
    });
}

zf_status zf_sample_set_int_list(zf_sample* sample, const char* key, const int64_t* values,
                                 size_t count) {
    ZF_SETTER_PROLOGUE("zf_sample_set_int_list");
    if (values == nullptr && count != 0) {
        return null_argument("zf_sample_set_int_list", "values (with count > 0)");
    }
    return guarded("zf_sample_set_int_list", [&] {
        sample->get().metadata().set_int_list(key, std::span<const std::int64_t>(values, count));
        return param_problem(sample, "zf_sample_set_int_list");
    });
}

zf_status zf_sample_set_double_list(zf_sample* sample, const char* key, const double* values,
                                    size_t count) {
    ZF_SETTER_PROLOGUE("zf_sample_set_double_list");
    if (values == nullptr && count != 0) {
        return null_argument("zf_sample_set_double_list", "values (with count > 0)");
    }
    return guarded("zf_sample_set_double_list", [&] {
        sample->get().metadata().set_double_list(key, std::span<const double>(values, count));
        return param_problem(sample, "zf_sample_set_double_list");
    });
}

zf_status zf_sample_set_string_list(zf_sample* sample, const char* key, const char* const* values,
                                    size_t count) {
    ZF_SETTER_PROLOGUE("zf_sample_set_string_list");
    if (values == nullptr && count != 0) {
        return null_argument("zf_sample_set_string_list", "values (with count > 0)");
    }
    for (size_t i = 0; i < count; ++i) {
        if (values[i] == nullptr) {
            return fail(ZF_ERR_INVALID_ARGUMENT,
                        "zf_sample_set_string_list: values[" + std::to_string(i) + "] is NULL");
        }
    }
    return guarded("zf_sample_set_string_list", [&] {
        std::vector<std::string_view> views(values, values + count);
        sample->get().metadata().set_string_list(key, views);
        return param_problem(sample, "zf_sample_set_string_list");
    });
}

zf_status zf_sample_send(zf_sample* sample) {
    ZF_CHECK(check_sample(sample, "zf_sample_send"));
    return guarded("zf_sample_send", [&] {
        auto sent = sample->owner->node->send(std::move(sample->get()));
        end_sample(sample);
        return sent ? ZF_OK : fail(sent.error());
    });
}

zf_status zf_sample_discard(zf_sample* sample) {
    if (sample != nullptr && sample->magic == kSampleMagic && sample->state == State::orphan) {
        sample->state = State::dead; // its chunk went back when the node closed
        samples().give(sample);
        return ZF_OK;
    }
    ZF_CHECK(check_sample(sample, "zf_sample_discard"));
    return guarded("zf_sample_discard", [&] {
        sample->slot.reset(); // gives its chunk back
        end_sample(sample);
        return ZF_OK;
    });
}

} // extern "C"
