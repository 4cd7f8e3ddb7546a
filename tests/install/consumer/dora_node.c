/* A dora C node as dora users write it ("node_api.h", -ldora_node_api_c), built against an
 * installed zeroflow. Outside a dataflow, init_dora_context_from_env must return NULL (and say
 * why on stderr). */
#include <stdio.h>

#include "node_api.h"

int main(void) {
    void* context = init_dora_context_from_env();
    printf("dora consumer: context %s\n", context == NULL ? "NULL" : "set");
    if (context != NULL) {
        free_dora_context(context);
        return 1;
    }
    return 0;
}
