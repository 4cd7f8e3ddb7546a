/* dora's C node API (zeroflow/dora/node_api.h) on top of zeroflow's C API (zeroflow/node.h):
 * written in C99 against the public header alone, so it is also proof that node.h suffices. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zeroflow/dora/node_api.h>
#include <zeroflow/node.h>

typedef struct dora_context {
    zf_node* node;
    int ended;     /* a Stop (or AllInputsClosed) was returned: next gives NULL */
    char** warned; /* undeclared outputs already warned about */
    size_t warned_count;
} dora_context;

static void report(const char* function, zf_status status) {
    fprintf(stderr, "zeroflow (dora API): %s: %s: %s\n", function, zf_status_name(status),
            zf_last_error_message());
}

void* init_dora_context_from_env(void) {
    zf_node* node = NULL;
    const zf_status status = zf_node_from_env(&node);
    if (status != ZF_OK) {
        report("init_dora_context_from_env", status);
        return NULL;
    }
    dora_context* context = (dora_context*)calloc(1, sizeof(dora_context));
    if (context == NULL) {
        fprintf(stderr, "zeroflow (dora API): init_dora_context_from_env: out of memory\n");
        zf_node_close(node);
        return NULL;
    }
    context->node = node;
    return context;
}

void free_dora_context(void* dora_context_ptr) {
    dora_context* context = (dora_context*)dora_context_ptr;
    if (context == NULL) {
        return;
    }
    const zf_status status = zf_node_close(context->node);
    if (status != ZF_OK) {
        report("free_dora_context", status);
    }
    for (size_t i = 0; i < context->warned_count; ++i) {
        free(context->warned[i]);
    }
    free(context->warned);
    free(context);
}

void* dora_next_event(void* dora_context_ptr) {
    dora_context* context = (dora_context*)dora_context_ptr;
    if (context == NULL) {
        fprintf(stderr, "zeroflow (dora API): dora_next_event: the context is NULL\n");
        return NULL;
    }
    if (context->ended) {
        return NULL;
    }
    zf_event* event = NULL;
    zf_status status = zf_node_next(context->node, &event);
    if (status != ZF_OK) {
        report("dora_next_event", status);
        context->ended = 1;
        return NULL;
    }
    zf_event_kind kind = ZF_EVENT_STOP;
    zf_event_kind_of(event, &kind);
    if (kind == ZF_EVENT_STOP || kind == ZF_EVENT_ALL_INPUTS_CLOSED) {
        context->ended = 1; /* dora: AllInputsClosed is a Stop, and the stream ends there */
    }
    return event;
}

void free_dora_event(void* dora_event) {
    if (dora_event == NULL) {
        return;
    }
    const zf_status status = zf_event_free((zf_event*)dora_event);
    if (status != ZF_OK) {
        report("free_dora_event", status);
    }
}

enum DoraEventType read_dora_event_type(void* dora_event) {
    zf_event_kind kind = ZF_EVENT_STOP;
    const zf_status status = zf_event_kind_of((const zf_event*)dora_event, &kind);
    if (status != ZF_OK) {
        report("read_dora_event_type", status);
        return DoraEventType_Unknown;
    }
    switch (kind) {
    case ZF_EVENT_INPUT:
        return DoraEventType_Input;
    case ZF_EVENT_INPUT_CLOSED:
        return DoraEventType_InputClosed;
    case ZF_EVENT_ALL_INPUTS_CLOSED:
    case ZF_EVENT_STOP:
        return DoraEventType_Stop;
    case ZF_EVENT_ERROR:
        return DoraEventType_Error;
    case ZF_EVENT_KIND_MAX_ENUM:
        break;
    }
    return DoraEventType_Unknown;
}

void read_dora_input_id(void* dora_event, char** out_ptr, size_t* out_len) {
    if (out_ptr == NULL || out_len == NULL) {
        fprintf(stderr, "zeroflow (dora API): read_dora_input_id: NULL out-pointer\n");
        return;
    }
    *out_ptr = NULL;
    *out_len = 0;
    const char* id = NULL;
    size_t size = 0;
    const zf_status status = zf_event_id((const zf_event*)dora_event, &id, &size);
    if (status != ZF_OK) {
        report("read_dora_input_id", status);
        return;
    }
    if (size != 0) {
        *out_ptr = (char*)id; /* dora's signature is not const; callers only read it */
        *out_len = size;
    }
}

void read_dora_input_data(void* dora_event, char** out_ptr, size_t* out_len) {
    if (out_ptr == NULL || out_len == NULL) {
        fprintf(stderr, "zeroflow (dora API): read_dora_input_data: NULL out-pointer\n");
        return;
    }
    *out_ptr = NULL;
    *out_len = 0;
    const zf_event* event = (const zf_event*)dora_event;
    zf_event_kind kind = ZF_EVENT_STOP;
    zf_status status = zf_event_kind_of(event, &kind);
    if (status != ZF_OK) {
        report("read_dora_input_data", status);
        return;
    }
    bool tick = false;
    if (kind != ZF_EVENT_INPUT || zf_event_from_timer(event, &tick) != ZF_OK || tick) {
        return; /* dora's timer ticks carry no data */
    }
    const void* data = NULL;
    size_t size = 0;
    status = zf_event_data(event, &data, &size);
    if (status != ZF_OK) {
        report("read_dora_input_data", status);
        return;
    }
    if (size != 0) {
        *out_ptr = (char*)data; /* dora's signature is not const; callers only read it */
        *out_len = size;
    }
}

unsigned long long read_dora_input_timestamp(void* dora_event) {
    const zf_event* event = (const zf_event*)dora_event;
    zf_event_kind kind = ZF_EVENT_STOP;
    zf_status status = zf_event_kind_of(event, &kind);
    if (status != ZF_OK) {
        report("read_dora_input_timestamp", status);
        return 0;
    }
    if (kind != ZF_EVENT_INPUT) {
        return 0;
    }
    uint64_t ns = 0;
    zf_event_wall_time_ns(event, &ns);
    /* NTP64: seconds in the high 32 bits, the fraction of a second in units of 2^-32 below. */
    const uint64_t seconds = ns / 1000000000u;
    const uint64_t fraction = ((ns % 1000000000u) << 32) / 1000000000u;
    return (unsigned long long)((seconds << 32) | fraction);
}

/* True (and remembers it) the first time `id` is seen as undeclared. */
static int first_warning(dora_context* context, const char* id) {
    for (size_t i = 0; i < context->warned_count; ++i) {
        if (strcmp(context->warned[i], id) == 0) {
            return 0;
        }
    }
    char** grown = (char**)realloc(context->warned, (context->warned_count + 1) * sizeof(char*));
    if (grown == NULL) {
        return 1;
    }
    context->warned = grown;
    const size_t size = strlen(id) + 1;
    char* copy = (char*)malloc(size);
    if (copy == NULL) {
        return 1;
    }
    memcpy(copy, id, size);
    context->warned[context->warned_count++] = copy;
    return 1;
}

int dora_send_output(void* dora_context_ptr, const char* id_ptr, size_t id_len,
                     const char* data_ptr, size_t data_len) {
    dora_context* context = (dora_context*)dora_context_ptr;
    if (context == NULL || id_ptr == NULL) {
        fprintf(stderr, "zeroflow (dora API): dora_send_output: NULL context or output id\n");
        return -1;
    }
    if (data_ptr == NULL && data_len != 0) {
        fprintf(stderr,
                "zeroflow (dora API): dora_send_output: data is NULL with a length of "
                "%zu\n",
                data_len);
        return -1;
    }
    char small[128];
    char* id = id_len < sizeof small ? small : (char*)malloc(id_len + 1);
    if (id == NULL) {
        fprintf(stderr, "zeroflow (dora API): dora_send_output: out of memory\n");
        return -1;
    }
    memcpy(id, id_ptr, id_len);
    id[id_len] = '\0';
    if (strlen(id) != id_len) {
        fprintf(stderr, "zeroflow (dora API): dora_send_output: the output id holds a NUL byte\n");
        if (id != small) {
            free(id);
        }
        return -1;
    }
    int result = 0;
    zf_output* output = NULL;
    zf_status status = zf_node_output(context->node, id, &output);
    if (status == ZF_ERR_INVALID_ARGUMENT) {
        /* Not declared in the dataflow: dora ignores it with a warning, once per output. */
        if (first_warning(context, id)) {
            fprintf(stderr,
                    "zeroflow (dora API): ignoring output `%s`, not in the node's output list "
                    "(%s)\n",
                    id, zf_last_error_message());
        }
    } else if (status != ZF_OK) {
        report("dora_send_output", status);
        result = -1;
    } else if ((status = zf_output_send(output, data_ptr, data_len)) != ZF_OK) {
        report("dora_send_output", status);
        result = -1;
    }
    if (id != small) {
        free(id);
    }
    return result;
}

int dora_log(void* dora_context_ptr, const char* level_ptr, size_t level_len, const char* msg_ptr,
             size_t msg_len) {
    dora_context* context = (dora_context*)dora_context_ptr;
    if (context == NULL || level_ptr == NULL || msg_ptr == NULL) {
        fprintf(stderr, "zeroflow (dora API): dora_log: NULL argument\n");
        return -1;
    }
    const char* node_id = "?";
    zf_node_id(context->node, &node_id);
    fprintf(stderr, "[%.*s] %s: %.*s\n", (int)level_len, level_ptr, node_id, (int)msg_len, msg_ptr);
    return 0;
}
