/* zf_c_pong: zf_pong written in C99 against <zeroflow/node.h>: echoes every message of `ping`
 * back on `pong` with the same size and stamp (transport touch), freeing the input before
 * loaning the reply, as zf_pong does. Ends when zf_c_ping leaves. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zeroflow/node.h>

static int fail(const char* what, zf_status status) {
    fprintf(stderr, "zf_c_pong: %s: %s: %s\n", what, zf_status_name(status),
            zf_last_error_message());
    return 1;
}

int main(void) {
    zf_node* node = NULL;
    zf_status status = zf_node_from_env(&node);
    if (status != ZF_OK) {
        return fail("zf_node_from_env", status);
    }
    zf_output* pong = NULL;
    if ((status = zf_node_output(node, "pong", &pong)) != ZF_OK) {
        return fail("output", status);
    }
    for (;;) {
        zf_event* in = NULL;
        zf_event_kind kind = ZF_EVENT_STOP;
        if ((status = zf_node_next(node, &in)) != ZF_OK) {
            return fail("next", status);
        }
        zf_event_kind_of(in, &kind);
        if (kind != ZF_EVENT_INPUT) {
            zf_event_free(in);
            if (kind == ZF_EVENT_ERROR) {
                return 1;
            }
            break; /* ping left */
        }
        const void* data = NULL;
        size_t size = 0;
        zf_event_data(in, &data, &size);
        int64_t header = 0;
        memcpy(&header, data, sizeof header);
        zf_event_free(in);
        zf_sample* reply = NULL;
        while ((status = zf_output_loan(pong, size, &reply)) == ZF_ERR_POOL_EXHAUSTED) {
        }
        if (status != ZF_OK) {
            return fail("loan", status);
        }
        void* out = NULL;
        size_t out_size = 0;
        zf_sample_data(reply, &out, &out_size);
        memcpy(out, &header, sizeof header);
        if ((status = zf_sample_send(reply)) != ZF_OK) {
            return fail("send", status);
        }
    }
    zf_node_close(node);
    return 0;
}
