/**
 * Requests and wire time per poll cycle of the full SDM630 map: floorsense's request planner
 * against one request per register pair, the way mbmd reads meters. Wire time counts every byte
 * at the line's bits per character, two 3.5-character silent intervals per exchange and the
 * meter's response latency. Run: npm run bench:exporter
 */
import { loadProfile } from "../exporter/profile.js";
import { planOnePerValue, planRequests, rtuCycleCost, type SerialLine } from "../exporter/request-planner.js";

const sdm630 = loadProfile("sdm630");
const latenciesMs = [20, 50];
const lines: Array<[string, SerialLine]> = [
  ["9600 8N1", { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }],
  ["19200 8N1", { baud: 19_200, dataBits: 8, parity: "none", stopBits: 1 }],
];
// The 52 registers of ../shared/reference/sdm630.md's table: what mbmd reads of an SDM630.
const MBMD_SUBSET = new Set([
  0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x14, 0x16, 0x18, 0x1a, 0x1c, 0x1e, 0x20, 0x22,
  0x34, 0x38, 0x3c, 0x3e, 0x42, 0x46, 0x48, 0x4a, 0x4c, 0x4e, 0xea, 0xec, 0xee, 0xf8, 0x156, 0x158, 0x15a,
  0x15c, 0x15e, 0x160, 0x162, 0x164, 0x166, 0x168, 0x16a, 0x16c, 0x16e, 0x170, 0x172, 0x174, 0x176, 0x178,
  0x17a, 0x17c,
]);
const plans = {
  "planner, 80 regs/request": planRequests(sdm630.registers, {
    maxRegisters: 80,
    maxBits: 2000,
    maxGap: sdm630.maxGap,
  }),
  "planner, 50 regs/request": planRequests(sdm630.registers, {
    maxRegisters: 50,
    maxBits: 2000,
    maxGap: sdm630.maxGap,
  }),
  "one request per value (mbmd)": planOnePerValue(sdm630.registers),
  "mbmd's 52 values, one each": planOnePerValue(sdm630.registers.filter((r) => MBMD_SUBSET.has(r.address))),
};

console.log(
  `SDM630, ${sdm630.registers.length} values (float32, 2 registers each); ratios against one request per value of the same 68\n`,
);
const header = ["plan", "line", "latency", "requests", "bytes", "wire ms", "vs mbmd"];
const rows: string[][] = [];
for (const [lineName, line] of lines) {
  for (const latency of latenciesMs) {
    const reference = rtuCycleCost(plans["one request per value (mbmd)"], line, latency / 1000);
    for (const [name, plan] of Object.entries(plans)) {
      const cost = rtuCycleCost(plan, line, latency / 1000);
      rows.push([
        name,
        lineName,
        `${latency} ms`,
        String(cost.requests),
        String(cost.requestBytes + cost.responseBytes),
        (cost.seconds * 1000).toFixed(1),
        `${(cost.seconds / reference.seconds).toFixed(3)}× time, ${(cost.requests / reference.requests).toFixed(3)}× requests`,
      ]);
    }
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const format = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");
console.log(format(header));
for (const row of rows) console.log(format(row));
