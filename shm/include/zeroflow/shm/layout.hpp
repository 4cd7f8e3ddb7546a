// The layout of a dataflow's segment: what the daemon asks for (LayoutSpec), where everything
// lands (Layout, computed the same way by the daemon and by every node, from the spec alone),
// and the structures that live in shared memory. docs/design/shm.md draws it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <zeroflow/shm/error.hpp>

namespace zeroflow::shm {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint64_t kMagic = 0x31574c464f52455aULL; // "ZEROFLW1", little-endian
/// 2: chunks carry a metadata area; 3: daemon-owned pools first; 4: OutputBlock::bytes
inline constexpr std::uint32_t kLayoutVersion = 4;
inline constexpr std::uint32_t kDaemonOwner = 0xffffffffU; ///< owner of timer outputs
inline constexpr std::uint32_t kMaxFanOut = 64;            ///< inputs one output may feed
inline constexpr std::uint32_t kMaxQueueSize = 1024;
inline constexpr std::uint32_t kMaxChunksPerOutput = 1U << 22;
inline constexpr std::uint64_t kDefaultMaxMessageSize = 8ULL << 20;
inline constexpr std::uint64_t kMaxMessageSizeLimit = 4ULL << 30;
inline constexpr std::uint32_t kDefaultMaxMetadataSize = 1024; ///< parameters' bytes per message
inline constexpr std::uint32_t kMaxMetadataSizeLimit = 1U << 20;
inline constexpr std::uint32_t kMaxDims = 8;            ///< shape dimensions a message may have
inline constexpr std::uint32_t kMaxEncodingSize = 63;   ///< bytes of a message's encoding string
inline constexpr std::uint64_t kShapeOffset = 0;        ///< in the metadata area: kMaxDims x u64
inline constexpr std::uint64_t kEncodingOffset = 64;    ///< u8 length, then up to 63 bytes
inline constexpr std::uint64_t kParametersOffset = 128; ///< the encoded parameters

// ---------------------------------------------------------------------------------------------
// What the daemon asks for.

struct OutputSpec {
    std::uint32_t owner = kDaemonOwner; ///< node index of the sender, or kDaemonOwner (timers)
    std::string name;                   ///< "node/output", for messages
    std::uint64_t max_message_size = kDefaultMaxMessageSize;
    std::uint32_t chunks_per_class = 0; ///< 0: computed from the queues it feeds
    std::uint32_t max_metadata_size = kDefaultMaxMetadataSize; ///< parameters' room per chunk
};

struct ConnectionSpec {
    std::uint32_t output = 0;   ///< index into LayoutSpec::outputs
    std::uint32_t receiver = 0; ///< node index
    std::uint32_t queue_size = 10;
    std::string input; ///< input id at the receiver, for messages
};

struct LayoutSpec {
    std::array<std::uint8_t, 16> uuid{};
    std::uint64_t generation = 0; ///< daemon-chosen; a node opens only the generation it was told
    std::uint32_t node_count = 0;
    std::vector<OutputSpec> outputs;
    std::vector<ConnectionSpec> connections;
};

// ---------------------------------------------------------------------------------------------
// Where things land (private to each process; never read back from shared memory).

struct ClassLayout {
    std::uint64_t capacity = 0; ///< payload bytes a chunk of this class takes
    std::uint64_t stride = 0;   ///< bytes from one chunk to the next (header, payload, metadata)
    std::uint64_t offset = 0;   ///< of the first chunk, from the segment base
    std::uint32_t count = 0;
    std::uint32_t first_chunk = 0; ///< chunk id of the first chunk of this class
};

struct OutputLayout {
    std::uint64_t block_offset = 0; ///< OutputBlock
    std::uint32_t owner = kDaemonOwner;
    std::uint64_t max_message_size = 0;
    std::uint32_t max_metadata_size = 0; ///< bytes of parameters a message may carry
    std::uint64_t metadata_area = 0;     ///< bytes of a chunk's metadata area (after its payload)
    std::uint32_t total_chunks = 0;
    std::vector<ClassLayout> classes; ///< ascending capacity; the last one takes max_message_size
    std::vector<std::uint32_t> connections; ///< connection indices fed by this output
    std::string name;
};

struct ConnectionLayout {
    std::uint64_t block_offset = 0; ///< ConnectionBlock
    std::uint64_t submit_slots = 0; ///< queue_size x uint64 tokens
    std::uint64_t return_slots = 0; ///< return_capacity x uint32 chunk ids
    std::uint32_t queue_size = 0;
    std::uint32_t return_capacity = 0; ///< power of two >= the output's total chunks
    std::uint32_t output = 0;
    std::uint32_t receiver = 0;
    std::uint32_t index_in_output = 0; ///< bit of this connection in the sender's holder mask
    std::string input;
};

struct Layout {
    std::uint64_t total_size = 0;
    std::uint64_t control_size = 0; ///< header, blocks and rings; the pools follow
    /// control_size plus the pools of daemon-owned (timer) outputs, which come first: all the
    /// daemon maps, so that the pools' sizes cost it no address space.
    std::uint64_t daemon_size = 0;
    std::uint64_t hash = 0; ///< of the spec; stored in the header
    std::vector<std::uint64_t> node_blocks;
    std::vector<OutputLayout> outputs;
    std::vector<ConnectionLayout> connections;
};

/// Computes the layout of a spec. Pure and deterministic: the daemon and every node get the
/// same result from the same spec. Fails with invalid_layout naming what is wrong.
Result<Layout> compute_layout(const LayoutSpec& spec) noexcept;

/// Index of the size class of a chunk id (< total_chunks) within its output.
inline std::size_t class_of(const OutputLayout& output, std::uint32_t chunk) noexcept {
    std::size_t k = output.classes.size() - 1;
    while (k > 0 && chunk < output.classes[k].first_chunk) {
        --k;
    }
    return k;
}

/// Offset of a chunk (its header) from the segment base; `chunk` must be < total_chunks.
inline std::uint64_t chunk_offset(const OutputLayout& output, std::uint32_t chunk) noexcept {
    const auto& cls = output.classes[class_of(output, chunk)];
    return cls.offset + std::uint64_t{chunk - cls.first_chunk} * cls.stride;
}

/// Default chunk count per size class for an output feeding queues of these sizes.
std::uint32_t default_chunks_per_class(const std::vector<std::uint32_t>& queue_sizes) noexcept;

// ---------------------------------------------------------------------------------------------
// Structures in shared memory. Each field names its writer(s); readers never trust values.

struct SegmentHeader {
    std::uint64_t magic;               // creator, before any node opens
    std::uint32_t layout_version;      // creator
    std::uint32_t header_size;         // creator
    std::array<std::uint8_t, 16> uuid; // creator
    std::uint64_t generation;          // creator
    std::uint64_t total_size;          // creator
    std::uint64_t layout_hash;         // creator
};

/// NodeBlock::sleeping: awake (0), asleep on `events` only (kSleepingOnEvents: every sender
/// bumps `events`), or asleep on `events` and on the `wake` word of each of its timer inputs
/// (kSleepingOnAll: a timer's tick bumps its OutputBlock::wake once for all such receivers;
/// node senders still bump `events`).
inline constexpr std::uint32_t kSleepingOnEvents = 1;
inline constexpr std::uint32_t kSleepingOnAll = 2;

/// One per node. The event counter is the futex word the node sleeps on.
struct alignas(kCacheLine) NodeBlock {
    std::atomic<std::uint32_t> events;   // any sender to this node, the daemon: fetch_add
    std::atomic<std::uint32_t> sleeping; // the node itself
    std::array<std::byte, kCacheLine - 8> pad0;
    std::atomic<std::uint32_t> stop;    // the daemon: 0 -> 1
    std::atomic<std::uint32_t> control; // the daemon: bumped when connection states change
    std::array<std::byte, kCacheLine - 8> pad1;
};

/// One per output.
struct alignas(kCacheLine) OutputBlock {
    // Line 0: written at most once; idle receivers poll it, so no statistics share it.
    std::atomic<std::uint32_t> closed; // the sender on close, the daemon on its death: 0 -> 1
    std::array<std::byte, kCacheLine - 4> pad0;
    // Line 1: the sender's statistics (and `sent`, from which a re-attaching sender resumes).
    std::atomic<std::uint32_t> free_chunks; // the sender
    std::atomic<std::uint64_t> sent;        // the sender
    std::atomic<std::uint64_t> errors;      // the sender: bad tokens it saw coming back
    std::atomic<std::uint64_t> bytes;       // the sender: payload bytes sent (statistics)
    // A timer's (daemon-owned output's) broadcast word: bumped and woken once per tick for
    // every receiver asleep with kSleepingOnAll. It sat in the padding: old segments read 0.
    std::atomic<std::uint32_t> wake; // the sender
    std::array<std::byte, kCacheLine - 36> pad1;
};

/// Connection state word, written by the daemon: (epoch << 1) | dead.
inline constexpr std::uint32_t kConnectionDead = 1;

/// One per (output, input) pair; the two rings' slots follow it.
struct alignas(kCacheLine) ConnectionBlock {
    std::atomic<std::uint64_t> submit_head; // the sender: positions published
    std::array<std::byte, kCacheLine - 8> pad0;
    std::atomic<std::uint32_t> state; // the daemon
    std::atomic<std::uint32_t> acked; // the sender: last dead state it reclaimed
    std::array<std::byte, kCacheLine - 8> pad1;
    std::atomic<std::uint64_t> return_head; // the receiver: chunk ids handed back
    std::atomic<std::uint64_t> dropped;     // the receiver (statistics)
    std::atomic<std::uint64_t> errors;      // the receiver: bad tokens it saw
    std::atomic<std::uint64_t> held;        // the receiver: chunks it took and has not returned
    std::atomic<std::uint32_t> asked; // the receiver: 1 once the node named it (node.input(id))
    std::array<std::byte, kCacheLine - 36> pad2;
    std::atomic<std::uint64_t> return_tail; // the sender: chunk ids taken back
    std::array<std::byte, kCacheLine - 8> pad3;
};

/// At the start of every chunk; the payload follows, 64-byte aligned, and after the class's
/// payload capacity the metadata area (shape, encoding, parameters; docs/design/shm.md).
/// Every field is written by the sender while it owns the chunk, before it publishes it.
struct alignas(kCacheLine) ChunkHeader {
    std::uint64_t payload_size;  // the sender
    std::uint64_t sequence;      // the sender
    std::uint64_t timestamp_ns;  // the sender (CLOCK_MONOTONIC)
    std::uint64_t wall_time_ns;  // the sender (CLOCK_REALTIME, from the monotonic read + offset)
    std::uint32_t output;        // the sender
    std::uint32_t metadata_size; // the sender: bytes of encoded parameters (0: none)
    std::uint8_t dtype;          // the sender: element type code (0: bytes)
    std::uint8_t ndim;           // the sender: dimensions in the area's shape (0: none)
    std::uint8_t encoding_size;  // the sender: bytes of the area's encoding (0: none)
    std::uint8_t flags;          // the sender: reserved, 0
    std::array<std::byte, 20> reserved;
};

/// What a sender writes into a chunk's header beside size, sequence and clocks: the header's
/// bytes from `metadata_size` to `flags`, in their order, so that it is copied with one store
/// (and read back with one load: all zero for a plain message).
struct MessageInfo {
    std::uint32_t metadata_size = 0;
    std::uint8_t dtype = 0;
    std::uint8_t ndim = 0;
    std::uint8_t encoding_size = 0;
    std::uint8_t flags = 0; ///< reserved, 0
};
/// A plain message: no metadata, no type (the default of OutputSender::send).
inline constexpr MessageInfo kPlainMessage{};

static_assert(sizeof(SegmentHeader) <= 4096);
static_assert(sizeof(NodeBlock) == 2 * kCacheLine);
static_assert(sizeof(OutputBlock) == 2 * kCacheLine);
static_assert(sizeof(ConnectionBlock) == 4 * kCacheLine);
static_assert(sizeof(ChunkHeader) == kCacheLine);
static_assert(sizeof(MessageInfo) == 8 && std::is_trivially_copyable_v<MessageInfo>);
static_assert(offsetof(ChunkHeader, dtype) - offsetof(ChunkHeader, metadata_size) ==
                  offsetof(MessageInfo, dtype) &&
              offsetof(ChunkHeader, ndim) - offsetof(ChunkHeader, metadata_size) ==
                  offsetof(MessageInfo, ndim) &&
              offsetof(ChunkHeader, encoding_size) - offsetof(ChunkHeader, metadata_size) ==
                  offsetof(MessageInfo, encoding_size) &&
              offsetof(ChunkHeader, flags) - offsetof(ChunkHeader, metadata_size) ==
                  offsetof(MessageInfo, flags));
static_assert(std::is_trivially_copyable_v<SegmentHeader>);
static_assert(std::is_trivially_copyable_v<ChunkHeader>);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// Tokens in a submission slot: (position << kChunkBits) | (chunk id + 1); 0 means empty.
inline constexpr unsigned kChunkBits = 23;
inline constexpr std::uint64_t kChunkMask = (1ULL << kChunkBits) - 1;
inline constexpr unsigned kPositionBits = 64 - kChunkBits;
inline constexpr std::uint64_t kPositionMask = (1ULL << kPositionBits) - 1;
/// Chunk field of a token voided by a re-attaching sender: a drop for the receiver.
inline constexpr std::uint32_t kVoidChunk = static_cast<std::uint32_t>(kChunkMask);
static_assert(kMaxChunksPerOutput < kChunkMask);

} // namespace zeroflow::shm
