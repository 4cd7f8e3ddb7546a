/* zf_c_ping: zf_ping written in C99 against <zeroflow/node.h> (the C API), for the C-vs-C++
 * ping-pong comparison (run.sh c-vs-cpp). Same loop as zf_ping: loan, stamp the first 8 bytes
 * (transport touch), send on `ping`, wait for zf_c_pong's echo on `pong`, free it; one-way
 * latency = round trip / 2. Appends one JSON line (harness schema, system "zeroflow-c") to
 * --results or $ZEROFLOW_BENCH_RESULTS. Options as zf_ping's; only --size, --samples, --warmup,
 * --mode and --results matter here (transport touch only). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zeroflow/node.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(const char* what, zf_status status) {
    fprintf(stderr, "zf_c_ping: %s: %s: %s\n", what, zf_status_name(status),
            zf_last_error_message());
    return 1;
}

static int compare(const void* a, const void* b) {
    const int64_t x = *(const int64_t*)a;
    const int64_t y = *(const int64_t*)b;
    return (x > y) - (x < y);
}

/* Nearest rank, as the harness: rank = ceil(per_100k * n / 100000). */
static double rank_us(const int64_t* sorted, size_t n, size_t per_100k) {
    size_t rank = (per_100k * n + 99999) / 100000;
    rank = rank < 1 ? 1 : (rank > n ? n : rank);
    return (double)sorted[rank - 1] / 1000.0;
}

int main(int argc, char** argv) {
    uint64_t size = 8;
    uint64_t samples = 10000;
    uint64_t warmup = 1000;
    const char* mode = "blocking";
    const char* results = getenv("ZEROFLOW_BENCH_RESULTS");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size") == 0) {
            size = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--samples") == 0) {
            samples = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--warmup") == 0) {
            warmup = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--mode") == 0) {
            mode = argv[i + 1];
        } else if (strcmp(argv[i], "--results") == 0) {
            results = argv[i + 1];
        }
    }
    if (size < 8 || samples == 0 || results == NULL) {
        fprintf(stderr, "zf_c_ping: needs --size >= 8, --samples > 0 and a results file\n");
        return 1;
    }
    zf_node* node = NULL;
    zf_status status = zf_node_from_env(&node);
    if (status != ZF_OK) {
        return fail("zf_node_from_env", status);
    }
    zf_output* ping = NULL;
    if ((status = zf_node_output(node, "ping", &ping)) != ZF_OK) {
        return fail("output", status);
    }
    int64_t* latencies = (int64_t*)malloc(samples * sizeof(int64_t));
    if (latencies == NULL) {
        return 1;
    }
    uint64_t retries = 0;
    for (uint64_t i = 0; i < warmup + samples; ++i) {
        const int64_t t0 = now_ns();
        zf_sample* sample = NULL;
        while ((status = zf_output_loan(ping, size, &sample)) == ZF_ERR_POOL_EXHAUSTED) {
            ++retries;
        }
        if (status != ZF_OK) {
            return fail("loan", status);
        }
        void* data = NULL;
        size_t got = 0;
        zf_sample_data(sample, &data, &got);
        memcpy(data, &t0, sizeof t0);
        if ((status = zf_sample_send(sample)) != ZF_OK) {
            return fail("send", status);
        }
        zf_event* echo = NULL;
        zf_event_kind kind = ZF_EVENT_STOP;
        if ((status = zf_node_next(node, &echo)) != ZF_OK) {
            return fail("next", status);
        }
        zf_event_kind_of(echo, &kind);
        if (kind != ZF_EVENT_INPUT) {
            fprintf(stderr, "zf_c_ping: the stream ended before the echo (event kind %d)\n",
                    (int)kind);
            return 1;
        }
        const void* in = NULL;
        size_t in_size = 0;
        zf_event_data(echo, &in, &in_size);
        int64_t header = 0;
        memcpy(&header, in, sizeof header);
        zf_event_free(echo); /* inside the timed span, as zf_ping releases its echo */
        const int64_t t1 = now_ns();
        if (header != t0) {
            fprintf(stderr, "zf_c_ping: the echo carries another stamp\n");
            return 1;
        }
        if (i >= warmup) {
            latencies[i - warmup] = (t1 - t0 + 1) / 2;
        }
    }
    qsort(latencies, samples, sizeof(int64_t), compare);
    char line[512];
    const int n =
        snprintf(line, sizeof line,
                 "{\"system\":\"zeroflow-c\",\"mode\":\"%s\",\"touch\":\"transport\","
                 "\"pattern\":\"pingpong\",\"size\":%llu,\"p50_us\":%.3f,\"p90_us\":%.3f,"
                 "\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f,\"samples\":%llu,"
                 "\"msgs_per_s\":null%s}\n",
                 mode, (unsigned long long)size, rank_us(latencies, samples, 50000),
                 rank_us(latencies, samples, 90000), rank_us(latencies, samples, 99000),
                 rank_us(latencies, samples, 99900), (double)latencies[samples - 1] / 1000.0,
                 (unsigned long long)samples, retries != 0 ? ",\"note\":\"loan retries\"" : "");
    free(latencies);
    const int fd = open(results, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "zf_c_ping: cannot append to %s\n", results);
        return 1;
    }
    close(fd);
    zf_node_close(node); /* ends the dataflow: zf_c_pong sees its input close */
    return 0;
}
