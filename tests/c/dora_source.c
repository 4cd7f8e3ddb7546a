/* A dora C node as dora users write them (only "node_api.h"): on every tick of its timer input
 * it sends "message K" on `counter`, K from 1, until it has sent COUNT; it also sends once on an
 * output the dataflow does not declare (dora ignores that, returning 0). Checks that ticks carry
 * no data. Usage: dora_source COUNT PIDDIR-ENV-IS-USED. Exit 0 when everything behaved. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_api.h"

static void leave_pid(void) {
    const char* dir = getenv("ZF_TEST_PID_DIR");
    if (dir != NULL && *dir != '\0') {
        char path[4096];
        snprintf(path, sizeof path, "%s/%ld", dir, (long)getpid());
        FILE* f = fopen(path, "w");
        if (f != NULL) {
            fclose(f);
        }
    }
}

int main(int argc, char** argv) {
    leave_pid();
    const int count = argc > 1 ? atoi(argv[1]) : 20;
    void* context = init_dora_context_from_env();
    if (context == NULL) {
        fprintf(stderr, "dora_source: init failed\n");
        return 1;
    }
    int sent = 0;
    int problems = 0;
    /* dora 0.3 code passes char*, 1.0 code const char*: both must compile. */
    char undeclared[] = "not_declared";
    if (dora_send_output(context, undeclared, strlen(undeclared), "x", 1) != 0) {
        fprintf(stderr, "dora_source: an undeclared output gave -1, dora gives 0\n");
        ++problems;
    }
    while (sent < count) {
        void* event = dora_next_event(context);
        if (event == NULL) {
            break;
        }
        const enum DoraEventType type = read_dora_event_type(event);
        if (type == DoraEventType_Stop) {
            free_dora_event(event);
            break;
        }
        if (type == DoraEventType_Input) {
            char* data = NULL;
            size_t len = 1;
            read_dora_input_data(event, &data, &len);
            if (data != NULL || len != 0) {
                fprintf(stderr, "dora_source: a timer tick carried %zu bytes\n", len);
                ++problems;
            }
            char message[64];
            const int n = snprintf(message, sizeof message, "message %d", sent + 1);
            char id[] = "counter";
            if (dora_send_output(context, id, strlen(id), message, (size_t)n) != 0) {
                fprintf(stderr, "dora_source: send failed\n");
                ++problems;
            }
            ++sent;
        }
        free_dora_event(event);
    }
    const char level[] = "info";
    char line[64];
    const int n = snprintf(line, sizeof line, "sent %d messages", sent);
    if (dora_log(context, level, strlen(level), line, (size_t)n) != 0) {
        ++problems;
    }
    free_dora_context(context);
    return problems == 0 && sent == count ? 0 : 1;
}
