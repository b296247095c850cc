import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32, type DropReason, StoreAndForward } from "../../exporter/store-and-forward.js";
import { REPO_ROOT } from "../support/cli.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "floorsense-queue-"));
const payloadFor = (seq: number) => Buffer.from(`cycle ${seq} ${"x".repeat((seq * 37) % 200)}\n# EOF\n`);

function open(dir: string, extra: Partial<Parameters<typeof StoreAndForward.open>[0]> = {}) {
  const drops: Array<[number, DropReason]> = [];
  const queue = StoreAndForward.open({
    dir,
    maxBytes: 10_000_000,
    maxAgeMs: 86_400_000,
    segmentBytes: 4096,
    onDrop: (count, reason) => drops.push([count, reason]),
    ...extra,
  });
  return { queue, drops };
}

function fill(queue: StoreAndForward, count: number) {
  for (let i = 0; i < count; i++) {
    const seq = queue.append(`floorsense/v1/t/s/m/d${i % 3}`, payloadFor(i + 1)).seq;
    expect(seq).toBe(i + 1);
  }
}

describe("store and forward queue", () => {
  it("crc32 matches the IEEE check value", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  });

  it("keeps cycles in order across a reopen and forgets acknowledged ones", () => {
    const dir = tempDir();
    const first = open(dir).queue;
    fill(first, 50);
    expect(first.depth.cycles).toBe(50);
    expect(readdirSync(dir).filter((f) => f.startsWith("segment-")).length).toBeGreaterThan(1);
    for (let seq = 1; seq <= 20; seq++) first.ack(seq);
    // Out-of-order acks hold until the ones before them are done.
    first.ack(25);
    expect(first.depth.cycles).toBe(29);
    first.close();

    const { queue: second, drops } = open(dir);
    expect(drops).toEqual([]);
    expect(second.openReport).toEqual({ recovered: 30, discardedBytes: 0 });
    const waiting = second.peek(0, 100);
    expect(waiting.map((c) => c.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 21));
    expect(waiting[0]!.topic).toBe("floorsense/v1/t/s/m/d2");
    expect(waiting[0]!.payload.equals(payloadFor(21))).toBe(true);
    expect(second.append("floorsense/v1/t/s/m/d0", payloadFor(51)).seq).toBe(51);
    for (const cycle of second.peek(0, 100)) second.ack(cycle.seq);
    expect(second.depth).toEqual({ cycles: 0, bytes: 0 });
    expect(readdirSync(dir).filter((f) => f.startsWith("segment-"))).toEqual([]);
    second.close();
  });

  it("drops the oldest cycles first when over max_bytes, and counts them", () => {
    const dir = tempDir();
    const { queue, drops } = open(dir, { maxBytes: 3_000 });
    fill(queue, 40);
    const depth = queue.depth;
    expect(depth.bytes).toBeLessThanOrEqual(3_000);
    const waiting = queue.peek(0, 100).map((c) => c.seq);
    expect(waiting[waiting.length - 1]).toBe(40);
    expect(waiting).toEqual(Array.from({ length: waiting.length }, (_, i) => 41 - waiting.length + i));
    const dropped = drops.reduce((sum, [count]) => sum + count, 0);
    expect(dropped).toBe(40 - waiting.length);
    expect(drops.every(([, reason]) => reason === "size")).toBe(true);
    queue.close();
  });

  it("drops cycles older than max_age", () => {
    const dir = tempDir();
    let now = 1_000_000;
    const { queue, drops } = open(dir, { maxAgeMs: 60_000, now: () => now });
    fill(queue, 5);
    now += 30_000;
    queue.append("t", payloadFor(6));
    now += 40_000;
    expect(queue.peek(0, 10).map((c) => c.seq)).toEqual([6]);
    expect(drops).toEqual([[5, "age"]]);
    queue.close();
  });

  it("cuts a torn last record at any point and keeps every complete one", () => {
    const dir = tempDir();
    const writer = open(dir, { segmentBytes: 1_000_000 }).queue;
    fill(writer, 12);
    writer.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith("segment-"));
    const file = join(dir, segment!);
    const pristine = readFileSync(file);
    // Record boundaries, from the framing: 8-byte header + body length.
    const ends: number[] = [];
    for (let offset = 0; offset < pristine.length; ) {
      offset += 8 + pristine.readUInt32BE(offset);
      ends.push(offset);
    }
    expect(ends.length).toBe(12);
    let random = 12345;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 40; round++) {
      const cut = 1 + (next() % (pristine.length - 1));
      writeFileSync(file, pristine);
      truncateSync(file, cut);
      const complete = ends.filter((end) => end <= cut).length;
      const lastEnd = complete === 0 ? 0 : ends[complete - 1]!;
      const { queue, drops } = open(dir, { segmentBytes: 1_000_000 });
      expect(queue.openReport).toEqual({ recovered: complete, discardedBytes: cut - lastEnd });
      expect(drops).toEqual(cut === lastEnd ? [] : [[1, "corrupt"]]);
      expect(queue.peek(0, 100).map((c) => c.seq)).toEqual(Array.from({ length: complete }, (_, i) => i + 1));
      expect(queue.peek(0, 100).every((c) => c.payload.equals(payloadFor(c.seq)))).toBe(true);
      queue.close();
    }
  });

  it("detects a corrupted byte by its CRC", () => {
    const dir = tempDir();
    const writer = open(dir, { segmentBytes: 1_000_000 }).queue;
    fill(writer, 3);
    writer.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith("segment-"));
    const file = join(dir, segment!);
    const content = readFileSync(file);
    content[content.length - 3]! ^= 0xff;
    writeFileSync(file, content);
    const { queue } = open(dir);
    expect(queue.peek(0, 10).map((c) => c.seq)).toEqual([1, 2]);
    expect(statSync(file).size).toBeLessThan(content.length);
    queue.close();
  });

  it("survives kill -9 at random points while appending", async () => {
    const dir = tempDir();
    const module = join(REPO_ROOT, "dist/exporter/store-and-forward.js");
    const child = `
      const { StoreAndForward } = await import(${JSON.stringify(module)});
      const queue = StoreAndForward.open({ dir: ${JSON.stringify(dir)}, maxBytes: 1e9, maxAgeMs: 1e12, segmentBytes: 20000 });
      for (;;) {
        const seq = queue.append("t", Buffer.alloc(64 + (Date.now() % 500), 0x61)).seq;
        process.stdout.write(seq + "\\n");
      }`;
    const confirmed = new Set<number>();
    let random = 777;
    for (let round = 0; round < 8; round++) {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      const proc = spawn(process.execPath, ["--input-type=module", "-e", child], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      let err = "";
      proc.stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString();
      });
      // Wait for the child to be writing, then kill it somewhere in the next 300 ms.
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (out.includes("\n") || proc.exitCode !== null) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      await new Promise((r) => setTimeout(r, 20 + (random % 300)));
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("close", r));
      expect(err).toBe("");
      for (const line of out.split("\n")) if (/^\d+$/.test(line)) confirmed.add(Number(line));

      const { queue } = open(dir, { segmentBytes: 20_000 });
      const seqs = queue.peek(0, 1e9).map((c) => c.seq);
      // Every appended record survives; the sequence has no holes; at most a torn tail was cut.
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect([...confirmed].every((seq) => seq <= seqs.length)).toBe(true);
      expect(queue.openReport.recovered).toBe(seqs.length);
      queue.close();
    }
    expect(confirmed.size).toBeGreaterThan(100);
  });
});
