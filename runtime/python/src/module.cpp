// The `zeroflow` Python module (pybind11): Node, Event, Loan and zeroflow.Error over the C++ node
// API. Received payloads become read-only numpy arrays that view shared memory and keep their
// chunk, and the node's segment mapping, alive for as long as any array derived from them lives.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <pybind11/eval.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <zeroflow/node.hpp>

namespace py = pybind11;

namespace {

using zeroflow::DataType;
using zeroflow::ErrorKind;

/// Above this many bytes a copy in send_output runs with the GIL released.
constexpr std::size_t kReleaseGilBytes = 64 * 1024;
/// next() without a timeout waits in slices this long, checking for Ctrl-C in between.
constexpr auto kSignalSlice = std::chrono::milliseconds(100);

py::object& error_type() {
    static py::object type; // set once in PYBIND11_MODULE; lives as long as the interpreter
    return type;
}

[[noreturn]] void raise(const zeroflow::Error& e) {
    py::object instance = error_type()(std::string(zeroflow::to_string(e.kind())), e.message());
    PyErr_SetObject(error_type().ptr(), instance.ptr());
    throw py::error_already_set();
}

template <typename T>
T unwrap(std::expected<T, zeroflow::Error>&& result) {
    if (!result) {
        raise(result.error());
    }
    return std::move(*result);
}

void unwrap(std::expected<void, zeroflow::Error>&& result) {
    if (!result) {
        raise(result.error());
    }
}

/// The C++ node and what guards it. Shared by the Python Node and every Event, Loan and array
/// that came from it, so that the segment stays mapped while any of them lives.
struct NodeState {
    explicit NodeState(zeroflow::Node&& n) : node(std::move(n)) {}
    NodeState(const NodeState&) = delete;
    NodeState& operator=(const NodeState&) = delete;

    ~NodeState() {
        pending.clear(); // their chunks go back before the node disconnects
    }

    /// Events whose Python object died while another thread held `mutex` (in next()): released
    /// by the next call that takes it.
    void drain_pending() {
        std::vector<zeroflow::Event> dead;
        {
            std::lock_guard lock(pending_mutex);
            dead.swap(pending);
        }
    }

    zeroflow::Node node;
    /// The C++ Node is single-threaded; Python threads take this first. Taken with the GIL
    /// released when contended, so a thread waiting in next() never deadlocks with one that
    /// holds the GIL.
    /// Recursive: a Python object may die (and release its chunk) on a thread that holds it.
    std::recursive_mutex mutex;
    std::mutex pending_mutex;
    std::vector<zeroflow::Event> pending;
    std::unordered_map<std::string, zeroflow::Output> outputs;
    bool ended = false; ///< the stream ended (Stop was returned)
};

/// Holds a NodeState's mutex; waits for it with the GIL released when another thread has it.
class Locked {
public:
    explicit Locked(NodeState& state) : state_(state) {
        if (!state_.mutex.try_lock()) {
            py::gil_scoped_release release;
            state_.mutex.lock();
        }
        if (!state_.pending.empty()) { // benign race: a miss is drained by the next call
            state_.drain_pending();
        }
    }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;
    ~Locked() { state_.mutex.unlock(); }

private:
    NodeState& state_;
};

// ---- dtype mapping ----------------------------------------------------------------------------

py::dtype make_dtype(DataType type) {
    switch (type) {
    case DataType::bytes:
    case DataType::u8:
        return py::dtype("uint8");
    case DataType::i8:
        return py::dtype("int8");
    case DataType::u16:
        return py::dtype("uint16");
    case DataType::i16:
        return py::dtype("int16");
    case DataType::u32:
        return py::dtype("uint32");
    case DataType::i32:
        return py::dtype("int32");
    case DataType::u64:
        return py::dtype("uint64");
    case DataType::i64:
        return py::dtype("int64");
    case DataType::f32:
        return py::dtype("float32");
    case DataType::f64:
        return py::dtype("float64");
    case DataType::boolean:
        return py::dtype("bool");
    }
    return py::dtype("uint8");
}

/// The numpy dtype of `type`, made once per type (parsing a dtype name costs per event).
const py::dtype& numpy_dtype(DataType type) {
    static std::array<std::optional<py::dtype>, zeroflow::kLastDataType + 1> cache;
    auto& slot = cache[static_cast<std::size_t>(type) <= zeroflow::kLastDataType
                           ? static_cast<std::size_t>(type)
                           : 0];
    if (!slot) {
        slot = make_dtype(type);
    }
    return *slot;
}

/// The DataType of a numpy dtype (native byte order only), or TypeError.
DataType data_type_of(const py::dtype& dtype) {
    const char kind = dtype.kind();
    const auto size = dtype.itemsize();
    const char order = dtype.attr("byteorder").cast<std::string>()[0];
    if (order == '>' && size > 1) {
        throw py::type_error("zeroflow sends native (little-endian) byte order; convert with "
                             "array.astype(array.dtype.newbyteorder('='))");
    }
    const std::string name = py::str(dtype.attr("name"));
    if (auto parsed = zeroflow::parse_data_type(name); parsed && *parsed != DataType::bytes) {
        return *parsed;
    }
    if (kind == 'b' && size == 1) {
        return DataType::boolean;
    }
    throw py::type_error("zeroflow cannot send numpy dtype '" + name +
                         "' (supported: bool, int8..int64, uint8..uint64, float32, float64)");
}

/// A dtype argument: a numpy dtype, a type (np.float32) or a name ("float32", "bytes").
DataType data_type_arg(const py::object& arg) {
    if (PyUnicode_Check(arg.ptr())) { // the common case: a name, parsed without numpy
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(arg.ptr(), &size);
        if (text == nullptr) {
            throw py::error_already_set();
        }
        const std::string_view name(text, static_cast<std::size_t>(size));
        if (auto parsed = zeroflow::parse_data_type(name); parsed) {
            return *parsed; // "bytes" included: an untyped message
        }
    }
    return data_type_of(py::dtype::from_args(arg));
}

// ---- metadata ---------------------------------------------------------------------------------

py::dict metadata_dict(const zeroflow::Event& event) {
    py::dict out;
    for (const auto& p : event.metadata().entries()) {
        py::str key(p.key.data(), p.key.size());
        switch (p.kind) {
        case zeroflow::ParameterKind::boolean:
            out[key] = py::bool_(p.boolean);
            break;
        case zeroflow::ParameterKind::int64:
            out[key] = py::int_(p.int64);
            break;
        case zeroflow::ParameterKind::float64:
            out[key] = py::float_(p.float64);
            break;
        case zeroflow::ParameterKind::string:
            out[key] = py::str(p.string.data(), p.string.size());
            break;
        case zeroflow::ParameterKind::int64_list:
            out[key] = py::cast(p.int64_list);
            break;
        case zeroflow::ParameterKind::float64_list:
            out[key] = py::cast(p.float64_list);
            break;
        case zeroflow::ParameterKind::string_list: {
            py::list list;
            for (auto s : p.string_list) {
                list.append(py::str(s.data(), s.size()));
            }
            out[key] = list;
            break;
        }
        }
    }
    if (!event.encoding().empty()) {
        out["encoding"] = py::str(event.encoding().data(), event.encoding().size());
    }
    return out;
}

/// numpy scalars and arrays become Python values (np.int64(3) -> 3, array -> list).
py::object plain(const py::handle& value) {
    static const py::object generic = py::module_::import("numpy").attr("generic");
    if (py::isinstance<py::array>(value)) {
        return value.attr("tolist")();
    }
    if (py::isinstance(value, generic)) {
        return value.attr("item")();
    }
    return py::reinterpret_borrow<py::object>(value);
}

std::int64_t to_int64(const py::handle& value, const std::string& key) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0) {
        throw py::value_error("parameter '" + key + "' does not fit in 64 bits");
    }
    if (v == -1 && PyErr_Occurred() != nullptr) {
        throw py::error_already_set();
    }
    return v;
}

/// One parameter converted from Python, written into a sample later (with the node locked,
/// where no Python code may run).
struct Param {
    enum class Kind : std::uint8_t {
        boolean,
        int64,
        float64,
        string,
        ints,
        floats,
        strings,
        encoding
    };
    std::string key;
    Kind kind = Kind::boolean;
    bool boolean = false;
    std::int64_t int64 = 0;
    double float64 = 0;
    std::string string;
    std::vector<std::int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strings;
};

/// Converts `metadata` (str keys -> bool, int, float, str or lists of int, float or str;
/// "encoding" sets the message's encoding); TypeError/ValueError for anything else.
std::vector<Param> convert_metadata(const py::object& metadata) {
    std::vector<Param> params;
    if (metadata.is_none()) {
        return params;
    }
    if (!py::isinstance<py::dict>(metadata)) {
        throw py::type_error("metadata must be a dict of str -> bool, int, float, str or a list "
                             "of int, float or str");
    }
    for (const auto& [k, raw] : metadata.cast<py::dict>()) {
        if (!py::isinstance<py::str>(k)) {
            throw py::type_error("metadata keys must be str");
        }
        Param p;
        p.key = k.cast<std::string>();
        const py::object value = plain(raw);
        if (p.key == "encoding") {
            if (!py::isinstance<py::str>(value)) {
                throw py::type_error("metadata['encoding'] must be a str such as 'rgb8'");
            }
            p.kind = Param::Kind::encoding;
            p.string = value.cast<std::string>();
            if (p.string.size() > zeroflow::kMaxEncodingSize) {
                throw py::value_error("an encoding has at most 63 bytes");
            }
        } else if (py::isinstance<py::bool_>(value)) {
            p.kind = Param::Kind::boolean;
            p.boolean = value.cast<bool>();
        } else if (py::isinstance<py::int_>(value)) {
            p.kind = Param::Kind::int64;
            p.int64 = to_int64(value, p.key);
        } else if (py::isinstance<py::float_>(value)) {
            p.kind = Param::Kind::float64;
            p.float64 = value.cast<double>();
        } else if (py::isinstance<py::str>(value)) {
            p.kind = Param::Kind::string;
            p.string = value.cast<std::string>();
        } else if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
            const auto items = py::reinterpret_borrow<py::sequence>(value);
            bool all_int = true, all_number = true, all_str = true;
            for (const auto& item : items) {
                const bool is_bool = py::isinstance<py::bool_>(item);
                const bool is_int = py::isinstance<py::int_>(item) && !is_bool;
                all_int = all_int && is_int;
                all_number = all_number && (is_int || py::isinstance<py::float_>(item));
                all_str = all_str && py::isinstance<py::str>(item);
            }
            if (all_int) { // also the empty list
                p.kind = Param::Kind::ints;
                for (const auto& item : items) {
                    p.ints.push_back(to_int64(item, p.key));
                }
            } else if (all_number) {
                p.kind = Param::Kind::floats;
                p.floats = items.cast<std::vector<double>>();
            } else if (all_str) {
                p.kind = Param::Kind::strings;
                p.strings = items.cast<std::vector<std::string>>();
            } else {
                throw py::type_error("metadata['" + p.key +
                                     "']: a list must hold only ints, only numbers or only strs");
            }
        } else {
            throw py::type_error("metadata['" + p.key + "'] has type " +
                                 std::string(py::str(value.get_type().attr("__name__"))) +
                                 "; zeroflow carries bool, int, float, str and lists of those");
        }
        params.push_back(std::move(p));
    }
    return params;
}

void write_metadata(zeroflow::Sample& sample, const std::vector<Param>& params) {
    auto& meta = sample.metadata();
    for (const auto& p : params) {
        switch (p.kind) {
        case Param::Kind::encoding:
            sample.set_encoding(p.string);
            break;
        case Param::Kind::boolean:
            meta.set_bool(p.key, p.boolean);
            break;
        case Param::Kind::int64:
            meta.set_int(p.key, p.int64);
            break;
        case Param::Kind::float64:
            meta.set_double(p.key, p.float64);
            break;
        case Param::Kind::string:
            meta.set_string(p.key, p.string);
            break;
        case Param::Kind::ints:
            meta.set_int_list(p.key, p.ints);
            break;
        case Param::Kind::floats:
            meta.set_double_list(p.key, p.floats);
            break;
        case Param::Kind::strings: {
            std::vector<std::string_view> views(p.strings.begin(), p.strings.end());
            meta.set_string_list(p.key, views);
            break;
        }
        }
    }
}

void set_read_only(const py::array& array) {
    py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
}

// ---- Event ------------------------------------------------------------------------------------

const char* kind_name(zeroflow::EventKind kind) {
    switch (kind) {
    case zeroflow::EventKind::Input:
        return "INPUT";
    case zeroflow::EventKind::InputClosed:
        return "INPUT_CLOSED";
    case zeroflow::EventKind::AllInputsClosed:
        return "ALL_INPUTS_CLOSED";
    case zeroflow::EventKind::Stop:
        return "STOP";
    case zeroflow::EventKind::Error:
        return "ERROR";
    }
    return "ERROR";
}

/// One event, as Python sees it: a read-only mapping with dora's keys. Owns the C++ Event (and
/// so the chunk) and a share of the node; arrays of its value hold this object as their base.
class PyEvent {
public:
    PyEvent(std::shared_ptr<NodeState> state, zeroflow::Event&& event)
        : state_(std::move(state)), event_(std::move(event)) {}
    PyEvent(const PyEvent&) = delete;
    PyEvent& operator=(const PyEvent&) = delete;

    ~PyEvent() {
        if (event_.kind != zeroflow::EventKind::Input) {
            return;
        }
        if (state_->mutex.try_lock()) {
            event_ = zeroflow::Event(); // the chunk goes back now
            state_->mutex.unlock();
        } else { // another thread is inside the node (waiting in next()): hand it over
            std::lock_guard lock(state_->pending_mutex);
            state_->pending.push_back(std::move(event_));
        }
    }

    std::vector<std::string> keys() const {
        switch (event_.kind) {
        case zeroflow::EventKind::Input:
            return {"type", "id", "value", "metadata", "timestamp", "sequence"};
        case zeroflow::EventKind::InputClosed:
            return {"type", "id"};
        case zeroflow::EventKind::Error:
            return {"type", "error"};
        default:
            return {"type"};
        }
    }

    bool contains(std::string_view key) const {
        if (key == "type") {
            return true;
        }
        switch (event_.kind) {
        case zeroflow::EventKind::Input:
            return key == "id" || key == "value" || key == "metadata" || key == "timestamp" ||
                   key == "sequence";
        case zeroflow::EventKind::InputClosed:
            return key == "id";
        case zeroflow::EventKind::Error:
            return key == "error";
        default:
            return false;
        }
    }

    static py::object get(const py::object& self, std::string_view key) {
        auto& e = self.cast<PyEvent&>();
        if (key == "type") {
            return py::str(kind_name(e.event_.kind));
        }
        if (!e.contains(key)) {
            throw py::key_error(std::string(key));
        }
        if (key == "id") {
            return py::str(e.event_.id.data(), e.event_.id.size());
        }
        if (key == "value") {
            return e.value(self);
        }
        if (key == "metadata") {
            if (!e.metadata_) {
                e.metadata_ = metadata_dict(e.event_);
            }
            return *e.metadata_;
        }
        if (key == "timestamp") {
            return py::int_(e.event_.wall_time_ns());
        }
        if (key == "sequence") {
            return py::int_(e.event_.sequence);
        }
        return py::str(e.event_.message.data(), e.event_.message.size()); // "error"
    }

    /// The payload as a read-only array over shared memory whose base is this Event, so the
    /// chunk lives as long as the array or any view of it. (Not cached: a cached array would
    /// reference its own base, a cycle that pybind11 objects cannot break.)
    py::object value(const py::object& self) const {
        const auto dtype = event_.dtype();
        const auto size = event_.data.size();
        const auto element = zeroflow::element_size(dtype);
        std::vector<py::ssize_t> shape;
        for (auto dim : event_.shape()) {
            shape.push_back(static_cast<py::ssize_t>(dim));
        }
        if (shape.empty()) {
            shape.push_back(static_cast<py::ssize_t>(size / element));
        }
        std::vector<py::ssize_t> strides(shape.size());
        py::ssize_t stride = static_cast<py::ssize_t>(element);
        for (std::size_t i = shape.size(); i-- > 0;) {
            strides[i] = stride;
            stride *= shape[i];
        }
        // An empty payload may have no address: numpy then owns a 0-byte buffer.
        const void* data = size != 0 ? static_cast<const void*>(event_.data.data()) : nullptr;
        py::array array(numpy_dtype(dtype), shape, strides, data,
                        size != 0 ? py::handle(self) : py::handle());
        set_read_only(array);
        return array;
    }

    std::string repr() const {
        std::string text = std::string("<zeroflow.Event ") + kind_name(event_.kind);
        if (!event_.id.empty()) {
            text += " '" + std::string(event_.id) + "'";
        }
        if (event_.kind == zeroflow::EventKind::Input) {
            text += " " + std::string(zeroflow::to_string(event_.dtype())) + " " +
                    std::to_string(event_.data.size()) + " B";
        }
        return text + ">";
    }

private:
    std::shared_ptr<NodeState> state_;
    zeroflow::Event event_;
    std::optional<py::dict> metadata_;
};

// ---- Loan -------------------------------------------------------------------------------------

/// A loaned chunk as a context manager: `with node.loan(...) as buf:` gives a writable array
/// over shared memory; the block's normal end sends it, an exception discards it.
class PyLoan {
public:
    PyLoan(std::shared_ptr<NodeState> state, zeroflow::Sample&& sample, DataType dtype,
           std::vector<py::ssize_t> shape)
        : state_(std::move(state)), sample_(std::move(sample)), dtype_(dtype),
          shape_(std::move(shape)) {}
    PyLoan(const PyLoan&) = delete;
    PyLoan& operator=(const PyLoan&) = delete;
    ~PyLoan() {
        if (sample_) {
            Locked lock(*state_);
            sample_.reset();
        }
    }

    static py::object enter(const py::object& self) {
        auto& l = self.cast<PyLoan&>();
        if (!l.sample_) {
            throw py::value_error("this loan was already sent or discarded");
        }
        if (!l.array_.has_value()) {
            const auto element = static_cast<py::ssize_t>(zeroflow::element_size(l.dtype_));
            std::vector<py::ssize_t> strides(l.shape_.size());
            py::ssize_t stride = element;
            for (std::size_t i = l.shape_.size(); i-- > 0;) {
                strides[i] = stride;
                stride *= l.shape_[i];
            }
            auto data = l.sample_->data();
            py::array array(numpy_dtype(l.dtype_), l.shape_, strides,
                            data.empty() ? nullptr : data.data(),
                            data.empty() ? py::handle() : py::handle(self));
            l.array_ = py::weakref(array); // a strong one would be a cycle (its base is us)
            return array;
        }
        throw py::value_error("a loan is entered once: `with node.loan(...) as array:`");
    }

    bool exit(const py::object& exc_type, const py::object&, const py::object&) {
        if (!sample_) {
            return false;
        }
        if (array_) {
            if (auto array = (*array_)(); !array.is_none()) {
                set_read_only(array.cast<py::array>()); // the chunk is no longer ours to write
            }
        }
        Locked lock(*state_);
        if (!exc_type.is_none()) {
            sample_.reset(); // discarded: the chunk goes back to the pool
            return false;
        }
        auto sample = std::move(*sample_);
        sample_.reset();
        unwrap(state_->node.send(std::move(sample)));
        return false;
    }

private:
    std::shared_ptr<NodeState> state_;
    std::optional<zeroflow::Sample> sample_;
    DataType dtype_;
    std::vector<py::ssize_t> shape_;
    std::optional<py::weakref> array_;
};

// ---- Node -------------------------------------------------------------------------------------

class PyNode {
public:
    PyNode(const std::optional<std::string>& node_id, const std::optional<std::string>& dataflow) {
        std::expected<zeroflow::Node, zeroflow::Error> node =
            std::unexpected(zeroflow::Error{ErrorKind::internal, "not connected"});
        {
            py::gil_scoped_release release; // registering waits for the start barrier
            if (!node_id) {
                node = zeroflow::Node::from_env();
            } else if (dataflow) {
                node = zeroflow::Node::connect_dynamic(*node_id, *dataflow);
            } else {
                node = zeroflow::Node::connect_dynamic(*node_id);
            }
        }
        state_ = std::make_shared<NodeState>(unwrap(std::move(node)));
    }

    /// The next event; None on timeout and once the stream has ended (after STOP).
    py::object next(std::optional<double> timeout_s) {
        if (state_->ended) {
            return py::none();
        }
        using Clock = std::chrono::steady_clock;
        const auto deadline = timeout_s
                                  ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(*timeout_s))
                                  : Clock::time_point::max();
        for (;;) {
            std::optional<zeroflow::Event> event;
            {
                Locked lock(*state_);
                auto slice = std::chrono::duration_cast<std::chrono::nanoseconds>(kSignalSlice);
                if (timeout_s) {
                    const auto left = deadline - Clock::now();
                    slice = std::max(
                        std::chrono::nanoseconds(0),
                        std::min(slice,
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(left)));
                }
                py::gil_scoped_release release;
                event = state_->node.next(slice);
            }
            if (event) {
                if (event->kind == zeroflow::EventKind::Stop) {
                    state_->ended = true;
                }
                return py::cast(std::make_unique<PyEvent>(state_, std::move(*event)));
            }
            if (PyErr_CheckSignals() != 0) { // Ctrl-C: KeyboardInterrupt
                throw py::error_already_set();
            }
            if (timeout_s && Clock::now() >= deadline) {
                return py::none();
            }
        }
    }

    py::object iter_next() {
        auto event = next(std::nullopt);
        if (event.is_none()) {
            throw py::stop_iteration();
        }
        return event;
    }

    zeroflow::Output output(const std::string& id) {
        auto it = state_->outputs.find(id);
        if (it == state_->outputs.end()) {
            it = state_->outputs.emplace(id, unwrap(state_->node.output(id))).first;
        }
        return it->second;
    }

    void send_output(const std::string& id, const py::object& data, const py::object& metadata) {
        const auto params = convert_metadata(metadata);
        if (py::isinstance<py::bytes>(data) || PyByteArray_Check(data.ptr()) ||
            PyMemoryView_Check(data.ptr())) {
            Py_buffer view;
            if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) {
                throw py::error_already_set();
            }
            struct Release {
                Py_buffer* v;
                ~Release() { PyBuffer_Release(v); }
            } release{&view};
            const auto bytes = static_cast<std::size_t>(view.len);
            Locked lock(*state_);
            auto sample = unwrap(output(id).loan(bytes));
            write_metadata(sample, params);
            copy_and_send(std::move(sample), view.buf, bytes);
            return;
        }
        // numpy arrays, numpy scalars, lists: one contiguous array (no copy when it is one).
        auto array = py::array::ensure(data, py::array::c_style);
        if (!array) {
            PyErr_Clear();
            throw py::type_error("send_output takes a numpy array, bytes, bytearray, memoryview "
                                 "or a list of numbers");
        }
        const auto dtype = data_type_of(array.dtype());
        if (array.ndim() > static_cast<py::ssize_t>(zeroflow::kMaxDims)) {
            throw py::value_error("zeroflow messages have at most 8 dimensions");
        }
        std::vector<std::uint64_t> shape;
        for (py::ssize_t i = 0; i < array.ndim(); ++i) {
            shape.push_back(static_cast<std::uint64_t>(array.shape(i)));
        }
        const auto count = static_cast<std::size_t>(array.size());
        Locked lock(*state_);
        auto sample = unwrap(output(id).loan_typed(dtype, count));
        sample.set_shape(shape);
        write_metadata(sample, params);
        copy_and_send(std::move(sample), array.data(), static_cast<std::size_t>(array.nbytes()));
    }

    py::object loan(const std::string& id, const py::object& shape_arg, const py::object& dtype_arg,
                    const py::object& metadata) {
        const auto dtype = data_type_arg(dtype_arg);
        std::vector<py::ssize_t> shape;
        if (PyLong_Check(shape_arg.ptr())) {
            shape.push_back(shape_arg.cast<py::ssize_t>());
        } else if (PyTuple_Check(shape_arg.ptr())) { // the common case, without pybind's caster
            const auto n = PyTuple_GET_SIZE(shape_arg.ptr());
            for (Py_ssize_t i = 0; i < n; ++i) {
                const auto d = PyLong_AsSsize_t(PyTuple_GET_ITEM(shape_arg.ptr(), i));
                if (d == -1 && PyErr_Occurred() != nullptr) {
                    throw py::error_already_set();
                }
                shape.push_back(d);
            }
        } else {
            shape = shape_arg.cast<std::vector<py::ssize_t>>();
        }
        if (shape.size() > zeroflow::kMaxDims) {
            throw py::value_error("zeroflow messages have at most 8 dimensions");
        }
        std::size_t count = 1;
        std::vector<std::uint64_t> dims;
        for (auto d : shape) {
            if (d < 0) {
                throw py::value_error("a shape has no negative dimensions");
            }
            dims.push_back(static_cast<std::uint64_t>(d));
            if (__builtin_mul_overflow(count, static_cast<std::size_t>(d), &count)) {
                throw py::value_error("the shape's element count overflows");
            }
        }
        const auto params = convert_metadata(metadata);
        Locked lock(*state_);
        auto sample = unwrap(output(id).loan_typed(dtype, count));
        if (dtype != DataType::bytes) {
            sample.set_shape(dims);
        } else {
            sample.set_type(DataType::bytes, {}); // untyped: no shape travels
        }
        write_metadata(sample, params);
        return py::cast(std::make_unique<PyLoan>(state_, std::move(sample), dtype, shape));
    }

    std::uint64_t dropped(const std::string& input) {
        Locked lock(*state_);
        unwrap(state_->node.input(input)); // a typo is an error, not a silent 0
        return state_->node.dropped(input);
    }

    std::vector<std::string> inputs() const { return state_->node.inputs(); }
    std::vector<std::string> outputs() const { return state_->node.outputs(); }
    std::string id() const { return state_->node.id(); }
    std::string dataflow_id() const { return state_->node.dataflow_id(); }

private:
    void copy_and_send(zeroflow::Sample&& sample, const void* data, std::size_t bytes) {
        if (bytes != 0) {
            if (bytes >= kReleaseGilBytes) {
                py::gil_scoped_release release;
                std::memcpy(sample.data().data(), data, bytes);
            } else {
                std::memcpy(sample.data().data(), data, bytes);
            }
        }
        unwrap(state_->node.send(std::move(sample)));
    }

    std::shared_ptr<NodeState> state_;
};

} // namespace

PYBIND11_MODULE(zeroflow, m) {
    m.doc() = "zeroflow nodes in Python: events whose values are numpy views of shared memory";
    py::module_::import("numpy"); // fail at import, not at the first event

    py::dict scope;
    scope["__builtins__"] = py::module_::import("builtins");
    scope["__name__"] = "zeroflow";
    py::exec(R"py(
class Error(Exception):
    """A zeroflow error: .kind names the ErrorKind ('no_such_node', 'pool_exhausted', ...),
    .message says what happened and what to do."""
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message
    def __repr__(self):
        return f"zeroflow.Error({self.kind!r}, {self.message!r})"
)py",
             scope);
    error_type() = scope["Error"];
    error_type().attr("__module__") = "zeroflow";
    m.attr("Error") = error_type();

    py::class_<PyEvent>(m, "Event",
                        "One event of a node's stream: a read-only mapping with "
                        "the keys type, id, value, metadata, timestamp (dora's).")
        .def("__getitem__", &PyEvent::get)
        .def(
            "get",
            [](const py::object& self, std::string_view key, const py::object& fallback) {
                return self.cast<PyEvent&>().contains(key) ? PyEvent::get(self, key) : fallback;
            },
            py::arg("key"), py::arg("default") = py::none())
        .def("__contains__", &PyEvent::contains)
        .def("keys", &PyEvent::keys)
        .def("__iter__", [](const PyEvent& e) { return py::iter(py::cast(e.keys())); })
        .def("__len__", [](const PyEvent& e) { return e.keys().size(); })
        .def("__repr__", &PyEvent::repr)
        .def_property_readonly("type",
                               [](const py::object& self) { return PyEvent::get(self, "type"); })
        .def_property_readonly("id",
                               [](const py::object& self) { return PyEvent::get(self, "id"); })
        .def_property_readonly("value",
                               [](const py::object& self) { return PyEvent::get(self, "value"); })
        .def_property_readonly(
            "metadata", [](const py::object& self) { return PyEvent::get(self, "metadata"); })
        .def_property_readonly(
            "timestamp", [](const py::object& self) { return PyEvent::get(self, "timestamp"); });

    py::class_<PyLoan>(m, "Loan",
                       "A chunk of shared memory lent by an output; use it as "
                       "`with node.loan(...) as array:`")
        .def("__enter__", &PyLoan::enter)
        .def("__exit__", &PyLoan::exit);

    py::class_<PyNode>(m, "Node",
                       "A zeroflow node: Node() for the node the daemon started, "
                       "Node('id') for a dynamic node, Node('id', dataflow='name').")
        .def(py::init<const std::optional<std::string>&, const std::optional<std::string>&>(),
             py::arg("node_id") = py::none(), py::arg("dataflow") = py::none())
        .def("next", &PyNode::next, py::arg("timeout") = py::none(),
             "The next event; None on timeout and after the stream ended (after STOP).")
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &PyNode::iter_next)
        .def("send_output", &PyNode::send_output, py::arg("output_id"), py::arg("data"),
             py::arg("metadata") = py::none(),
             "Copies data (numpy array, bytes, bytearray, memoryview or list) into one message.")
        .def("loan", &PyNode::loan, py::arg("output_id"), py::arg("shape"),
             py::arg("dtype") = "uint8", py::arg("metadata") = py::none(),
             "A Loan of shared memory: `with node.loan(...) as array:` sends on exit.")
        .def("dropped", &PyNode::dropped, py::arg("input_id"))
        .def("inputs", &PyNode::inputs)
        .def("outputs", &PyNode::outputs)
        .def_property_readonly("id", &PyNode::id)
        .def_property_readonly("dataflow_id", &PyNode::dataflow_id);
}
