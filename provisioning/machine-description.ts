import { stringify } from "yaml";
import { z } from "zod";
import { validateConfig } from "../lib/config-loader.js";
import { formatDuration, parseDuration } from "../lib/duration.js";
import { type Connection, describeConnection } from "./device-spec.js";
import { NAME_PATTERN, NAME_RULE, ValidationError } from "./names.js";
import type { ProfileInfo } from "./profiles.js";

const name = z.string().regex(NAME_PATTERN, NAME_RULE);
const deviceName = name.refine(
  (n) => n !== "status",
  "status is the liveness topic, pick another device name",
);
const unitId = z.number().int().min(0).max(255);

const duration = z.string().refine((text) => {
  try {
    return parseDuration(text) > 0;
  } catch {
    return false;
  }
}, "expected a positive Prometheus duration such as 15m or 1h");

const common = {
  name: deviceName,
  profile: z.string().min(1),
  unit_id: unitId,
  poll_interval: duration.optional(),
};

const deviceSchema = z.discriminatedUnion("transport", [
  z.strictObject({
    ...common,
    transport: z.literal("rtu"),
    port: z.string().min(1),
    baud: z.number().int().positive().optional(),
    parity: z.enum(["none", "even", "odd"]).optional(),
  }),
  z.strictObject({
    ...common,
    transport: z.enum(["tcp", "rtu-over-tcp"]),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535),
  }),
]);

export const machineDescriptionSchema = z.strictObject({
  tenant: name,
  site: name,
  machine: name,
  /** Forecast horizons for the machine's predictor targets. */
  horizons: z.array(duration).min(1).default(["15m", "1h"]),
  devices: z.array(deviceSchema).min(1, "a machine needs at least one device"),
});

export type MachineDescription = z.output<typeof machineDescriptionSchema>;
export type DeviceDescription = MachineDescription["devices"][number];

export function deviceConnection(device: DeviceDescription): Connection {
  return device.transport === "rtu"
    ? { transport: "rtu", port: device.port }
    : { transport: device.transport, host: device.host, port: device.port };
}

/** Validates plain data (a --from file, or flags turned into the same shape). */
export function parseMachineDescription(
  source: string,
  data: unknown,
  lineOf?: (path: readonly PropertyKey[]) => number | undefined,
): MachineDescription {
  return validateConfig(source, machineDescriptionSchema, data, { lineOf });
}

/**
 * The checks that need the whole machine and the profile catalogue. Each message says what is
 * wrong and what to do about it.
 */
export function checkMachine(description: MachineDescription, profiles: Map<string, ProfileInfo>): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const device of description.devices) {
    if (seen.has(device.name)) {
      problems.push(`device "${device.name}" is listed twice: give each device its own name`);
    }
    seen.add(device.name);
  }
  for (const device of description.devices) {
    if (!profiles.has(device.profile)) {
      const known = [...profiles.keys()].sort().join(", ");
      problems.push(
        `device "${device.name}": unknown profile "${device.profile}"; known profiles: ${known} ` +
          "(add a profile YAML to exporter/profiles/ or a folder listed in profile_dirs)",
      );
    }
  }
  const onBus = new Map<string, DeviceDescription>();
  const baudByPort = new Map<string, DeviceDescription>();
  for (const device of description.devices) {
    const bus = describeConnection(deviceConnection(device));
    const key = `${bus}#${device.unit_id}`;
    const other = onBus.get(key);
    if (other) {
      problems.push(
        `devices "${other.name}" and "${device.name}" both use unit id ${device.unit_id} on ${bus}: ` +
          "give each device on a bus its own unit id",
      );
    } else onBus.set(key, device);
    if (device.transport === "rtu") {
      const first = baudByPort.get(device.port);
      if (first && first.transport === "rtu") {
        if (
          (first.baud ?? 9600) !== (device.baud ?? 9600) ||
          (first.parity ?? "none") !== (device.parity ?? "none")
        ) {
          problems.push(
            `devices "${first.name}" and "${device.name}" share ${device.port} but ask for different serial settings: ` +
              "one RS485 line has one baud rate and parity",
          );
        }
      } else baudByPort.set(device.port, device);
    }
  }
  const horizons = new Set<number>();
  for (const horizon of description.horizons) {
    const ms = parseDuration(horizon);
    if (horizons.has(ms)) problems.push(`horizon ${horizon} is listed twice`);
    horizons.add(ms);
    if (ms % 60_000 !== 0) {
      problems.push(`horizon ${horizon} must be a whole number of minutes (the predictor's step is 1m)`);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems.join("\n"));
}

/** The machine as its inventory file stores it: fixed key order, so equal descriptions are equal text. */
export function canonicalMachine(description: MachineDescription): MachineDescription {
  return {
    tenant: description.tenant,
    site: description.site,
    machine: description.machine,
    horizons: description.horizons.map((h) => formatDuration(parseDuration(h))),
    devices: description.devices.map((device) => {
      const base = { name: device.name, profile: device.profile };
      const tail = {
        unit_id: device.unit_id,
        ...(device.poll_interval
          ? { poll_interval: formatDuration(parseDuration(device.poll_interval)) }
          : {}),
      };
      return device.transport === "rtu"
        ? {
            ...base,
            transport: "rtu" as const,
            port: device.port,
            ...tail,
            ...(device.baud !== undefined ? { baud: device.baud } : {}),
            ...(device.parity !== undefined ? { parity: device.parity } : {}),
          }
        : { ...base, transport: device.transport, host: device.host, port: device.port, ...tail };
    }),
  };
}

export function machineYaml(description: MachineDescription): string {
  return stringify(canonicalMachine(description), { lineWidth: 0, aliasDuplicateObjects: false });
}
