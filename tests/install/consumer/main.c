/* A C node built outside the zeroflow tree against an installed zeroflow (zeroflow-c.pc, or
 * zeroflow::runtime from C). Outside a dataflow, zf_node_from_env must fail with
 * missing_environment: that proves the header, linking and loading. */
#include <stdio.h>

#include <zeroflow/node.h>

int main(void) {
    zf_node* node = NULL;
    const zf_status status = zf_node_from_env(&node);
    printf("c consumer: %s\n", zf_status_name(status));
    return status == ZF_ERR_MISSING_ENVIRONMENT ? 0 : 1;
}
