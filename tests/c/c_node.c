/* The C node of the C API tests, written against <zeroflow/node.h> only (C99). Roles, as the
 * C++ test node's (tests/daemon/test_node.cpp) so that the two interoperate byte for byte:
 *   typed_source --count N --period-us P --report FILE   message k by k % 3 (see below)
 *   typed_sink --report FILE                              checks every message of a typed_source
 * Message k: 1: untyped, 15 bytes of the fill pattern; 2: u8 {4,5,3} "rgb8", frame=k,
 * camera="front"; 0: f32 {2,3,4}, one parameter of every kind. Every run leaves its pid in
 * $ZF_TEST_PID_DIR. Exit status 0 unless the API misbehaved. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zeroflow/node.h>

static const char* option(int argc, char** argv, const char* key, const char* fallback) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, key) == 0) {
            return argv[i + 1];
        }
    }
    return fallback;
}

static void leave_pid(void) {
    const char* dir = getenv("ZF_TEST_PID_DIR");
    if (dir != NULL && *dir != '\0') {
        char path[4096];
        snprintf(path, sizeof path, "%s/%ld", dir, (long)getpid());
        FILE* f = fopen(path, "w");
        if (f != NULL) {
            fputs("\n", f);
            fclose(f);
        }
    }
}

/* Writes the report atomically (tests may read it while the node runs). */
static void write_report(const char* path, const char* text) {
    if (path == NULL) {
        return;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE* f = fopen(tmp, "w");
    if (f == NULL) {
        return;
    }
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

/* The C++ test node's fill(): the sequence (8 bytes LE), then xorshift bytes of (seed, seq). */
static void fill(unsigned char* data, size_t size, uint64_t seq, uint64_t seed) {
    uint64_t state = (seed * 0x9E3779B97F4A7C15ULL) ^ (seq + 1);
    for (size_t i = 0; i < size; ++i) {
        if (i < 8) {
            data[i] = (unsigned char)((seq >> (8 * i)) & 0xFF);
            continue;
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data[i] = (unsigned char)(state & 0xFF);
    }
}

static const uint64_t kRgbShape[3] = {4, 5, 3};
static const uint64_t kFloatShape[3] = {2, 3, 4};

static int failed(const char* what, zf_status status) {
    fprintf(stderr, "c_node: %s: %s: %s\n", what, zf_status_name(status), zf_last_error_message());
    return 1;
}

#define TRY(what, call)                                                                            \
    do {                                                                                           \
        const zf_status try_status = (call);                                                       \
        if (try_status != ZF_OK) {                                                                 \
            return failed(what, try_status);                                                       \
        }                                                                                          \
    } while (0)

static int write_typed(zf_sample* sample, uint64_t k) {
    void* data = NULL;
    size_t size = 0;
    TRY("data", zf_sample_data(sample, &data, &size));
    if (k % 3 == 1) {
        fill((unsigned char*)data, size, k, 3);
        return 0;
    }
    if (k % 3 == 2) {
        TRY("shape", zf_sample_set_shape(sample, kRgbShape, 3));
        TRY("encoding", zf_sample_set_encoding(sample, "rgb8"));
        unsigned char* bytes = (unsigned char*)data;
        for (size_t i = 0; i < size; ++i) {
            bytes[i] = (unsigned char)((k + i) % 256);
        }
        TRY("frame", zf_sample_set_int(sample, "frame", (int64_t)k));
        TRY("camera", zf_sample_set_string(sample, "camera", "front"));
        return 0;
    }
    TRY("shape", zf_sample_set_shape(sample, kFloatShape, 3));
    float* values = (float*)data;
    for (size_t i = 0; i < 24; ++i) {
        values[i] = (float)(k * 100 + i);
    }
    char name[32];
    char tag[32];
    snprintf(name, sizeof name, "f%" PRIu64, k);
    snprintf(tag, sizeof tag, "b%" PRIu64, k);
    const int64_t dims[3] = {2, 3, 4};
    const double gains[2] = {(double)k, -0.25 * (double)k};
    const char* tags[2] = {"a", tag};
    TRY("frame", zf_sample_set_int(sample, "frame", (int64_t)k));
    TRY("flag", zf_sample_set_bool(sample, "flag", k % 2 == 0));
    TRY("scale", zf_sample_set_double(sample, "scale", (double)k * 0.5));
    TRY("name", zf_sample_set_string(sample, "name", name));
    TRY("dims", zf_sample_set_int_list(sample, "dims", dims, 3));
    TRY("gains", zf_sample_set_double_list(sample, "gains", gains, 2));
    TRY("tags", zf_sample_set_string_list(sample, "tags", tags, 2));
    return 0;
}

static int run_typed_source(zf_node* node, int argc, char** argv) {
    const uint64_t count = strtoull(option(argc, argv, "count", "30"), NULL, 10);
    const uint64_t period_ns = 1000u * strtoull(option(argc, argv, "period-us", "1000"), NULL, 10);
    const char* report = option(argc, argv, "report", NULL);
    zf_output* out = NULL;
    TRY("output", zf_node_output(node, option(argc, argv, "output", "out"), &out));
    uint64_t sent = 0;
    for (uint64_t k = 1; k <= count; ++k) {
        zf_event* event = NULL;
        const zf_status waited = zf_node_next_timeout(node, period_ns, &event);
        if (waited == ZF_OK) {
            zf_event_kind kind;
            TRY("kind", zf_event_kind_of(event, &kind));
            TRY("free", zf_event_free(event));
            if (kind == ZF_EVENT_STOP) {
                break;
            }
        } else if (waited != ZF_ERR_TIMEOUT) {
            return failed("next", waited);
        }
        zf_sample* sample = NULL;
        zf_status loaned = ZF_ERR_POOL_EXHAUSTED;
        for (int retry = 0; loaned == ZF_ERR_POOL_EXHAUSTED && retry < 10000; ++retry) {
            loaned = k % 3 == 1   ? zf_output_loan(out, 15, &sample)
                     : k % 3 == 2 ? zf_output_loan_typed(out, ZF_DTYPE_U8, 60, &sample)
                                  : zf_output_loan_typed(out, ZF_DTYPE_F32, 24, &sample);
            if (loaned == ZF_ERR_POOL_EXHAUSTED) {
                const struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        }
        TRY("loan", loaned);
        if (write_typed(sample, k) != 0) {
            zf_sample_discard(sample);
            return 1;
        }
        TRY("send", zf_sample_send(sample));
        sent = k;
    }
    char text[128];
    snprintf(text, sizeof text, "sent=%" PRIu64 "\ntoo_large=0\n", sent);
    write_report(report, text);
    return 0;
}

/* What is wrong with message `event`, or NULL when it is exactly what typed_source sent. */
static const char* check_typed(const zf_event* event, uint64_t k) {
    const void* data = NULL;
    size_t size = 0;
    zf_dtype dtype;
    const uint64_t* dims = NULL;
    size_t ndim = 0;
    const char* encoding = NULL;
    size_t params = 0;
    if (zf_event_data(event, &data, &size) != ZF_OK || zf_event_dtype(event, &dtype) != ZF_OK ||
        zf_event_shape(event, &dims, &ndim) != ZF_OK ||
        zf_event_encoding(event, &encoding) != ZF_OK ||
        zf_event_param_count(event, &params) != ZF_OK) {
        return "an accessor failed";
    }
    int64_t i64 = 0;
    if (zf_event_get_int(event, "no-such-key", &i64) != ZF_ERR_NOT_FOUND) {
        return "a missing key was not ZF_ERR_NOT_FOUND";
    }
    if (k % 3 == 1) {
        unsigned char want[15];
        fill(want, sizeof want, k, 3);
        if (dtype != ZF_DTYPE_BYTES || ndim != 0 || dims != NULL || *encoding != '\0' ||
            params != 0) {
            return "plain message carries a type or metadata";
        }
        return size == 15 && memcmp(data, want, 15) == 0 ? NULL : "plain payload differs";
    }
    if (k % 3 == 2) {
        if (dtype != ZF_DTYPE_U8 || ndim != 3 || memcmp(dims, kRgbShape, sizeof kRgbShape) != 0 ||
            strcmp(encoding, "rgb8") != 0 || size != 60) {
            return "rgb message: dtype/shape/encoding/size differ";
        }
        for (size_t i = 0; i < 60; ++i) {
            if (((const unsigned char*)data)[i] != (unsigned char)((k + i) % 256)) {
                return "rgb payload differs";
            }
        }
        zf_str camera;
        zf_str key;
        zf_param_kind kind;
        if (zf_event_get_int(event, "frame", &i64) != ZF_OK || i64 != (int64_t)k ||
            zf_event_get_string(event, "camera", &camera) != ZF_OK || camera.size != 5 ||
            memcmp(camera.data, "front", 5) != 0) {
            return "rgb parameters differ";
        }
        if (zf_event_get_int(event, "camera", &i64) != ZF_ERR_WRONG_TYPE) {
            return "a string read as int was not ZF_ERR_WRONG_TYPE";
        }
        if (params != 2 || zf_event_param_at(event, 1, &key, &kind) != ZF_OK || key.size != 6 ||
            memcmp(key.data, "camera", 6) != 0 || kind != ZF_PARAM_STRING) {
            return "rgb parameter keys differ";
        }
        return NULL;
    }
    if (dtype != ZF_DTYPE_F32 || ndim != 3 || memcmp(dims, kFloatShape, sizeof kFloatShape) != 0 ||
        *encoding != '\0' || size != 96) {
        return "float message: dtype/shape/encoding/size differ";
    }
    for (size_t i = 0; i < 24; ++i) {
        float value;
        memcpy(&value, (const unsigned char*)data + 4 * i, 4);
        if (value != (float)(k * 100 + i)) {
            return "float payload differs";
        }
    }
    static const char* const keys[7] = {"frame", "flag", "scale", "name", "dims", "gains", "tags"};
    static const zf_param_kind kinds[7] = {
        ZF_PARAM_INT,      ZF_PARAM_BOOL,        ZF_PARAM_DOUBLE,     ZF_PARAM_STRING,
        ZF_PARAM_INT_LIST, ZF_PARAM_DOUBLE_LIST, ZF_PARAM_STRING_LIST};
    if (params != 7) {
        return "float parameter count differs";
    }
    for (size_t i = 0; i < 7; ++i) {
        zf_str key;
        zf_param_kind kind;
        if (zf_event_param_at(event, i, &key, &kind) != ZF_OK || key.size != strlen(keys[i]) ||
            memcmp(key.data, keys[i], key.size) != 0 || kind != kinds[i]) {
            return "float parameter keys or kinds differ";
        }
    }
    bool flag = false;
    double scale = 0;
    zf_str name;
    const int64_t* ints = NULL;
    const double* doubles = NULL;
    const zf_str* strings = NULL;
    size_t n_ints = 0;
    size_t n_doubles = 0;
    size_t n_strings = 0;
    char want_name[32];
    char want_tag[32];
    snprintf(want_name, sizeof want_name, "f%" PRIu64, k);
    snprintf(want_tag, sizeof want_tag, "b%" PRIu64, k);
    if (zf_event_get_int(event, "frame", &i64) != ZF_OK || i64 != (int64_t)k ||
        zf_event_get_bool(event, "flag", &flag) != ZF_OK || flag != (k % 2 == 0) ||
        zf_event_get_double(event, "scale", &scale) != ZF_OK || scale != (double)k * 0.5 ||
        zf_event_get_string(event, "name", &name) != ZF_OK || name.size != strlen(want_name) ||
        memcmp(name.data, want_name, name.size) != 0 ||
        zf_event_get_int_list(event, "dims", &ints, &n_ints) != ZF_OK || n_ints != 3 ||
        ints[0] != 2 || ints[1] != 3 || ints[2] != 4 ||
        zf_event_get_double_list(event, "gains", &doubles, &n_doubles) != ZF_OK || n_doubles != 2 ||
        doubles[0] != (double)k || doubles[1] != -0.25 * (double)k ||
        zf_event_get_string_list(event, "tags", &strings, &n_strings) != ZF_OK || n_strings != 2 ||
        strings[0].size != 1 || strings[0].data[0] != 'a' || strings[1].size != strlen(want_tag) ||
        memcmp(strings[1].data, want_tag, strings[1].size) != 0) {
        return "float parameter values differ";
    }
    /* An int reads as double (as in C++); a double does not read as int. */
    if (zf_event_get_double(event, "frame", &scale) != ZF_OK || scale != (double)k ||
        zf_event_get_int(event, "scale", &i64) != ZF_ERR_WRONG_TYPE) {
        return "int/double conversions differ";
    }
    return NULL;
}

static uint64_t wall_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int run_typed_sink(zf_node* node, int argc, char** argv) {
    const char* report = option(argc, argv, "report", NULL);
    const char* input = option(argc, argv, "input", "in");
    uint64_t count = 0;
    uint64_t verified = 0;
    uint64_t wall_ok = 0;
    char first_mismatch[256] = "";
    char text[512];
    for (;;) {
        zf_event* event = NULL;
        TRY("next", zf_node_next(node, &event));
        zf_event_kind kind;
        TRY("kind", zf_event_kind_of(event, &kind));
        if (kind == ZF_EVENT_STOP) {
            TRY("free", zf_event_free(event));
            break;
        }
        const char* id = NULL;
        TRY("id", zf_event_id(event, &id, NULL));
        if (kind == ZF_EVENT_INPUT && strcmp(id, input) == 0) {
            ++count;
            uint64_t k = 0;
            uint64_t wall = 0;
            TRY("sequence", zf_event_sequence(event, &k));
            TRY("wall time", zf_event_wall_time_ns(event, &wall));
            const char* problem = check_typed(event, k);
            if (problem == NULL) {
                ++verified;
            } else if (first_mismatch[0] == '\0') {
                snprintf(first_mismatch, sizeof first_mismatch, "message %" PRIu64 ": %s", k,
                         problem);
            }
            const uint64_t now = wall_now_ns();
            if ((now > wall ? now - wall : wall - now) < 1000000000u) {
                ++wall_ok;
            }
        }
        TRY("free", zf_event_free(event));
    }
    uint64_t dropped = 0;
    TRY("dropped", zf_node_dropped(node, input, &dropped));
    snprintf(text, sizeof text,
             "count=%" PRIu64 "\nverified=%" PRIu64 "\nmismatches=%" PRIu64 "\nwall_ok=%" PRIu64
             "\ndropped=%" PRIu64 "\nfirst_mismatch=%s\n",
             count, verified, count - verified, wall_ok, dropped, first_mismatch);
    write_report(report, text);
    return 0;
}

int main(int argc, char** argv) {
    leave_pid();
    if (argc < 2) {
        fprintf(stderr, "usage: zeroflow_c_test_node ROLE [--key value]...\n");
        return 2;
    }
    zf_node* node = NULL;
    const zf_status status = zf_node_from_env(&node);
    if (status != ZF_OK) {
        return failed("zf_node_from_env", status);
    }
    int rc = 2;
    if (strcmp(argv[1], "typed_source") == 0) {
        rc = run_typed_source(node, argc, argv);
    } else if (strcmp(argv[1], "typed_sink") == 0) {
        rc = run_typed_sink(node, argc, argv);
    } else {
        fprintf(stderr, "c_node: unknown role '%s'\n", argv[1]);
    }
    const zf_status closed = zf_node_close(node);
    if (closed != ZF_OK) {
        return failed("zf_node_close", closed);
    }
    return rc;
}
