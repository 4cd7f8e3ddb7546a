// An independent check of a zeroflow recording (issue 13), with @mcap/core (npm) as the reader:
// node read_mcap.js FILE [--pattern] prints one JSON object: what the indexed and the streaming
// reader found (statistics, chunks, channels, every message decoded from zeroflow.Message), the
// CRCs checked (chunks by the reader; data section and summary here), and with --pattern
// whether every payload is what observe_node's pattern_source sent, byte for byte.
"use strict";
const fs = require("fs");
const { execFileSync } = require("child_process");
const { McapIndexedReader, McapStreamReader } = require("@mcap/core");

const file = process.argv[2];
const pattern = process.argv.includes("--pattern");
const bytes = new Uint8Array(fs.readFileSync(file));

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data) {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Chunk decompression with Debian's zstd and lz4 tools (@mcap/core leaves it to the caller).
const decompressHandlers = {
  zstd: (buf) => new Uint8Array(execFileSync("zstd", ["-d", "-c", "-q"], { input: buf, maxBuffer: 1 << 30 })),
  lz4: (buf) => new Uint8Array(execFileSync("lz4", ["-d", "-c", "-q"], { input: buf, maxBuffer: 1 << 30 })),
};

// zeroflow.Message (docs/recording.md), protobuf wire format.
function decodeMessage(data) {
  const out = { shape: [] };
  let at = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = data[at++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  const text = (b) => Buffer.from(b).toString("utf8");
  while (at < data.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) out.sequence = Number(v);
      if (field === 2) out.timestamp_ns = v.toString();
      if (field === 3) out.wall_time_ns = v.toString();
    } else if (wire === 2) {
      const n = Number(varint());
      const b = data.subarray(at, at + n);
      at += n;
      if (field === 4) out.dtype = text(b);
      if (field === 5) { const save = [data, at]; data = b; at = 0; while (at < b.length) out.shape.push(Number(varint())); [data, at] = save; }
      if (field === 6) out.encoding = text(b);
      if (field === 7) out.parameters_size = b.length;
      if (field === 8) out.parameters = JSON.parse(text(b));
      if (field === 9) out.data = b;
    } else {
      throw new Error("unexpected wire type " + wire);
    }
  }
  return out;
}

function patternOk(m) {
  const k = m.sequence;
  if (!m.data || m.dtype !== "u8" || m.encoding !== "pattern" || !m.parameters || m.parameters.k !== k) return false;
  if (m.shape.length !== 1 || m.shape[0] !== m.data.length) return false;
  for (let i = 0; i < m.data.length; i++) if (m.data[i] !== (k * 7 + i * 13) % 256) return false;
  return true;
}

(async () => {
  const result = { ok: true };
  const view = new DataView(bytes.buffer);
  // Footer: the 20 bytes before the trailing magic; its CRC covers the summary sections.
  const footerAt = bytes.length - 8 - 29;
  const summaryStart = Number(view.getBigUint64(footerAt + 9, true));
  const summaryCrc = view.getUint32(footerAt + 25, true);
  result.summary_present = summaryStart !== 0;
  result.summary_crc_ok = crc32(bytes.subarray(summaryStart, bytes.length - 8 - 4)) === summaryCrc;

  const readable = {
    size: async () => BigInt(bytes.length),
    read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)),
  };
  const indexed = await McapIndexedReader.Initialize({ readable, decompressHandlers });
  result.data_crc_ok = indexed.dataSectionCrc === crc32(bytes.subarray(0, Number(indexed.dataEndOffset)));
  result.chunks = indexed.chunkIndexes.length;
  result.compression = [...new Set(indexed.chunkIndexes.map((c) => c.compression))];
  result.statistics = indexed.statistics
    ? { messages: Number(indexed.statistics.messageCount), channels: indexed.statistics.channelCount }
    : null;
  result.channels = [...indexed.channelsById.values()].map((c) => ({
    topic: c.topic, message_encoding: c.messageEncoding,
    schema: indexed.schemasById.get(c.schemaId)?.name, metadata: Object.fromEntries(c.metadata),
  }));
  let indexedCount = 0;
  for await (const m of indexed.readMessages({ validateCrcs: true })) indexedCount++;
  result.indexed_messages = indexedCount;

  // The whole file once more, record by record, every chunk CRC checked.
  const stream = new McapStreamReader({ decompressHandlers, validateCrcs: true });
  stream.append(bytes);
  const messages = [];
  const channels = new Map();
  for (let r; (r = stream.nextRecord()); ) {
    if (r.type === "Channel") channels.set(r.id, r.topic);
    if (r.type === "Message") {
      const m = decodeMessage(r.data);
      const entry = { topic: channels.get(r.channelId), sequence: m.sequence, log_time: r.logTime.toString(),
        wall_time_ns: m.wall_time_ns, mcap_sequence: r.sequence, dtype: m.dtype, shape: m.shape,
        encoding: m.encoding, parameters: m.parameters, size: m.data ? m.data.length : 0 };
      if (pattern) entry.pattern_ok = patternOk(m);
      messages.push(entry);
    }
  }
  result.stream_done = stream.done();
  result.messages = messages;
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e) }));
  process.exit(1);
});
