/* The C interface between the node library and zeroflow-bridge's DDS writer plugin
 * (libzeroflow-dds-writer.so, tools/src/bridge/remote_writer.cpp). A node whose outputs are read
 * on other machines is given, by its machine's bridge, the plugin's path and its outputs'
 * topics in its environment (unless ZEROFLOW_BRIDGE_PUBLISH=pump); the library
 * loads the plugin with dlopen, so that it depends on Cyclone DDS only when it runs so placed
 * (docs/design/machines.md#direct-publishing). Internal: both sides are built together. */
#ifndef ZEROFLOW_REMOTE_WRITER_ABI_H
#define ZEROFLOW_REMOTE_WRITER_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Changes whenever anything below does: open() refuses another. */
#define ZF_REMOTE_WRITER_ABI 1

/** The node library's environment for a node that publishes directly. */
#define ZF_REMOTE_WRITER_PATH_ENV "ZEROFLOW_DDS_WRITER"
/** "DOMAIN;FLOW;OUTPUT@DEPTH*READERS[;OUTPUT@DEPTH*READERS...]" */
#define ZF_REMOTE_OUTPUTS_ENV "ZEROFLOW_DDS_OUTPUTS"

/** One sent message, as its chunk holds it; every pointer is valid for the call only. */
typedef struct zf_remote_message {
    uint64_t sequence;
    uint64_t timestamp_ns; /* CLOCK_MONOTONIC */
    uint64_t wall_time_ns; /* CLOCK_REALTIME */
    uint8_t dtype;
    uint8_t ndim;
    const uint64_t* shape;
    const char* encoding;
    size_t encoding_size;
    const void* parameters; /* encoded, as in the chunk */
    size_t parameters_size;
    const void* payload;
    size_t payload_size;
} zf_remote_message;

typedef struct zf_remote_writer zf_remote_writer;

/** Makes a DDS participant and a writer per output of `spec` (ZF_REMOTE_OUTPUTS_ENV's form),
 * and waits until each has its READERS machines' readers. NULL on failure, with why in `error`. */
typedef zf_remote_writer* (*zf_remote_writer_open_fn)(unsigned abi, const char* node_id,
                                                      const char* spec, char* error,
                                                      size_t error_size);
/** The index of `output` among the writers, or -1 if it is not published. */
typedef int (*zf_remote_writer_find_fn)(zf_remote_writer* writer, const char* output);
/** Writes one message, never waiting: 0 written (a full history drops its oldest), 1 refused
 * (Cyclone's watermark of unacknowledged bytes is reached: a slow machine or link), -1 failed. */
typedef int (*zf_remote_writer_write_fn)(zf_remote_writer* writer, int index,
                                         const zf_remote_message* message);
/** With `write_closed`, writes each output's "closed" after its messages and waits (up to 2 s)
 * for the readers to have them all; then deletes everything. */
typedef void (*zf_remote_writer_destroy_fn)(zf_remote_writer* writer, int write_closed);

#ifdef __cplusplus
}
#endif

#endif
