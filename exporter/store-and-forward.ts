import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { syncDirectory, writeAll } from "../lib/durable-files.js";

/**
 * The bounded on-disk queue every cycle passes through before it is published.
 *
 * Cycles are appended to segment files as framed records, `[u32 body length][u32 CRC-32 of body]
 * [body]`, and fsynced before `append` returns, so a cycle that was appended survives a kill -9 or
 * a power cut. A write cut short leaves a torn last record: the length runs past the end of the
 * file or the CRC does not match. Opening the queue detects that, truncates it away and goes on;
 * every complete record before it is intact because records are only ever appended.
 *
 * Published cycles are acknowledged by sequence number. The highest sequence below which every
 * record is done (acknowledged or dropped) is written to `head` by write-then-rename; a crash
 * before that rename means a cycle is published again after restart, which QoS 1 allows anyway.
 * Segments whose records are all done are deleted.
 */

const HEADER_BYTES = 8;
// Body: seq (f64), enqueued at ms (f64), topic length (u16), topic, payload.
const BODY_FIXED = 8 + 8 + 2;
const SEGMENT = /^segment-(\d{16})\.log$/;

export interface QueuedCycle {
  seq: number;
  topic: string;
  payload: Buffer;
  enqueuedAtMs: number;
}

export type DropReason = "size" | "age" | "corrupt";

export interface StoreAndForwardOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  segmentBytes: number;
  now?: () => number;
  /** Called for every drop, with how many cycles went and why; the caller counts and logs. */
  onDrop?: (count: number, reason: DropReason, detail: string) => void;
}

interface RecordRef {
  seq: number;
  segment: Segment;
  offset: number;
  length: number;
  enqueuedAtMs: number;
}

interface Segment {
  file: string;
  firstSeq: number;
  lastSeq: number;
  size: number;
}

export interface OpenReport {
  /** Complete records found waiting. */
  recovered: number;
  /** Bytes of torn or corrupt records cut off. */
  discardedBytes: number;
}

export class StoreAndForward {
  private readonly records: RecordRef[] = [];
  private readonly segments: Segment[] = [];
  private readonly acked = new Set<number>();
  private head = 0;
  private nextSeq = 1;
  private liveBytes = 0;
  private writeFd: number | undefined;
  private readonly now: () => number;
  readonly openReport: OpenReport;

  private constructor(private readonly options: StoreAndForwardOptions) {
    this.now = options.now ?? Date.now;
    mkdirSync(options.dir, { recursive: true });
    this.openReport = this.recover();
  }

  static open(options: StoreAndForwardOptions): StoreAndForward {
    return new StoreAndForward(options);
  }

  /** Cycles waiting (appended, not yet acknowledged or dropped). */
  get depth(): { cycles: number; bytes: number } {
    return { cycles: this.records.length - this.ackedInWindow(), bytes: this.liveBytes };
  }

  /** Persists one cycle; when this returns, the cycle is on disk. */
  append(topic: string, payload: Buffer): QueuedCycle {
    const topicBytes = Buffer.from(topic, "utf8");
    const body = Buffer.alloc(BODY_FIXED + topicBytes.length + payload.length);
    const seq = this.nextSeq++;
    const enqueuedAtMs = this.now();
    body.writeDoubleBE(seq, 0);
    body.writeDoubleBE(enqueuedAtMs, 8);
    body.writeUInt16BE(topicBytes.length, 16);
    topicBytes.copy(body, BODY_FIXED);
    payload.copy(body, BODY_FIXED + topicBytes.length);
    const frame = Buffer.alloc(HEADER_BYTES + body.length);
    frame.writeUInt32BE(body.length, 0);
    frame.writeUInt32BE(crc32(body), 4);
    body.copy(frame, HEADER_BYTES);

    this.dropExpired();
    this.makeRoom(frame.length);
    let segment = this.segments[this.segments.length - 1];
    if (!segment || this.writeFd === undefined || segment.size + frame.length > this.options.segmentBytes) {
      segment = this.startSegment(seq);
    }
    const offset = segment.size;
    writeAll(this.writeFd!, frame);
    fsyncSync(this.writeFd!);
    segment.size += frame.length;
    segment.lastSeq = seq;
    this.records.push({ seq, segment, offset, length: frame.length, enqueuedAtMs });
    this.liveBytes += frame.length;
    return { seq, topic, payload, enqueuedAtMs };
  }

  /** Up to `limit` waiting cycles with a sequence above `afterSeq`, oldest first. */
  peek(afterSeq: number, limit: number): QueuedCycle[] {
    this.dropExpired();
    const out: QueuedCycle[] = [];
    for (const ref of this.records) {
      if (out.length >= limit) break;
      if (ref.seq <= afterSeq || this.acked.has(ref.seq)) continue;
      out.push(this.load(ref));
    }
    return out;
  }

  /** Marks a cycle as delivered; done cycles at the front are forgotten and their segments deleted. */
  ack(seq: number): void {
    if (seq <= this.head || !this.records.some((r) => r.seq === seq)) return;
    this.acked.add(seq);
    this.advance();
  }

  close(): void {
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    this.writeFd = undefined;
  }

  private ackedInWindow(): number {
    return this.acked.size;
  }

  private advance(): void {
    let moved = false;
    while (this.records.length > 0 && this.acked.has(this.records[0]!.seq)) {
      const ref = this.records.shift()!;
      this.acked.delete(ref.seq);
      this.liveBytes -= ref.length;
      this.head = ref.seq;
      moved = true;
    }
    if (moved) this.persistHead();
  }

  private dropFront(count: number, reason: DropReason, detail: string): void {
    let dropped = 0;
    for (let i = 0; i < count && this.records.length > 0; i++) {
      const ref = this.records.shift()!;
      this.liveBytes -= ref.length;
      this.head = ref.seq;
      if (this.acked.delete(ref.seq)) continue;
      dropped++;
    }
    this.advance();
    this.persistHead();
    if (dropped > 0) this.options.onDrop?.(dropped, reason, detail);
  }

  private dropExpired(): void {
    const limit = this.now() - this.options.maxAgeMs;
    let count = 0;
    while (count < this.records.length && this.records[count]!.enqueuedAtMs < limit) count++;
    if (count > 0) this.dropFront(count, "age", `older than ${this.options.maxAgeMs} ms`);
  }

  private makeRoom(incoming: number): void {
    let bytes = this.liveBytes + incoming;
    let count = 0;
    while (bytes > this.options.maxBytes && count < this.records.length) {
      bytes -= this.records[count]!.length;
      count++;
    }
    if (count > 0) this.dropFront(count, "size", `queue over ${this.options.maxBytes} bytes`);
  }

  private persistHead(): void {
    const file = join(this.options.dir, "head");
    // Rename is atomic: after a crash the file holds the old or the new head, never half of one.
    writeFileSync(`${file}.tmp`, `${this.head}\n`);
    renameSync(`${file}.tmp`, file);
    this.deleteDoneSegments();
  }

  private deleteDoneSegments(): void {
    while (this.segments.length > 0) {
      const oldest = this.segments[0]!;
      const isCurrent = this.segments.length === 1;
      if (oldest.lastSeq > this.head || (isCurrent && oldest.lastSeq === 0)) break;
      if (isCurrent && this.writeFd !== undefined) {
        closeSync(this.writeFd);
        this.writeFd = undefined;
      }
      unlinkSync(oldest.file);
      this.segments.shift();
    }
  }

  private startSegment(firstSeq: number): Segment {
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    const file = join(this.options.dir, `segment-${String(firstSeq).padStart(16, "0")}.log`);
    this.writeFd = openSync(file, "a");
    syncDirectory(this.options.dir);
    const segment: Segment = { file, firstSeq, lastSeq: 0, size: 0 };
    this.segments.push(segment);
    return segment;
  }

  private load(ref: RecordRef): QueuedCycle {
    const fd = openSync(ref.segment.file, "r");
    try {
      const frame = Buffer.alloc(ref.length);
      readSync(fd, frame, 0, ref.length, ref.offset);
      const body = frame.subarray(HEADER_BYTES);
      const topicLength = body.readUInt16BE(16);
      return {
        seq: ref.seq,
        enqueuedAtMs: ref.enqueuedAtMs,
        topic: body.subarray(BODY_FIXED, BODY_FIXED + topicLength).toString("utf8"),
        payload: Buffer.from(body.subarray(BODY_FIXED + topicLength)),
      };
    } finally {
      closeSync(fd);
    }
  }

  private recover(): OpenReport {
    const dir = this.options.dir;
    const headFile = join(dir, "head");
    if (existsSync(headFile)) {
      const parsed = Number.parseInt(readFileSync(headFile, "utf8").trim(), 10);
      if (Number.isSafeInteger(parsed) && parsed >= 0) this.head = parsed;
    }
    let recovered = 0;
    let discardedBytes = 0;
    let maxSeq = this.head;
    const files = readdirSync(dir)
      .filter((name) => SEGMENT.test(name))
      .sort();
    for (const name of files) {
      const file = join(dir, name);
      const content = readFileSync(file);
      const segment: Segment = { file, firstSeq: Number(SEGMENT.exec(name)![1]), lastSeq: 0, size: 0 };
      let offset = 0;
      while (offset < content.length) {
        const torn = frameAt(content, offset);
        if (!torn.ok) break;
        const { seq, enqueuedAtMs, length } = torn;
        if (seq > maxSeq) maxSeq = seq;
        segment.lastSeq = seq;
        if (seq > this.head) {
          this.records.push({ seq, segment, offset, length, enqueuedAtMs });
          this.liveBytes += length;
          recovered++;
        }
        offset += length;
      }
      if (offset < content.length) {
        discardedBytes += content.length - offset;
        const fd = openSync(file, "r+");
        ftruncateSync(fd, offset);
        fsyncSync(fd);
        closeSync(fd);
        this.options.onDrop?.(
          1,
          "corrupt",
          `${content.length - offset} bytes of a torn record cut from ${name}`,
        );
      }
      segment.size = offset;
      if (segment.lastSeq === 0 || segment.lastSeq <= this.head) {
        unlinkSync(file);
        continue;
      }
      this.segments.push(segment);
    }
    this.nextSeq = maxSeq + 1;
    // Appends after a restart start a fresh segment, so a recovered file is never written again.
    return { recovered, discardedBytes };
  }
}

function frameAt(
  content: Buffer,
  offset: number,
): { ok: true; seq: number; enqueuedAtMs: number; length: number } | { ok: false } {
  if (content.length - offset < HEADER_BYTES) return { ok: false };
  const bodyLength = content.readUInt32BE(offset);
  const crc = content.readUInt32BE(offset + 4);
  if (bodyLength < BODY_FIXED || offset + HEADER_BYTES + bodyLength > content.length) return { ok: false };
  const body = content.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + bodyLength);
  if (crc32(body) !== crc) return { ok: false };
  const seq = body.readDoubleBE(0);
  if (!Number.isSafeInteger(seq) || seq <= 0) return { ok: false };
  return { ok: true, seq, enqueuedAtMs: body.readDoubleBE(8), length: HEADER_BYTES + bodyLength };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib and gzip use it). */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
