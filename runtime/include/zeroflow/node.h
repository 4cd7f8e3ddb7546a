/* zeroflow's C node API: plain C99, opaque handles, status codes. A thin layer over the C++ API
 * (<zeroflow/node.hpp>) in the same library: link zeroflow::runtime, or
 * `pkg-config --cflags --libs zeroflow-c`. See docs/c.md.
 *
 *   zf_node* node;
 *   if (zf_node_from_env(&node) != ZF_OK) {
 *       fprintf(stderr, "%s\n", zf_last_error_message());
 *       return 1;
 *   }
 *   zf_output* out;
 *   zf_node_output(node, "out", &out);
 *   for (;;) {
 *       zf_event* ev;
 *       zf_event_kind kind;
 *       zf_node_next(node, &ev);
 *       zf_event_kind_of(ev, &kind);
 *       if (kind == ZF_EVENT_STOP) { zf_event_free(ev); break; }
 *       if (kind == ZF_EVENT_INPUT) {
 *           const void* data; size_t size;
 *           zf_event_data(ev, &data, &size);
 *           zf_output_send(out, data, size);             // one copy
 *       }
 *       zf_event_free(ev);
 *   }
 *   zf_node_close(node);
 *
 * Threads: a node, its outputs, events and samples are not thread-safe. Use each node from one
 * thread at a time (several nodes on several threads are fine). zf_last_error_message() and
 * zf_status_name() may be called from any thread.
 *
 * Errors: every fallible call returns a zf_status (ZF_OK = 0) and writes its out-parameters only
 * on success. zf_last_error_message() says what went wrong and what to do. No call aborts or
 * exits: NULL handles or pointers, wrong sizes, unknown outputs or inputs, a handle used after
 * it was freed, sent or closed (while its memory has not been reused by a new handle of the
 * same kind), and use after zf_node_close all give status codes. Pointers that never came from
 * this API cannot be checked.
 *
 * Ownership, in short (each function says it again):
 *   - zf_node: from zf_node_from_env / zf_node_connect_dynamic; the caller closes it with
 *     zf_node_close, which also ends every event, sample and output of that node.
 *   - zf_event: from zf_node_next*; the caller frees it with zf_event_free. Pointers that the
 *     zf_event_* accessors return are valid until that free (or until zf_node_close).
 *   - zf_sample: from zf_output_loan*; ended by exactly one of zf_sample_send or
 *     zf_sample_discard (both also when they fail), or by zf_node_close.
 *   - zf_output: owned by its node; never freed by the caller; valid until zf_node_close.
 *   - const char* arguments are copied or used during the call only.
 */
#ifndef ZEROFLOW_NODE_H
#define ZEROFLOW_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this header's API; grows when functions are added. */
#define ZF_C_API_VERSION 1

/** Most dimensions of a message's shape. */
#define ZF_MAX_DIMS 8
/** Most bytes of a message's encoding string. */
#define ZF_MAX_ENCODING_SIZE 63

/** Result of every fallible call. 1..17 mirror zeroflow::ErrorKind (value = kind + 1), in its
 * order; 64 and up are the C API's own. */
typedef enum zf_status {
    ZF_OK = 0,
    ZF_ERR_INVALID_ARGUMENT = 1,  /**< the call is wrong: NULL, unknown output, freed handle */
    ZF_ERR_MESSAGE_TOO_LARGE = 2, /**< loan above the output's max_message_size */
    ZF_ERR_POOL_EXHAUSTED = 3,    /**< every chunk of the output is in flight; retry later */
    ZF_ERR_NO_SPACE = 4,          /**< /dev/shm is full */
    ZF_ERR_CLOSED = 5,            /**< the node, output or dataflow is closed or finished */
    ZF_ERR_DAEMON_UNREACHABLE = 6,
    ZF_ERR_PROTOCOL_MISMATCH = 7,
    ZF_ERR_NO_SUCH_DATAFLOW = 8,
    ZF_ERR_NO_SUCH_NODE = 9,
    ZF_ERR_NODE_NOT_DYNAMIC = 10,
    ZF_ERR_AMBIGUOUS_NODE = 11,
    ZF_ERR_NODE_ALREADY_CONNECTED = 12,
    ZF_ERR_MISSING_ENVIRONMENT = 13, /**< zf_node_from_env outside a node the daemon started */
    ZF_ERR_SHARED_MEMORY = 14,
    ZF_ERR_TIMEOUT = 15, /**< also: zf_node_next_timeout saw no event in time */
    ZF_ERR_INTERNAL = 16,
    ZF_ERR_METADATA_TOO_LARGE = 17, /**< parameters exceed the output's max_metadata_size */
    ZF_ERR_NODE_IS_DYNAMIC = 18,    /**< zf_node_from_env as a node declared `path: dynamic` */
    ZF_ERR_NOT_FOUND = 64,          /**< the message has no parameter of that key */
    ZF_ERR_WRONG_TYPE = 65,         /**< the parameter exists with a value of another kind */
    /** Not a status: keeps every enum of this header int-sized (as Vulkan's *_MAX_ENUM do), so
     * that any non-negative int a C caller passes is a valid value on the C++ side. */
    ZF_STATUS_MAX_ENUM = 0x7FFFFFFF
} zf_status;

/** Kinds of events, in zeroflow::EventKind's order. */
typedef enum zf_event_kind {
    ZF_EVENT_INPUT = 0,             /**< a message on one of the node's inputs */
    ZF_EVENT_INPUT_CLOSED = 1,      /**< an input's sender is gone (after its last message) */
    ZF_EVENT_ALL_INPUTS_CLOSED = 2, /**< once, after the last InputClosed */
    ZF_EVENT_STOP = 3,              /**< the stream ended; every later next gives Stop at once */
    ZF_EVENT_ERROR = 4,             /**< e.g. the daemon died; zf_event_error_message says why */
    ZF_EVENT_KIND_MAX_ENUM = 0x7FFFFFFF /**< not a kind (see ZF_STATUS_MAX_ENUM) */
} zf_event_kind;

/** Element types; the codes of zeroflow::DataType. */
typedef enum zf_dtype {
    ZF_DTYPE_BYTES = 0,
    ZF_DTYPE_U8 = 1,
    ZF_DTYPE_I8 = 2,
    ZF_DTYPE_U16 = 3,
    ZF_DTYPE_I16 = 4,
    ZF_DTYPE_U32 = 5,
    ZF_DTYPE_I32 = 6,
    ZF_DTYPE_U64 = 7,
    ZF_DTYPE_I64 = 8,
    ZF_DTYPE_F32 = 9,
    ZF_DTYPE_F64 = 10,
    ZF_DTYPE_BOOL = 11,
    ZF_DTYPE_MAX_ENUM = 0x7FFFFFFF /**< not a type (see ZF_STATUS_MAX_ENUM) */
} zf_dtype;

/** Kinds of parameter values; the codes of zeroflow::ParameterKind. */
typedef enum zf_param_kind {
    ZF_PARAM_BOOL = 1,
    ZF_PARAM_INT = 2,
    ZF_PARAM_DOUBLE = 3,
    ZF_PARAM_STRING = 4,
    ZF_PARAM_INT_LIST = 5,
    ZF_PARAM_DOUBLE_LIST = 6,
    ZF_PARAM_STRING_LIST = 7,
    ZF_PARAM_KIND_MAX_ENUM = 0x7FFFFFFF /**< not a kind (see ZF_STATUS_MAX_ENUM) */
} zf_param_kind;

/** A string that is not NUL-terminated (it points into shared memory). */
typedef struct zf_str {
    const char* data;
    size_t size;
} zf_str;

typedef struct zf_node zf_node;
typedef struct zf_event zf_event;
typedef struct zf_output zf_output;
typedef struct zf_sample zf_sample;

/* ---- Errors ---------------------------------------------------------------------------- */

/** What the most recent failed call of this thread said (with what to do); "" before any. The
 * text stays valid until the next failing call on this thread. Calls that succeed leave it. */
const char* zf_last_error_message(void);
/** Stable snake_case name of a status ("ok", "pool_exhausted", ...); "unknown" otherwise. */
const char* zf_status_name(zf_status status);

/* ---- Nodes ----------------------------------------------------------------------------- */

/** Connects as the node the daemon started this process as (ZEROFLOW_DATAFLOW_ID,
 * ZEROFLOW_NODE_ID, ZEROFLOW_RUNTIME_DIR). On ZF_OK, *node is the caller's: close it with
 * zf_node_close. Errors: ZF_ERR_MISSING_ENVIRONMENT, ZF_ERR_DAEMON_UNREACHABLE,
 * ZF_ERR_NODE_IS_DYNAMIC (a `path: dynamic` node: use zf_node_connect_dynamic), ... */
zf_status zf_node_from_env(zf_node** node);
/** Connects as dynamic node `node_id` (`path: dynamic`). `dataflow` (UUID or name) picks the
 * dataflow; NULL or "" uses $ZEROFLOW_DATAFLOW, else the only running one that has the node.
 * Ownership as zf_node_from_env. */
zf_status zf_node_connect_dynamic(const char* node_id, const char* dataflow, zf_node** node);
/** Closes the node: its outputs close (downstream gets InputClosed), its events and samples
 * still alive are released (their handles then only accept zf_event_free / zf_sample_discard,
 * and give ZF_ERR_CLOSED elsewhere), its zf_output handles become invalid. The handle gives
 * ZF_ERR_CLOSED afterwards, a second close included. */
zf_status zf_node_close(zf_node* node);
/** The node's id / its dataflow's UUID: NUL-terminated, owned by the node, valid until close. */
zf_status zf_node_id(const zf_node* node, const char** id);
zf_status zf_node_dataflow_id(const zf_node* node, const char** dataflow_id);
/** Messages input `input` lost to a full queue so far. ZF_ERR_INVALID_ARGUMENT for an input
 * the node does not declare. */
zf_status zf_node_dropped(const zf_node* node, const char* input, uint64_t* dropped);
/** Whether a daemon timer (`zeroflow/timer/...`) feeds input `input`: its messages are ticks
 * whose 8 bytes count them. ZF_ERR_INVALID_ARGUMENT for an input the node does not declare. */
zf_status zf_node_input_from_timer(const zf_node* node, const char* input, bool* from_timer);

/* ---- Events ---------------------------------------------------------------------------- */

/** Blocks for the next event. On ZF_OK, *event is the caller's: free it with zf_event_free.
 * After the stream ended (Stop), every call gives a Stop event at once. */
zf_status zf_node_next(zf_node* node, zf_event** event);
/** Waits at most `timeout_ns`; ZF_ERR_TIMEOUT (and *event untouched) when nothing came. */
zf_status zf_node_next_timeout(zf_node* node, uint64_t timeout_ns, zf_event** event);
/** Frees an event and hands its shared-memory chunk back: every pointer its accessors gave
 * becomes invalid. A second free gives ZF_ERR_INVALID_ARGUMENT. NULL gives ZF_OK (no-op). */
zf_status zf_event_free(zf_event* event);

zf_status zf_event_kind_of(const zf_event* event, zf_event_kind* kind);
/** The input's id for Input and InputClosed events (NUL-terminated); "" otherwise. Valid until
 * zf_event_free. `size` may be NULL. */
zf_status zf_event_id(const zf_event* event, const char** id, size_t* size);
/** The payload, in shared memory (zero-copy), valid until zf_event_free; NULL/0 for events
 * without data. */
zf_status zf_event_data(const zf_event* event, const void** data, size_t* size);
/** The element type (ZF_DTYPE_BYTES unless the sender set one). */
zf_status zf_event_dtype(const zf_event* event, zf_dtype* dtype);
/** The shape (C order): `*ndim` dimensions at `*dims` (NULL when ndim is 0), valid until
 * zf_event_free. */
zf_status zf_event_shape(const zf_event* event, const uint64_t** dims, size_t* ndim);
/** The encoding ("rgb8", ...; "" when none), NUL-terminated, valid until zf_event_free. */
zf_status zf_event_encoding(const zf_event* event, const char** encoding);
/** Send time on CLOCK_MONOTONIC, ns. */
zf_status zf_event_timestamp_ns(const zf_event* event, uint64_t* ns);
/** Send time on CLOCK_REALTIME, ns since 1970. */
zf_status zf_event_wall_time_ns(const zf_event* event, uint64_t* ns);
/** Whether the event is a tick of a timer input (false for other kinds). */
zf_status zf_event_from_timer(const zf_event* event, bool* from_timer);
/** Per-output sequence number, from 1. */
zf_status zf_event_sequence(const zf_event* event, uint64_t* sequence);
/** An Error event's message (NUL-terminated, "" for other kinds), valid until zf_event_free. */
zf_status zf_event_error_message(const zf_event* event, const char** message);

/* Parameters (dora's metadata parameters). Keys are NUL-terminated. Missing key:
 * ZF_ERR_NOT_FOUND; a value of another kind: ZF_ERR_WRONG_TYPE. Pointers returned are valid
 * until zf_event_free. */

/** Number of parameters, in the order the sender set them. */
zf_status zf_event_param_count(const zf_event* event, size_t* count);
/** Key (not NUL-terminated) and kind of parameter `index` (< count). */
zf_status zf_event_param_at(const zf_event* event, size_t index, zf_str* key, zf_param_kind* kind);
zf_status zf_event_param_kind(const zf_event* event, const char* key, zf_param_kind* kind);
zf_status zf_event_get_bool(const zf_event* event, const char* key, bool* value);
zf_status zf_event_get_int(const zf_event* event, const char* key, int64_t* value);
/** A double value, or an int value converted. */
zf_status zf_event_get_double(const zf_event* event, const char* key, double* value);
/** A string value, in shared memory, not NUL-terminated. */
zf_status zf_event_get_string(const zf_event* event, const char* key, zf_str* value);
zf_status zf_event_get_int_list(const zf_event* event, const char* key, const int64_t** values,
                                size_t* count);
zf_status zf_event_get_double_list(const zf_event* event, const char* key, const double** values,
                                   size_t* count);
zf_status zf_event_get_string_list(const zf_event* event, const char* key, const zf_str** values,
                                   size_t* count);

/* ---- Outputs and samples --------------------------------------------------------------- */

/** The handle of output `id`, owned by the node (same handle each time), valid until
 * zf_node_close. ZF_ERR_INVALID_ARGUMENT for an output the node does not declare (the message
 * lists those it does). */
zf_status zf_node_output(zf_node* node, const char* id, zf_output** output);
/** Copies `size` bytes at `data` (NULL allowed when size is 0) into a message and sends it. */
zf_status zf_output_send(zf_output* output, const void* data, size_t size);
/** zf_output_send by output name. */
zf_status zf_node_send_output(zf_node* node, const char* output, const void* data, size_t size);

/** Lends `bytes` of shared memory on the output (dtype bytes). On ZF_OK, *sample is the
 * caller's until zf_sample_send or zf_sample_discard. Errors: ZF_ERR_MESSAGE_TOO_LARGE,
 * ZF_ERR_POOL_EXHAUSTED (retry later), ZF_ERR_NO_SPACE, ZF_ERR_CLOSED. */
zf_status zf_output_loan(zf_output* output, size_t bytes, zf_sample** sample);
/** Lends room for `count` elements of `dtype`, shape {count}. */
zf_status zf_output_loan_typed(zf_output* output, zf_dtype dtype, size_t count, zf_sample** sample);
/** The writable payload (exactly the size asked for, or set by zf_sample_resize), valid until
 * the sample is sent or discarded. */
zf_status zf_sample_data(zf_sample* sample, void** data, size_t* size);
/** Sends fewer bytes than were loaned: ZF_ERR_INVALID_ARGUMENT when `bytes` exceeds the
 * current size. A typed sample then needs a matching shape. */
zf_status zf_sample_resize(zf_sample* sample, size_t bytes);
/** Sets the shape (at most ZF_MAX_DIMS dims; `dims` may be NULL when ndim is 0), keeping the
 * dtype. zf_sample_send checks product(shape) * element size == size. */
zf_status zf_sample_set_shape(zf_sample* sample, const uint64_t* dims, size_t ndim);
/** Sets the dtype and the shape. */
zf_status zf_sample_set_type(zf_sample* sample, zf_dtype dtype, const uint64_t* dims, size_t ndim);
/** Sets the encoding (NUL-terminated, at most ZF_MAX_ENCODING_SIZE bytes). */
zf_status zf_sample_set_encoding(zf_sample* sample, const char* encoding);

/* Parameters of the message, written straight into shared memory; setting a key again replaces
 * its value. Parameters that overflow the output's max_metadata_size give
 * ZF_ERR_METADATA_TOO_LARGE here and make zf_sample_send refuse the sample (with the sizes). */
zf_status zf_sample_set_bool(zf_sample* sample, const char* key, bool value);
zf_status zf_sample_set_int(zf_sample* sample, const char* key, int64_t value);
zf_status zf_sample_set_double(zf_sample* sample, const char* key, double value);
/** `value` is NUL-terminated. */
zf_status zf_sample_set_string(zf_sample* sample, const char* key, const char* value);
zf_status zf_sample_set_int_list(zf_sample* sample, const char* key, const int64_t* values,
                                 size_t count);
zf_status zf_sample_set_double_list(zf_sample* sample, const char* key, const double* values,
                                    size_t count);
/** `values`: `count` NUL-terminated strings. */
zf_status zf_sample_set_string_list(zf_sample* sample, const char* key, const char* const* values,
                                    size_t count);

/** Sends the sample to every input connected to its output (zero-copy). The sample handle ends
 * here whatever the result: a refused sample (bad shape, parameters too large) is discarded. */
zf_status zf_sample_send(zf_sample* sample);
/** Gives the chunk back unsent; the sample handle ends. */
zf_status zf_sample_discard(zf_sample* sample);

#ifdef __cplusplus
}
#endif

#endif /* ZEROFLOW_NODE_H */
