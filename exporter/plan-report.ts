import type { BusConfig, ExporterConfig, ResolvedDevice } from "./config.js";
import { hex, type Profile } from "./profile.js";
import {
  type PlannedRequest,
  planRequests,
  rtuCycleCost,
  type SerialLine,
  tcpCycleBytes,
} from "./request-planner.js";

/** Registers a request reads that no value needs: the price of saving a request. */
function unused(request: PlannedRequest, profile: Profile): number {
  const covered = new Set<number>();
  for (const index of request.registers) {
    const register = profile.registers[index]!;
    for (let i = 0; i < register.count; i++) covered.add(register.address + i);
  }
  return request.count - covered.size;
}

function lineOf(bus: Extract<BusConfig, { type: "rtu" }>): SerialLine {
  return { baud: bus.baud, dataBits: bus.data_bits, parity: bus.parity, stopBits: bus.stop_bits };
}

function describeBus(bus: BusConfig): string {
  if (bus.type !== "rtu") return `${bus.type} ${bus.host}:${bus.port}`;
  const parity = bus.parity === "none" ? "N" : bus.parity === "even" ? "E" : "O";
  return `rtu ${bus.device}, ${bus.baud} baud ${bus.data_bits}${parity}${bus.stop_bits}`;
}

/**
 * The plan `floorsense exporter plan` prints: every request per device and what a cycle costs on
 * the wire. Serial wire time counts the frames, two 3.5-character gaps per exchange and
 * `latencyMs`, the time a meter takes to start answering (the manual rarely says; 20 ms is typical).
 */
export function formatPlan(config: ExporterConfig, latencyMs: number): string {
  const lines: string[] = [];
  for (const bus of config.buses) {
    lines.push(`bus ${bus.name} (${describeBus(bus)})`);
    let busSeconds = 0;
    for (const device of bus.resolved) {
      busSeconds += formatDevice(lines, bus, device, latencyMs);
    }
    if (bus.type === "rtu") {
      lines.push(`  bus busy ${(busSeconds * 1000).toFixed(1)} ms per round of all devices`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function formatDevice(lines: string[], bus: BusConfig, device: ResolvedDevice, latencyMs: number): number {
  const profile = device.profileDef;
  const plan = planRequests(profile.registers, device.limits);
  lines.push(
    `  device ${device.name}: profile ${profile.name}, unit ${device.unit_id}, ${profile.registers.length} values, ` +
      `max ${device.limits.maxRegisters} registers per request, max gap ${device.limits.maxGap}`,
  );
  lines.push("    #  fc  address  count  values  unused");
  plan.forEach((request, i) => {
    lines.push(
      `    ${String(i + 1).padEnd(2)} ${String(request.function).padStart(2, "0")}  ${hex(request.address)}  ${String(request.count).padStart(5)}  ${String(request.registers.length).padStart(6)}  ${String(unused(request, profile)).padStart(6)}`,
    );
  });
  if (bus.type === "rtu") {
    const cost = rtuCycleCost(plan, lineOf(bus), latencyMs / 1000);
    lines.push(
      `    per cycle: ${cost.requests} requests, ${cost.requestBytes} bytes out, ${cost.responseBytes} bytes back, ` +
        `${(cost.seconds * 1000).toFixed(1)} ms on the wire (incl. 3.5-char gaps and ${latencyMs} ms response latency)`,
    );
    return cost.seconds;
  }
  // RTU over TCP carries the serial frames unchanged (address and CRC, no MBAP header).
  const bytes =
    bus.type === "rtu-over-tcp"
      ? rtuCycleCost(plan, { baud: 9600, dataBits: 8, parity: "none", stopBits: 1 }, 0)
      : tcpCycleBytes(plan);
  const frames = bus.type === "rtu-over-tcp" ? "RTU frames over TCP" : "Modbus TCP frames";
  lines.push(
    `    per cycle: ${plan.length} requests, ${bytes.requestBytes} bytes out, ${bytes.responseBytes} bytes back (${frames})`,
  );
  return 0;
}
