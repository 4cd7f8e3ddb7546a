/* A dora C node as dora users write them (only "node_api.h"): prints every input until
 * dora_next_event returns NULL, and writes a report: count, whether "message K" came in order
 * K = 1, 2, ..., how many NTP64 timestamps lay within 1 s of the wall clock, and the sequence of
 * non-input events. Usage: dora_sink REPORT. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
    const char* report = argc > 1 ? argv[1] : NULL;
    void* context = init_dora_context_from_env();
    if (context == NULL) {
        fprintf(stderr, "dora_sink: init failed\n");
        return 1;
    }
    int count = 0;
    int in_order = 1;
    int timestamps_ok = 0;
    char events[512] = "";
    void* event;
    while ((event = dora_next_event(context)) != NULL) {
        const enum DoraEventType type = read_dora_event_type(event);
        char* id = NULL;
        size_t id_len = 0;
        read_dora_input_id(event, &id, &id_len);
        if (type == DoraEventType_Input) {
            char* data = NULL;
            size_t len = 0;
            read_dora_input_data(event, &data, &len);
            printf("input %.*s: %.*s\n", (int)id_len, id, (int)len, data != NULL ? data : "");
            ++count;
            char want[64];
            const int n = snprintf(want, sizeof want, "message %d", count);
            if (len != (size_t)n || memcmp(data, want, len) != 0) {
                in_order = 0;
            }
            const unsigned long long ntp = read_dora_input_timestamp(event);
            const double sent = (double)(ntp >> 32) + (double)(ntp & 0xffffffffu) / 4294967296.0;
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            const double diff = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - sent;
            if (diff > -1.0 && diff < 1.0) {
                ++timestamps_ok;
            }
        } else {
            const char* name = type == DoraEventType_Stop          ? "stop"
                               : type == DoraEventType_InputClosed ? "closed"
                               : type == DoraEventType_Error       ? "error"
                                                                   : "unknown";
            printf("event %s %.*s\n", name, (int)id_len, id != NULL ? id : "");
            strncat(events, name, sizeof events - strlen(events) - 2);
            strcat(events, ",");
            if (read_dora_input_timestamp(event) != 0) {
                in_order = 0;
            }
        }
        free_dora_event(event);
    }
    /* Once ended, the stream stays ended. */
    const int null_again = dora_next_event(context) == NULL;
    fflush(stdout);
    free_dora_context(context);
    if (report != NULL) {
        FILE* f = fopen(report, "w");
        if (f != NULL) {
            fprintf(f, "count=%d\nin_order=%d\ntimestamps_ok=%d\nevents=%snull\nnull_again=%d\n",
                    count, in_order, timestamps_ok, events, null_again);
            fclose(f);
        }
    }
    return 0;
}
