// The `zeroflow` Python module (pybind11): Node, Event, Loan and zeroflow.Error over the C++ node
// API. Received payloads become read-only numpy arrays that view shared memory and keep their
// chunk, and the node's segment mapping, alive for as long as any array derived from them lives.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <cxxabi.h>
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
/// next(timeout) from this many seconds on (and inf) waits without a limit: the deadline's
/// arithmetic in steady_clock's int64 nanoseconds would overflow (about 292 years).
constexpr double kNoTimeoutS = 1e9;

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
            has_pending.store(false, std::memory_order_relaxed);
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
    /// `pending` is not empty: read without pending_mutex (a plain read of the vector would race).
    std::atomic<bool> has_pending{false};
    std::unordered_map<std::string, zeroflow::Output> outputs;
    bool ended = false; ///< the stream ended (Stop was returned)
};

/// Releases the GIL for its scope. At interpreter exit, restoring the GIL ends a daemon thread
/// (PyEval_RestoreThread calls pthread_exit): the forced unwinding that follows must be allowed
/// through this destructor (pybind11's gil_scoped_release has a noexcept one, and a forced
/// unwind through it calls std::terminate: the process aborted at exit).
class GilReleased {
public:
    GilReleased() : saved_(PyEval_SaveThread()) {}
    GilReleased(const GilReleased&) = delete;
    GilReleased& operator=(const GilReleased&) = delete;
    ~GilReleased() noexcept(false) { PyEval_RestoreThread(saved_); }

private:
    PyThreadState* saved_;
};

/// Holds a NodeState's mutex; waits for it with the GIL released when another thread has it.
class Locked {
public:
    explicit Locked(NodeState& state) : state_(state) {
        if (!state_.mutex.try_lock()) {
            PyThreadState* saved = PyEval_SaveThread();
            state_.mutex.lock();
            // Should restoring the GIL end this thread (a daemon thread at interpreter exit),
            // the mutex goes with it: the main thread's finalisation may still need it.
            struct Unlock {
                std::recursive_mutex* mutex;
                ~Unlock() {
                    if (mutex != nullptr) {
                        mutex->unlock();
                    }
                }
            } unlock{&state_.mutex};
            PyEval_RestoreThread(saved);
            unlock.mutex = nullptr;
        }
        if (state_.has_pending.load(std::memory_order_relaxed)) { // a miss: the next call
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
// ---- The hot path in the CPython C API --------------------------------------------------------
//
// Node, Event and Loan are plain CPython types: pybind11's generic dispatch (overload resolution,
// type-info lookups, instance registration) cost about 1 µs per call here, more than the
// transport itself. The cold parts (metadata conversion, dtype parsing, errors) still use
// pybind11 types inside these functions; guarded() turns its exceptions into Python errors.

///
/// Not noexcept: a daemon thread that PyEval_RestoreThread ends at interpreter exit unwinds
/// (abi::__forced_unwind) through here, which a noexcept function turns into std::terminate.
template <typename F>
PyObject* guarded(F&& body) {
    try {
        return body();
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (const py::builtin_exception& e) {
        e.set_error();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (abi::__forced_unwind&) {
        throw; // the thread is ending (pthread_exit): let it
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "zeroflow: unknown C++ exception");
    }
    return nullptr;
}

/// A function's parameter names, also as interned strings: keyword names at call sites are
/// interned, so matching one is an address comparison.
template <std::size_t N>
struct Keywords {
    explicit Keywords(const char* function_name, std::array<const char*, N> parameter_names)
        : function(function_name), names(parameter_names) {
        for (std::size_t i = 0; i < N; ++i) {
            interned[i] = PyUnicode_InternFromString(names[i]); // lives as long as the module
        }
    }
    const char* function;
    std::array<const char*, N> names;
    std::array<PyObject*, N> interned{};
};

/// Keyword-or-positional arguments of a METH_FASTCALL | METH_KEYWORDS call, by position in
/// `kw`; missing ones stay null. TypeError for unknown or repeated names and extra arguments.
template <std::size_t N>
bool parse_args(const Keywords<N>& kw, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                std::size_t required, std::array<PyObject*, N>& out) {
    out.fill(nullptr);
    if (nargs > static_cast<Py_ssize_t>(N)) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zd given)", kw.function,
                     N, nargs);
        return false;
    }
    for (Py_ssize_t i = 0; i < nargs; ++i) {
        out[static_cast<std::size_t>(i)] = args[i];
    }
    const Py_ssize_t nkw = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; ++k) {
        PyObject* key = PyTuple_GET_ITEM(kwnames, k);
        std::size_t slot = N;
        for (std::size_t i = 0; i < N && slot == N; ++i) {
            slot = key == kw.interned[i] ? i : N;
        }
        for (std::size_t i = 0; i < N && slot == N; ++i) {
            slot = PyUnicode_CompareWithASCIIString(key, kw.names[i]) == 0 ? i : N;
        }
        if (slot == N) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         kw.function, key);
            return false;
        }
        if (out[slot] != nullptr) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", kw.function,
                         kw.names[slot]);
            return false;
        }
        out[slot] = args[nargs + k];
    }
    for (std::size_t i = 0; i < required; ++i) {
        if (out[i] == nullptr) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", kw.function,
                         kw.names[i]);
            return false;
        }
    }
    return true;
}

/// Interned strings made once: event keys (compared by address first) and event types.
struct Strings {
    PyObject* type;
    PyObject* id;
    PyObject* value;
    PyObject* metadata;
    PyObject* timestamp;
    PyObject* sequence;
    PyObject* error;
    std::array<PyObject*, 5> kinds; // indexed by EventKind
    // The keys of each kind of event, in dora's order (made once: looked up per access).
    std::array<PyObject*, 6> input_keys;
    std::array<PyObject*, 2> closed_keys;
    std::array<PyObject*, 2> error_keys;
    std::array<PyObject*, 1> other_keys;
};
Strings strings;

/// numpy's npy_intp, as pybind11's numpy API spells it.
using Dim = Py_intptr_t;

PyObject* intern(const char* text) {
    PyObject* s = PyUnicode_InternFromString(text);
    if (s == nullptr) {
        throw py::error_already_set();
    }
    return s; // immortal for the interpreter's life: the module keeps it
}

/// A numpy array over `data` (shape, C order), its base `base` (a new reference is taken);
/// writable or read-only. Empty payloads get numpy's own 0-byte buffer.
PyObject* make_array(DataType dtype, std::span<const Dim> shape, void* data, bool writable,
                     PyObject* base) {
    auto& api = py::detail::npy_api::get();
    std::array<Dim, zeroflow::kMaxDims> strides{};
    Dim stride = static_cast<Dim>(zeroflow::element_size(dtype));
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= shape[i];
    }
    PyObject* descr = numpy_dtype(dtype).ptr();
    Py_INCREF(descr); // NewFromDescr steals it
    const int flags = writable ? py::detail::npy_api::NPY_ARRAY_WRITEABLE_ : 0;
    PyObject* array = api.PyArray_NewFromDescr_(
        api.PyArray_Type_, descr, static_cast<int>(shape.size()), const_cast<Dim*>(shape.data()),
        strides.data(), data, data != nullptr ? flags : 0, nullptr);
    if (array == nullptr) {
        return nullptr;
    }
    if (data == nullptr) {
        if (!writable) {
            py::detail::array_proxy(array)->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        }
        return array;
    }
    Py_INCREF(base);
    if (api.PyArray_SetBaseObject_(array, base) != 0) { // steals base, even on failure
        Py_DECREF(array);
        return nullptr;
    }
    return array;
}

// ---- Event ------------------------------------------------------------------------------------

/// One event, as Python sees it: a read-only mapping with dora's keys. Owns the C++ Event (and
/// so the chunk) and a share of the node; arrays of its value hold this object as their base.
/// (The array is not cached: it would reference its own base, a cycle.)
struct EventObject {
    PyObject_HEAD std::shared_ptr<NodeState> state;
    zeroflow::Event event;
    PyObject* metadata; ///< the dict, made on first use
};

PyTypeObject event_type{}; // filled in by init_types()

bool is_input(const EventObject* e) {
    return e->event.kind == zeroflow::EventKind::Input;
}

void event_dealloc(PyObject* self) {
    auto* e = reinterpret_cast<EventObject*>(self);
    if (is_input(e)) {
        if (e->state->mutex.try_lock()) {
            e->event = zeroflow::Event(); // the chunk goes back now
            e->state->mutex.unlock();
        } else { // another thread is inside the node (waiting in next()): hand it over
            std::lock_guard lock(e->state->pending_mutex);
            e->state->pending.push_back(std::move(e->event));
            e->state->has_pending.store(true, std::memory_order_relaxed);
        }
    }
    Py_XDECREF(e->metadata);
    e->event.~Event();
    e->state.~shared_ptr();
    Py_TYPE(self)->tp_free(self);
}

/// The keys this event has, in dora's order.
std::span<PyObject* const> event_keys(const EventObject* e) {
    switch (e->event.kind) {
    case zeroflow::EventKind::Input:
        return strings.input_keys;
    case zeroflow::EventKind::InputClosed:
        return strings.closed_keys;
    case zeroflow::EventKind::Error:
        return strings.error_keys;
    default:
        return strings.other_keys;
    }
}

/// The key `key` names (one of `strings`' keys), or null when it is none of this event's.
PyObject* event_key(const EventObject* e, PyObject* key) {
    const auto keys = event_keys(e);
    for (PyObject* k : keys) { // literals are interned: an address match is the common case
        if (k == key) {
            return k;
        }
    }
    if (!PyUnicode_Check(key)) {
        return nullptr;
    }
    for (PyObject* k : keys) {
        if (PyUnicode_Compare(k, key) == 0) {
            return k;
        }
    }
    PyErr_Clear();
    return nullptr;
}

PyObject* event_value(PyObject* self) {
    auto* e = reinterpret_cast<EventObject*>(self);
    const auto dtype = e->event.dtype();
    const auto size = e->event.data.size();
    std::array<Dim, zeroflow::kMaxDims> shape{};
    std::size_t ndim = 0;
    for (auto dim : e->event.shape()) {
        shape[ndim++] = static_cast<Dim>(dim);
    }
    if (ndim == 0) {
        shape[ndim++] = static_cast<Dim>(size / zeroflow::element_size(dtype));
    }
    // An empty payload may have no address: numpy then owns a 0-byte buffer.
    void* data = size != 0 ? const_cast<std::byte*>(e->event.data.data()) : nullptr;
    return make_array(dtype, {shape.data(), ndim}, data, false, self);
}

/// The value of `key` (one of `strings`' keys, present in this event).
PyObject* event_item(PyObject* self, PyObject* key) {
    auto* e = reinterpret_cast<EventObject*>(self);
    const auto& ev = e->event;
    if (key == strings.type) {
        PyObject* kind = strings.kinds[static_cast<std::size_t>(ev.kind)];
        Py_INCREF(kind);
        return kind;
    }
    if (key == strings.id) {
        return PyUnicode_FromStringAndSize(ev.id.data(), static_cast<Py_ssize_t>(ev.id.size()));
    }
    if (key == strings.value) {
        return event_value(self);
    }
    if (key == strings.timestamp) {
        return PyLong_FromUnsignedLongLong(ev.wall_time_ns());
    }
    if (key == strings.sequence) {
        return PyLong_FromUnsignedLongLong(ev.sequence);
    }
    if (key == strings.metadata) {
        return guarded([&]() -> PyObject* {
            if (e->metadata == nullptr) {
                e->metadata = metadata_dict(ev).release().ptr();
            }
            Py_INCREF(e->metadata);
            return e->metadata;
        });
    }
    return PyUnicode_FromStringAndSize(ev.message.data(),
                                       static_cast<Py_ssize_t>(ev.message.size())); // "error"
}

PyObject* event_subscript(PyObject* self, PyObject* key) {
    PyObject* k = event_key(reinterpret_cast<EventObject*>(self), key);
    if (k == nullptr) {
        PyErr_SetObject(PyExc_KeyError, key);
        return nullptr;
    }
    return event_item(self, k);
}

PyObject* event_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    std::array<PyObject*, 2> a{};
    static const Keywords kw("get", std::array{"key", "default"});
    if (!parse_args(kw, args, nargs, kwnames, 1, a)) {
        return nullptr;
    }
    PyObject* k = event_key(reinterpret_cast<EventObject*>(self), a[0]);
    if (k == nullptr) {
        PyObject* fallback = a[1] != nullptr ? a[1] : Py_None;
        Py_INCREF(fallback);
        return fallback;
    }
    return event_item(self, k);
}

int event_contains(PyObject* self, PyObject* key) {
    return event_key(reinterpret_cast<EventObject*>(self), key) != nullptr ? 1 : 0;
}

Py_ssize_t event_length(PyObject* self) {
    return static_cast<Py_ssize_t>(event_keys(reinterpret_cast<EventObject*>(self)).size());
}

PyObject* event_keys_list(PyObject* self, PyObject* /*unused*/) {
    const auto keys = event_keys(reinterpret_cast<EventObject*>(self));
    PyObject* list = PyList_New(static_cast<Py_ssize_t>(keys.size()));
    if (list == nullptr) {
        return nullptr;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
        Py_INCREF(keys[i]);
        PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), keys[i]);
    }
    return list;
}

PyObject* event_iter(PyObject* self) {
    PyObject* list = event_keys_list(self, nullptr);
    if (list == nullptr) {
        return nullptr;
    }
    PyObject* it = PyObject_GetIter(list);
    Py_DECREF(list);
    return it;
}

PyObject* event_repr(PyObject* self) {
    const auto& ev = reinterpret_cast<EventObject*>(self)->event;
    std::string text = std::string("<zeroflow.Event ") + kind_name(ev.kind);
    if (!ev.id.empty()) {
        text += " '" + std::string(ev.id) + "'";
    }
    if (ev.kind == zeroflow::EventKind::Input) {
        text += " " + std::string(zeroflow::to_string(ev.dtype())) + " " +
                std::to_string(ev.data.size()) + " B";
    }
    text += ">";
    return PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size()));
}

/// A property for `key`: an AttributeError-free getter that raises KeyError like the mapping.
template <PyObject* Strings::*Key>
PyObject* event_property(PyObject* self, void* /*unused*/) {
    return event_subscript(self, strings.*Key);
}

PyMethodDef event_methods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(event_get)),
     METH_FASTCALL | METH_KEYWORDS, "get(key, default=None)"},
    {"keys", event_keys_list, METH_NOARGS, "The keys this event has."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef event_getset[] = {
    {"type", event_property<&Strings::type>, nullptr, nullptr, nullptr},
    {"id", event_property<&Strings::id>, nullptr, nullptr, nullptr},
    {"value", event_property<&Strings::value>, nullptr, nullptr, nullptr},
    {"metadata", event_property<&Strings::metadata>, nullptr, nullptr, nullptr},
    {"timestamp", event_property<&Strings::timestamp>, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMappingMethods event_mapping = {event_length, event_subscript, nullptr};
PySequenceMethods event_sequence = {};

PyObject* new_event(const std::shared_ptr<NodeState>& state, zeroflow::Event&& event) {
    PyObject* self = event_type.tp_alloc(&event_type, 0);
    if (self == nullptr) {
        return nullptr;
    }
    auto* e = reinterpret_cast<EventObject*>(self);
    new (&e->state) std::shared_ptr<NodeState>(state);
    new (&e->event) zeroflow::Event(std::move(event));
    e->metadata = nullptr;
    return self;
}

// ---- Loan -------------------------------------------------------------------------------------

/// A loaned chunk as a context manager: `with node.loan(...) as buf:` gives a writable array
/// over shared memory; the block's normal end sends it, an exception discards it.
struct LoanObject {
    PyObject_HEAD std::shared_ptr<NodeState> state;
    std::optional<zeroflow::Sample> sample;
    DataType dtype;
    std::uint8_t ndim;
    std::array<Dim, zeroflow::kMaxDims> shape;
    PyObject* array; ///< a weak reference to the array (a strong one would be a cycle), or null
};

PyTypeObject loan_type{}; // filled in by init_types()

void loan_dealloc(PyObject* self) {
    auto* l = reinterpret_cast<LoanObject*>(self);
    if (l->sample) {
        Locked lock(*l->state);
        l->sample.reset();
    }
    Py_XDECREF(l->array);
    l->sample.~optional();
    l->state.~shared_ptr();
    Py_TYPE(self)->tp_free(self);
}

PyObject* loan_enter(PyObject* self, PyObject* /*unused*/) {
    auto* l = reinterpret_cast<LoanObject*>(self);
    if (!l->sample) {
        PyErr_SetString(PyExc_ValueError, "this loan was already sent or discarded");
        return nullptr;
    }
    if (l->array != nullptr) {
        PyErr_SetString(PyExc_ValueError,
                        "a loan is entered once: `with node.loan(...) as array:`");
        return nullptr;
    }
    auto data = l->sample->data();
    PyObject* array = make_array(l->dtype, {l->shape.data(), l->ndim},
                                 data.empty() ? nullptr : data.data(), true, self);
    if (array == nullptr) {
        return nullptr;
    }
    l->array = PyWeakref_NewRef(array, nullptr);
    if (l->array == nullptr) {
        Py_DECREF(array);
        return nullptr;
    }
    return array;
}

PyObject* loan_exit(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    auto* l = reinterpret_cast<LoanObject*>(self);
    if (!l->sample) {
        Py_RETURN_FALSE;
    }
    if (l->array != nullptr) {
        if (PyObject* array = PyWeakref_GET_OBJECT(l->array); array != Py_None) {
            // the chunk is no longer ours to write
            py::detail::array_proxy(array)->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        }
    }
    const bool failed = nargs > 0 && args[0] != Py_None;
    return guarded([&]() -> PyObject* {
        Locked lock(*l->state);
        auto sample = std::move(*l->sample);
        l->sample.reset();
        if (!failed) { // an exception discards the loan: the chunk goes back to the pool
            unwrap(l->state->node.send(std::move(sample)));
        }
        Py_RETURN_FALSE;
    });
}

PyMethodDef loan_methods[] = {
    {"__enter__", loan_enter, METH_NOARGS, nullptr},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(loan_exit)),
     METH_FASTCALL, nullptr},
    {nullptr, nullptr, 0, nullptr}};

// ---- Node -------------------------------------------------------------------------------------

struct NodeObject {
    PyObject_HEAD std::shared_ptr<NodeState> state;
};

PyTypeObject node_type{}; // filled in by init_types()

/// The node's state; RuntimeError when __init__ did not run (a subclass that skipped it).
NodeState* node_state(PyObject* self) {
    auto* state = reinterpret_cast<NodeObject*>(self)->state.get();
    if (state == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "zeroflow.Node.__init__ was not called");
    }
    return state;
}

/// A Node method's arguments (parse_args) and the node's state; null, with the Python error
/// set, when either fails.
template <std::size_t N>
NodeState* node_call(PyObject* self, const Keywords<N>& kw, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames, std::size_t required, std::array<PyObject*, N>& out) {
    return parse_args(kw, args, nargs, kwnames, required, out) ? node_state(self) : nullptr;
}

PyObject* node_new(PyTypeObject* type, PyObject* /*args*/, PyObject* /*kwargs*/) {
    PyObject* self = type->tp_alloc(type, 0);
    if (self != nullptr) {
        new (&reinterpret_cast<NodeObject*>(self)->state) std::shared_ptr<NodeState>();
    }
    return self;
}

void node_dealloc(PyObject* self) {
    reinterpret_cast<NodeObject*>(self)->state.~shared_ptr();
    Py_TYPE(self)->tp_free(self);
}

std::optional<std::string> optional_str(PyObject* arg, const char* name) {
    if (arg == nullptr || arg == Py_None) {
        return std::nullopt;
    }
    if (!PyUnicode_Check(arg)) {
        throw py::type_error(std::string(name) + " must be a str or None");
    }
    return py::reinterpret_borrow<py::str>(arg).cast<std::string>();
}

int node_init(PyObject* self, PyObject* args, PyObject* kwargs) {
    static const char* names[] = {"node_id", "dataflow", nullptr};
    PyObject* node_id_arg = nullptr;
    PyObject* dataflow_arg = nullptr;
    if (PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:Node", const_cast<char**>(names),
                                    &node_id_arg, &dataflow_arg) == 0) {
        return -1;
    }
    if (reinterpret_cast<NodeObject*>(self)->state) {
        // Re-connecting would free the state under a thread that is using it (next()).
        PyErr_SetString(PyExc_RuntimeError, "zeroflow.Node.__init__ called twice");
        return -1;
    }
    PyObject* ok = guarded([&]() -> PyObject* {
        const auto node_id = optional_str(node_id_arg, "node_id");
        const auto dataflow = optional_str(dataflow_arg, "dataflow");
        std::expected<zeroflow::Node, zeroflow::Error> node =
            std::unexpected(zeroflow::Error{ErrorKind::internal, "not connected"});
        {
            GilReleased release; // registering waits for the start barrier
            if (!node_id) {
                node = zeroflow::Node::from_env();
            } else if (dataflow) {
                node = zeroflow::Node::connect_dynamic(*node_id, *dataflow);
            } else {
                node = zeroflow::Node::connect_dynamic(*node_id);
            }
        }
        reinterpret_cast<NodeObject*>(self)->state =
            std::make_shared<NodeState>(unwrap(std::move(node)));
        Py_RETURN_NONE;
    });
    if (ok == nullptr) {
        return -1;
    }
    Py_DECREF(ok);
    return 0;
}

/// The next event; None on timeout and once the stream has ended (after STOP).
PyObject* node_next_event(PyObject* self, std::optional<double> timeout_s) {
    NodeState* state = node_state(self);
    if (state == nullptr) {
        return nullptr;
    }
    if (state->ended) {
        Py_RETURN_NONE;
    }
    return guarded([&]() -> PyObject* {
        using Clock = std::chrono::steady_clock;
        const auto deadline = timeout_s
                                  ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(*timeout_s))
                                  : Clock::time_point::max();
        for (;;) {
            std::optional<zeroflow::Event> event;
            {
                Locked lock(*state);
                auto slice = std::chrono::duration_cast<std::chrono::nanoseconds>(kSignalSlice);
                if (timeout_s) {
                    const auto left = deadline - Clock::now();
                    slice = std::max(
                        std::chrono::nanoseconds(0),
                        std::min(slice,
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(left)));
                }
                // Should restoring the GIL end this thread (interpreter exit), the event's chunk
                // goes back while the node is still locked.
                struct Drop {
                    std::optional<zeroflow::Event>* event;
                    ~Drop() {
                        if (event != nullptr) {
                            event->reset();
                        }
                    }
                } drop{&event};
                {
                    GilReleased release;
                    event = state->node.next(slice);
                }
                drop.event = nullptr;
            }
            if (event) {
                if (event->kind == zeroflow::EventKind::Stop) {
                    state->ended = true;
                }
                PyObject* object =
                    new_event(reinterpret_cast<NodeObject*>(self)->state, std::move(*event));
                if (object == nullptr) { // no memory: the chunk goes back with the node locked
                    Locked lock(*state);
                    event.reset();
                }
                return object;
            }
            if (PyErr_CheckSignals() != 0) { // Ctrl-C: KeyboardInterrupt
                return nullptr;
            }
            if (timeout_s && Clock::now() >= deadline) {
                Py_RETURN_NONE;
            }
        }
    });
}

PyObject* node_next(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    std::array<PyObject*, 1> a{};
    static const Keywords kw("next", std::array{"timeout"});
    if (!parse_args(kw, args, nargs, kwnames, 0, a)) {
        return nullptr;
    }
    std::optional<double> timeout;
    if (a[0] != nullptr && a[0] != Py_None) {
        const double t = PyFloat_AsDouble(a[0]);
        if (t == -1.0 && PyErr_Occurred() != nullptr) {
            return nullptr;
        }
        if (std::isnan(t)) {
            PyErr_SetString(PyExc_ValueError, "next(): timeout is nan");
            return nullptr;
        }
        if (t < kNoTimeoutS) { // beyond (inf included): no limit, as None
            timeout = t;
        }
    }
    return node_next_event(self, timeout);
}

PyObject* node_iternext(PyObject* self) {
    PyObject* event = node_next_event(self, std::nullopt);
    if (event == Py_None) { // the stream ended: StopIteration
        Py_DECREF(event);
        return nullptr;
    }
    return event;
}

PyObject* node_iter(PyObject* self) {
    Py_INCREF(self);
    return self;
}

zeroflow::Output& node_output(NodeState& state, PyObject* id_arg) {
    if (!PyUnicode_Check(id_arg)) {
        throw py::type_error("an output id is a str");
    }
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(id_arg, &size);
    if (text == nullptr) {
        throw py::error_already_set();
    }
    std::string id(text, static_cast<std::size_t>(size));
    auto it = state.outputs.find(id);
    if (it == state.outputs.end()) {
        it = state.outputs
                 .emplace(std::move(id), unwrap(state.node.output(
                                             std::string(text, static_cast<std::size_t>(size)))))
                 .first;
    }
    return it->second;
}

void copy_and_send(NodeState& state, zeroflow::Sample&& sample, const void* data,
                   std::size_t bytes) {
    if (bytes != 0) {
        if (bytes >= kReleaseGilBytes) {
            GilReleased release;
            std::memcpy(sample.data().data(), data, bytes);
        } else {
            std::memcpy(sample.data().data(), data, bytes);
        }
    }
    unwrap(state.node.send(std::move(sample)));
}

PyObject* node_send_output(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                           PyObject* kwnames) {
    std::array<PyObject*, 3> a{};
    static const Keywords kw("send_output", std::array{"output_id", "data", "metadata"});
    NodeState* state = node_call(self, kw, args, nargs, kwnames, 2, a);
    if (state == nullptr) {
        return nullptr;
    }
    return guarded([&]() -> PyObject* {
        const auto params = convert_metadata(
            a[2] != nullptr ? py::reinterpret_borrow<py::object>(a[2]) : py::none());
        PyObject* data = a[1];
        if (PyBytes_Check(data) || PyByteArray_Check(data) || PyMemoryView_Check(data)) {
            Py_buffer view;
            if (PyObject_GetBuffer(data, &view, PyBUF_C_CONTIGUOUS) != 0) {
                throw py::error_already_set();
            }
            struct Release {
                Py_buffer* v;
                ~Release() { PyBuffer_Release(v); }
            } release{&view};
            const auto bytes = static_cast<std::size_t>(view.len);
            Locked lock(*state);
            auto sample = unwrap(node_output(*state, a[0]).loan(bytes));
            write_metadata(sample, params);
            copy_and_send(*state, std::move(sample), view.buf, bytes);
            Py_RETURN_NONE;
        }
        // numpy arrays, numpy scalars, lists: one contiguous array (no copy when it is one).
        auto array =
            py::array::ensure(py::reinterpret_borrow<py::object>(data), py::array::c_style);
        if (!array) {
            PyErr_Clear();
            throw py::type_error("send_output takes a numpy array, bytes, bytearray, memoryview "
                                 "or a list of numbers");
        }
        const auto dtype = data_type_of(array.dtype());
        if (array.ndim() > static_cast<py::ssize_t>(zeroflow::kMaxDims)) {
            throw py::value_error("zeroflow messages have at most 8 dimensions");
        }
        std::array<std::uint64_t, zeroflow::kMaxDims> shape{};
        const auto ndim = static_cast<std::size_t>(array.ndim());
        for (std::size_t i = 0; i < ndim; ++i) {
            shape[i] = static_cast<std::uint64_t>(array.shape(static_cast<py::ssize_t>(i)));
        }
        const auto count = static_cast<std::size_t>(array.size());
        Locked lock(*state);
        auto sample = unwrap(node_output(*state, a[0]).loan_typed(dtype, count));
        sample.set_shape(std::span<const std::uint64_t>(shape.data(), ndim));
        write_metadata(sample, params);
        copy_and_send(*state, std::move(sample), array.data(),
                      static_cast<std::size_t>(array.nbytes()));
        Py_RETURN_NONE;
    });
}

PyObject* node_loan(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    std::array<PyObject*, 4> a{};
    static const Keywords kw("loan", std::array{"output_id", "shape", "dtype", "metadata"});
    NodeState* state = node_call(self, kw, args, nargs, kwnames, 2, a);
    if (state == nullptr) {
        return nullptr;
    }
    return guarded([&]() -> PyObject* {
        const auto dtype = a[2] != nullptr ? data_type_arg(py::reinterpret_borrow<py::object>(a[2]))
                                           : DataType::u8;
        std::array<Dim, zeroflow::kMaxDims> shape{};
        std::size_t ndim = 0;
        auto push = [&](Py_ssize_t d) {
            if (ndim == zeroflow::kMaxDims) {
                throw py::value_error("zeroflow messages have at most 8 dimensions");
            }
            if (d < 0) {
                throw py::value_error("a shape has no negative dimensions");
            }
            shape[ndim++] = static_cast<Dim>(d);
        };
        // A dimension: an int or anything with __index__ (numpy integers); TypeError otherwise.
        auto dimension = [](PyObject* d) {
            const Py_ssize_t v =
                PyLong_CheckExact(d) ? PyLong_AsSsize_t(d) : PyNumber_AsSsize_t(d, nullptr);
            if (v == -1 && PyErr_Occurred() != nullptr) {
                throw py::error_already_set();
            }
            return v;
        };
        PyObject* shape_arg = a[1];
        if (PyTuple_Check(shape_arg)) { // the common case
            const auto n = PyTuple_GET_SIZE(shape_arg);
            for (Py_ssize_t i = 0; i < n; ++i) {
                push(dimension(PyTuple_GET_ITEM(shape_arg, i)));
            }
        } else if (PySequence_Check(shape_arg) && !PyUnicode_Check(shape_arg) &&
                   !PyBytes_Check(shape_arg)) { // a list, a numpy array of ints
            auto items = py::reinterpret_steal<py::object>(
                PySequence_Fast(shape_arg, "a shape is an int or a sequence of ints"));
            if (!items) {
                throw py::error_already_set();
            }
            const auto n = PySequence_Fast_GET_SIZE(items.ptr());
            for (Py_ssize_t i = 0; i < n; ++i) {
                push(dimension(PySequence_Fast_GET_ITEM(items.ptr(), i)));
            }
        } else if (PyIndex_Check(shape_arg)) { // 5, numpy.int64(5)
            push(dimension(shape_arg));
        } else {
            throw py::type_error("loan(): shape must be an int or a tuple of ints");
        }
        std::size_t count = 1;
        std::array<std::uint64_t, zeroflow::kMaxDims> dims{};
        for (std::size_t i = 0; i < ndim; ++i) {
            dims[i] = static_cast<std::uint64_t>(shape[i]);
            if (__builtin_mul_overflow(count, static_cast<std::size_t>(shape[i]), &count)) {
                throw py::value_error("the shape's element count overflows");
            }
        }
        std::vector<Param> params;
        if (a[3] != nullptr && a[3] != Py_None) {
            params = convert_metadata(py::reinterpret_borrow<py::object>(a[3]));
        }
        PyObject* loan = loan_type.tp_alloc(&loan_type, 0);
        if (loan == nullptr) {
            throw py::error_already_set();
        }
        auto* l = reinterpret_cast<LoanObject*>(loan);
        new (&l->state) std::shared_ptr<NodeState>(reinterpret_cast<NodeObject*>(self)->state);
        new (&l->sample) std::optional<zeroflow::Sample>();
        l->dtype = dtype;
        l->ndim = static_cast<std::uint8_t>(ndim);
        l->shape = shape;
        l->array = nullptr;
        py::object owner = py::reinterpret_steal<py::object>(loan); // freed if loaning fails
        Locked lock(*state);
        auto sample = unwrap(node_output(*state, a[0]).loan_typed(dtype, count));
        if (dtype != DataType::bytes) {
            sample.set_shape(std::span<const std::uint64_t>(dims.data(), ndim));
        } else {
            sample.set_type(DataType::bytes, {}); // untyped: no shape travels
        }
        write_metadata(sample, params);
        l->sample.emplace(std::move(sample));
        return owner.release().ptr();
    });
}

PyObject* node_dropped(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    std::array<PyObject*, 1> a{};
    static const Keywords kw("dropped", std::array{"input_id"});
    NodeState* state = node_call(self, kw, args, nargs, kwnames, 1, a);
    if (state == nullptr) {
        return nullptr;
    }
    return guarded([&]() -> PyObject* {
        if (!PyUnicode_Check(a[0])) {
            throw py::type_error("dropped(): input_id must be a str");
        }
        const auto input = py::reinterpret_borrow<py::object>(a[0]).cast<std::string>();
        Locked lock(*state);
        unwrap(state->node.input(input)); // a typo is an error, not a silent 0
        return PyLong_FromUnsignedLongLong(state->node.dropped(input));
    });
}

template <std::vector<std::string> (zeroflow::Node::*List)() const>
PyObject* node_names(PyObject* self, PyObject* /*unused*/) {
    NodeState* state = node_state(self);
    if (state == nullptr) {
        return nullptr;
    }
    return guarded([&]() -> PyObject* { return py::cast((state->node.*List)()).release().ptr(); });
}

template <const std::string& (zeroflow::Node::*Name)() const noexcept>
PyObject* node_name(PyObject* self, void* /*unused*/) {
    NodeState* state = node_state(self);
    if (state == nullptr) {
        return nullptr;
    }
    const std::string& name = (state->node.*Name)();
    return PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
}

template <typename F>
PyCFunction fastcall(F function) {
    return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(function));
}

PyMethodDef node_methods[] = {
    {"next", fastcall(node_next), METH_FASTCALL | METH_KEYWORDS,
     "next(timeout=None): the next event; None on timeout and after the stream ended (after "
     "STOP)."},
    {"send_output", fastcall(node_send_output), METH_FASTCALL | METH_KEYWORDS,
     "send_output(output_id, data, metadata=None): copies data (numpy array, bytes, bytearray, "
     "memoryview or list) into one message."},
    {"loan", fastcall(node_loan), METH_FASTCALL | METH_KEYWORDS,
     "loan(output_id, shape, dtype='uint8', metadata=None): a Loan of shared memory: `with "
     "node.loan(...) as array:` sends on exit."},
    {"dropped", fastcall(node_dropped), METH_FASTCALL | METH_KEYWORDS,
     "dropped(input_id): messages of that input dropped so far (its queue was full)."},
    {"inputs", node_names<&zeroflow::Node::inputs>, METH_NOARGS, "The node's input ids."},
    {"outputs", node_names<&zeroflow::Node::outputs>, METH_NOARGS, "The node's output ids."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef node_getset[] = {
    {"id", node_name<&zeroflow::Node::id>, nullptr, "The node's id.", nullptr},
    {"dataflow_id", node_name<&zeroflow::Node::dataflow_id>, nullptr, "The dataflow's UUID.",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

void add_type(py::module_& m, PyTypeObject& type, const char* name) {
    Py_SET_REFCNT(&type, 1); // a static type: never freed
    if (PyType_Ready(&type) != 0) {
        throw py::error_already_set();
    }
    Py_INCREF(&type);
    m.attr(name) = py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(&type));
}

void init_types(py::module_& m) {
    strings = {intern("type"),
               intern("id"),
               intern("value"),
               intern("metadata"),
               intern("timestamp"),
               intern("sequence"),
               intern("error"),
               {},
               {},
               {},
               {},
               {}};
    strings.input_keys = {strings.type,     strings.id,        strings.value,
                          strings.metadata, strings.timestamp, strings.sequence};
    strings.closed_keys = {strings.type, strings.id};
    strings.error_keys = {strings.type, strings.error};
    strings.other_keys = {strings.type};
    for (auto kind : {zeroflow::EventKind::Input, zeroflow::EventKind::InputClosed,
                      zeroflow::EventKind::AllInputsClosed, zeroflow::EventKind::Stop,
                      zeroflow::EventKind::Error}) {
        strings.kinds[static_cast<std::size_t>(kind)] = intern(kind_name(kind));
    }

    event_type.tp_name = "zeroflow.Event";
    event_type.tp_basicsize = sizeof(EventObject);
    event_type.tp_dealloc = event_dealloc;
    event_type.tp_repr = event_repr;
    event_sequence.sq_contains = event_contains;
    event_type.tp_as_sequence = &event_sequence;
    event_type.tp_as_mapping = &event_mapping;
    event_type.tp_iter = event_iter;
    event_type.tp_flags = Py_TPFLAGS_DEFAULT;
    event_type.tp_doc = "One event of a node's stream: a read-only mapping with the keys type, "
                        "id, value, metadata, timestamp, sequence (dora's, and the sequence).";
    event_type.tp_methods = event_methods;
    event_type.tp_getset = event_getset;
    add_type(m, event_type, "Event");

    loan_type.tp_name = "zeroflow.Loan";
    loan_type.tp_basicsize = sizeof(LoanObject);
    loan_type.tp_dealloc = loan_dealloc;
    loan_type.tp_flags = Py_TPFLAGS_DEFAULT;
    loan_type.tp_doc =
        "A chunk of shared memory lent by an output; use it as `with node.loan(...) as array:`";
    loan_type.tp_methods = loan_methods;
    add_type(m, loan_type, "Loan");

    node_type.tp_name = "zeroflow.Node";
    node_type.tp_basicsize = sizeof(NodeObject);
    node_type.tp_new = node_new;
    node_type.tp_init = node_init;
    node_type.tp_dealloc = node_dealloc;
    node_type.tp_iter = node_iter;
    node_type.tp_iternext = node_iternext;
    node_type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE;
    node_type.tp_doc = "A zeroflow node: Node() for the node the daemon started, Node('id') for "
                       "a dynamic node, Node('id', dataflow='name').";
    node_type.tp_methods = node_methods;
    node_type.tp_getset = node_getset;
    add_type(m, node_type, "Node");
}

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
    init_types(m);
}
