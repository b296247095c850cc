import { describe, expect, it } from "vitest";
import { loadProfile, parseProfile } from "../../exporter/profile.js";
import {
  interFrameSeconds,
  planOnePerValue,
  planRequests,
  rtuCycleCost,
  splitRequest,
} from "../../exporter/request-planner.js";

const sdm630 = loadProfile("sdm630");
const limits = (maxRegisters: number) => ({ maxRegisters, maxBits: 2000, maxGap: sdm630.maxGap });
const shape = (plan: ReturnType<typeof planRequests>) => plan.map((r) => [r.function, r.address, r.count]);

describe("planning the SDM630", () => {
  it("covers the full map in 4 requests at 80 registers per request", () => {
    const plan = planRequests(sdm630.registers, limits(80));
    expect(shape(plan)).toEqual([
      [4, 0x0000, 80],
      [4, 0x0054, 4],
      [4, 0x00c8, 52],
      [4, 0x0156, 40],
    ]);
    const cost = rtuCycleCost(plan, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0);
    // 4 requests × 8 bytes; responses 5 + 2n for n = 80, 4, 52, 40.
    expect(cost.requestBytes).toBe(32);
    expect(cost.responseBytes).toBe(165 + 13 + 109 + 85);
  });

  it("needs 5 requests at 50 registers per request", () => {
    // Ties in wasted registers go to the plan whose earlier reads are longest.
    const plan = planRequests(sdm630.registers, limits(50));
    expect(shape(plan)).toEqual([
      [4, 0x0000, 50],
      [4, 0x0034, 36],
      [4, 0x00c8, 8],
      [4, 0x00ea, 18],
      [4, 0x0156, 40],
    ]);
    const cost = rtuCycleCost(plan, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0);
    expect(cost.requestBytes).toBe(40);
    expect(cost.responseBytes).toBe(105 + 77 + 21 + 41 + 85);
  });

  it("never exceeds the limit and covers every value exactly once", () => {
    for (const max of [2, 4, 10, 50, 80, 125]) {
      const plan = planRequests(sdm630.registers, limits(max));
      expect(plan.every((r) => r.count <= max)).toBe(true);
      const covered = plan.flatMap((r) => r.registers).sort((a, b) => a - b);
      expect(covered).toEqual(sdm630.registers.map((r) => r.index));
      for (const request of plan) {
        for (const index of request.registers) {
          const register = sdm630.registers[index]!;
          expect(register.address).toBeGreaterThanOrEqual(request.address);
          expect(register.address + register.count).toBeLessThanOrEqual(request.address + request.count);
        }
      }
    }
  });

  it("does not fill gaps wider than max_gap", () => {
    const plan = planRequests(sdm630.registers, { maxRegisters: 125, maxBits: 2000, maxGap: 0 });
    // Without gap filling each run of adjacent registers is its own read: 0x00-0x2B, 0x2E-0x31,
    // 0x34, 0x38, 0x3C-0x3F, 0x42, 0x46-0x4F, 0x54-0x57, 0xC8-0xCF, 0xEA-0xF5, 0xF8-0xFB, 0x156-0x17D.
    expect(plan.length).toBe(12);
    expect(plan.every((r) => r.count === r.registers.length * 2)).toBe(true);
  });

  it("is 68 requests and 1156 bytes one value at a time (the mbmd way)", () => {
    const plan = planOnePerValue(sdm630.registers);
    const cost = rtuCycleCost(plan, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0);
    expect(plan.length).toBe(68);
    expect(cost.requestBytes + cost.responseBytes).toBe(68 * 8 + 68 * 9);
  });
});

describe("splitting after exception 02/03", () => {
  it("halves a request by values until single values remain", () => {
    const [first] = planRequests(sdm630.registers, limits(80));
    const halves = splitRequest(first!, sdm630.registers);
    expect(halves.map((r) => [r.address, r.count, r.registers.length])).toEqual([
      [0x0000, 34, 17],
      [0x0022, 46, 17],
    ]);
    const single = { function: 4 as const, address: 0, count: 2, registers: [0] };
    expect(splitRequest(single, sdm630.registers)).toEqual([single]);
  });
});

describe("bits and wire time", () => {
  it("plans coils by bits and sizes their responses in bytes", () => {
    const profile = parseProfile(
      "bits.yaml",
      [
        "profile: bits",
        "manufacturer: x",
        "model: x",
        "source: test",
        "max_bits_per_request: 16",
        "metrics:",
        "  floorsense_device_running: { type: gauge, help: h }",
        "registers:",
        ...Array.from(
          { length: 20 },
          (_, i) =>
            `  - { address: ${i}, function: 1, metric: floorsense_device_running, labels: { n: "${i}" } }`,
        ),
      ].join("\n"),
    );
    const plan = planRequests(profile.registers, { maxRegisters: 125, maxBits: 16, maxGap: 0 });
    expect(shape(plan)).toEqual([
      [1, 0, 16],
      [1, 16, 4],
    ]);
    const cost = rtuCycleCost(plan, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0);
    expect(cost.responseBytes).toBe(5 + 2 + (5 + 1));
  });

  it("counts 10 bits per character at 8N1 and 11 at 8E1, 3.5 characters between frames", () => {
    expect(interFrameSeconds({ baud: 9600, dataBits: 8, parity: "none", stopBits: 1 })).toBeCloseTo(
      0.003646,
      6,
    );
    expect(interFrameSeconds({ baud: 9600, dataBits: 8, parity: "even", stopBits: 1 })).toBeCloseTo(
      0.00401,
      6,
    );
    expect(interFrameSeconds({ baud: 38400, dataBits: 8, parity: "none", stopBits: 1 })).toBe(0.00175);
    const one = [{ function: 4 as const, address: 0, count: 2, registers: [0] }];
    // (8 + 9) bytes × 10 bits / 9600 + 2 × 3.5 × 10 / 9600 + 20 ms latency
    expect(
      rtuCycleCost(one, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0.02).seconds,
    ).toBeCloseTo(170 / 9600 + 70 / 9600 + 0.02, 9);
  });
});
