/* Compiled by the ctests c.header_c99 (gcc -std=c99 -Wall -Wextra -Wpedantic -Werror) and
 * c.header_cxx (the same file as C++): both public C headers must compile on their own and
 * together, and their types must be usable. */
#include <zeroflow/node.h>

#include "node_api.h"

int header_check(void* context, zf_node* node);

int header_check(void* context, zf_node* node) {
    zf_event* event = NULL;
    zf_status status = zf_node_next(node, &event);
    zf_str key = {NULL, 0};
    zf_param_kind kind = ZF_PARAM_BOOL;
    zf_event_kind event_kind = ZF_EVENT_STOP;
    zf_dtype dtype = ZF_DTYPE_F32;
    enum DoraEventType type = read_dora_event_type(context);
    DoraEventType same = type;
    (void)key;
    (void)kind;
    (void)event_kind;
    (void)dtype;
    (void)same;
    zf_event_free(event);
    return (int)status + dora_send_output(context, "out", 3, "x", 1);
}
