/* dora's C node API (dora 0.3, plus dora 1.0's dora_log and const-qualified dora_send_output),
 * provided by zeroflow so that dora C nodes compile and run unchanged: point the include path
 * here (`pkg-config --cflags dora_node_api_c`), keep `#include "node_api.h"`, and link
 * `-ldora_node_api_c`. Written for zeroflow from dora's documented interface; behaviour and the
 * few differences from dora are in docs/c.md. Built on <zeroflow/node.h>.
 *
 * Threads: a context and its events are not thread-safe; use each from one thread at a time.
 * Errors never abort: they are printed to stderr with zeroflow's message and reported as NULL
 * or -1 where the function has a result.
 */
#ifndef ZEROFLOW_DORA_NODE_API_H
#define ZEROFLOW_DORA_NODE_API_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Connects as the node the daemon started this process as. Returns the context (free it with
 * free_dora_context), or NULL after printing why. */
void* init_dora_context_from_env(void);
/** Closes the node (its outputs close downstream) and frees the context. Events not yet freed
 * keep only free_dora_event. NULL is ignored. */
void free_dora_context(void* dora_context);

/** Blocks for the next event; free it with free_dora_event. Returns NULL once the stream has
 * ended: after a Stop event was returned (zeroflow's AllInputsClosed is returned as a Stop, as
 * dora does), and for a NULL context. */
void* dora_next_event(void* dora_context);
/** Frees an event: pointers read from it become invalid. NULL is ignored. */
void free_dora_event(void* dora_event);

enum DoraEventType {
    DoraEventType_Stop = 0,
    DoraEventType_Input = 1,
    DoraEventType_InputClosed = 2,
    DoraEventType_Error = 3,
    DoraEventType_Unknown = 4
};
typedef enum DoraEventType DoraEventType;

/** The event's type; DoraEventType_Unknown for a NULL or invalid event. */
enum DoraEventType read_dora_event_type(void* dora_event);

/** The input id of an Input or InputClosed event (not NUL-terminated; zeroflow's is, but dora
 * code must not rely on it); NULL/0 for other events. Valid until free_dora_event. */
void read_dora_input_id(void* dora_event, char** out_ptr, size_t* out_len);
/** The payload of an Input event, in shared memory, valid until free_dora_event; NULL/0 for a
 * timer tick, an empty message, or another kind of event. */
void read_dora_input_data(void* dora_event, char** out_ptr, size_t* out_len);
/** The send time of an Input event on the wall clock, NTP64 (seconds since 1970 in the high 32
 * bits, binary fraction of a second in the low 32); 0 for other events. */
unsigned long long read_dora_input_timestamp(void* dora_event);

/** Copies `data_len` bytes into a message on output `id` (not NUL-terminated) and sends it.
 * 0 on success, -1 on failure (printed to stderr). An output the node does not declare is
 * ignored with a warning printed once per output, and gives 0, as in dora. */
int dora_send_output(void* dora_context, const char* id_ptr, size_t id_len, const char* data_ptr,
                     size_t data_len);

/** Prints `[level] node-id: message` to stderr (the node's log file under zeroflow). 0, or -1
 * for NULL arguments. */
int dora_log(void* dora_context, const char* level_ptr, size_t level_len, const char* msg_ptr,
             size_t msg_len);

#ifdef __cplusplus
}
#endif

#endif /* ZEROFLOW_DORA_NODE_API_H */
