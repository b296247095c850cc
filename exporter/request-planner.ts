import type { FunctionCode, RegisterDef } from "./profile.js";

/**
 * Plans the reads of one device: the fewest requests that cover every register, filling gaps of
 * at most `maxGap` unused registers, never asking for more than the device accepts per request.
 * Fewer requests matter on RS485: at 9600 baud each request costs two frame gaps and the meter's
 * response latency, far more than the few extra registers a filled gap transfers.
 */

export interface PlannedRequest {
  function: FunctionCode;
  address: number;
  /** Registers (function 3/4) or bits (function 1/2) asked for. */
  count: number;
  /** Indices (RegisterDef.index) of the values this request carries. */
  registers: number[];
}

export interface PlanLimits {
  maxRegisters: number;
  maxBits: number;
  maxGap: number;
}

/** Optimal by request count, then by wasted registers: a small dynamic programme per function code. */
export function planRequests(registers: readonly RegisterDef[], limits: PlanLimits): PlannedRequest[] {
  const plan: PlannedRequest[] = [];
  for (const fc of [1, 2, 3, 4] as const) {
    const items = registers
      .filter((r) => r.function === fc)
      .sort((a, b) => a.address - b.address || a.index - b.index);
    if (items.length === 0) continue;
    const limit = fc <= 2 ? limits.maxBits : limits.maxRegisters;
    plan.push(...planSpace(fc, items, limit, limits.maxGap));
  }
  return plan;
}

function planSpace(fc: FunctionCode, items: RegisterDef[], limit: number, maxGap: number): PlannedRequest[] {
  const n = items.length;
  // best[j]: cheapest cover of items[0..j-1]; cost is requests first, wasted registers second.
  const best: Array<{ requests: number; wasted: number; from: number }> = [
    { requests: 0, wasted: 0, from: -1 },
  ];
  for (let j = 1; j <= n; j++) best.push({ requests: Number.POSITIVE_INFINITY, wasted: 0, from: -1 });
  for (let i = 0; i < n; i++) {
    const base = best[i]!;
    if (!Number.isFinite(base.requests)) continue;
    const start = items[i]!.address;
    let end = start; // one past the last register covered so far
    let used = 0;
    for (let j = i; j < n; j++) {
      const item = items[j]!;
      if (j > i && item.address - end > maxGap) break;
      const itemEnd = item.address + item.count;
      if (itemEnd - start > limit) break;
      used += Math.max(0, itemEnd - Math.max(end, item.address));
      end = Math.max(end, itemEnd);
      const wasted = base.wasted + (end - start - used);
      const candidate = best[j + 1]!;
      const requests = base.requests + 1;
      if (requests < candidate.requests || (requests === candidate.requests && wasted <= candidate.wasted)) {
        best[j + 1] = { requests, wasted, from: i };
      }
    }
  }
  const requests: PlannedRequest[] = [];
  for (let j = n; j > 0; ) {
    const i = best[j]!.from;
    const group = items.slice(i, j);
    const address = group[0]!.address;
    const end = Math.max(...group.map((r) => r.address + r.count));
    requests.unshift({ function: fc, address, count: end - address, registers: group.map((r) => r.index) });
    j = i;
  }
  return requests;
}

/**
 * Halves a request a device refused with exception 02/03 (some meters reject reads that touch an
 * unmapped register). A single value cannot be split: that value is then absent, the others live on.
 */
export function splitRequest(request: PlannedRequest, registers: readonly RegisterDef[]): PlannedRequest[] {
  if (request.registers.length <= 1) return [request];
  const byIndex = new Map(registers.map((r) => [r.index, r]));
  const items = request.registers.map((index) => byIndex.get(index)!);
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)].map((group) => {
    const address = group[0]!.address;
    const end = Math.max(...group.map((r) => r.address + r.count));
    return {
      function: request.function,
      address,
      count: end - address,
      registers: group.map((r) => r.index),
    };
  });
}

/** One request per value, the way mbmd reads meters: the reference the planner is measured against. */
export function planOnePerValue(registers: readonly RegisterDef[]): PlannedRequest[] {
  return [...registers]
    .sort((a, b) => a.function - b.function || a.address - b.address)
    .map((r) => ({ function: r.function, address: r.address, count: r.count, registers: [r.index] }));
}

/** Bytes of one RTU exchange: request is address, function, start, count, CRC; response 5 + data. */
export function rtuFrameBytes(request: PlannedRequest): { request: number; response: number } {
  const data = request.function <= 2 ? Math.ceil(request.count / 8) : request.count * 2;
  return { request: 8, response: 5 + data };
}

/** Bytes of one Modbus TCP exchange: the 7-byte MBAP header replaces address and CRC. */
export function tcpFrameBytes(request: PlannedRequest): { request: number; response: number } {
  const data = request.function <= 2 ? Math.ceil(request.count / 8) : request.count * 2;
  return { request: 12, response: 9 + data };
}

export interface SerialLine {
  baud: number;
  dataBits: number;
  parity: "none" | "even" | "odd";
  stopBits: number;
}

/** Bits one character takes on the line: start bit, data, parity, stop. */
export function bitsPerChar(line: SerialLine): number {
  return 1 + line.dataBits + (line.parity === "none" ? 0 : 1) + line.stopBits;
}

/**
 * The silent interval that ends an RTU frame: 3.5 characters, fixed at 1.75 ms above 19200 baud
 * as the Modbus serial line spec recommends.
 */
export function interFrameSeconds(line: SerialLine): number {
  return line.baud > 19_200 ? 0.00175 : (3.5 * bitsPerChar(line)) / line.baud;
}

export interface WireCost {
  requests: number;
  requestBytes: number;
  responseBytes: number;
  /** Seconds the bus is busy per cycle: frames, two inter-frame gaps per exchange, device latency. */
  seconds: number;
}

/** What one poll cycle of this plan costs on a serial line, given the device's typical response latency. */
export function rtuCycleCost(
  plan: readonly PlannedRequest[],
  line: SerialLine,
  latencySeconds: number,
): WireCost {
  let requestBytes = 0;
  let responseBytes = 0;
  for (const request of plan) {
    const bytes = rtuFrameBytes(request);
    requestBytes += bytes.request;
    responseBytes += bytes.response;
  }
  const charSeconds = bitsPerChar(line) / line.baud;
  const seconds =
    (requestBytes + responseBytes) * charSeconds +
    plan.length * (2 * interFrameSeconds(line) + latencySeconds);
  return { requests: plan.length, requestBytes, responseBytes, seconds };
}

export function tcpCycleBytes(plan: readonly PlannedRequest[]): {
  requestBytes: number;
  responseBytes: number;
} {
  let requestBytes = 0;
  let responseBytes = 0;
  for (const request of plan) {
    const bytes = tcpFrameBytes(request);
    requestBytes += bytes.request;
    responseBytes += bytes.response;
  }
  return { requestBytes, responseBytes };
}
