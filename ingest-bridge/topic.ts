import { NAME_PATTERN } from "./config.js";

/** Where a reading comes from; the four identity labels the bridge adds to every series. */
export interface DeviceIdentity {
  tenant: string;
  site: string;
  machine: string;
  device: string;
}

export type ParsedTopic =
  | { kind: "readings"; identity: DeviceIdentity }
  | { kind: "status"; tenant: string; site: string; machine: string }
  | { kind: "invalid"; reason: string };

export const TOPIC_PREFIX = "floorsense/v1/";

/**
 * Splits `floorsense/v1/{tenant}/{site}/{machine}/{device}` (readings) or
 * `floorsense/v1/{tenant}/{site}/{machine}/status` (liveness). `status` is therefore no device name.
 */
export function parseTopic(topic: string): ParsedTopic {
  if (!topic.startsWith(TOPIC_PREFIX))
    return { kind: "invalid", reason: `topic does not start with ${TOPIC_PREFIX}` };
  const parts = topic.slice(TOPIC_PREFIX.length).split("/");
  if (parts.length !== 4) {
    return { kind: "invalid", reason: "expected floorsense/v1/{tenant}/{site}/{machine}/{device}" };
  }
  const [tenant, site, machine, last] = parts as [string, string, string, string];
  for (const [what, value] of [
    ["tenant", tenant],
    ["site", site],
    ["machine", machine],
    ["device", last],
  ] as const) {
    if (!NAME_PATTERN.test(value)) {
      return { kind: "invalid", reason: `${what} ${JSON.stringify(value)} is not a valid name` };
    }
  }
  if (last === "status") return { kind: "status", tenant, site, machine };
  return { kind: "readings", identity: { tenant, site, machine, device: last } };
}

/** One string per device, used as a map key; `/` cannot occur inside a name. */
export function deviceKey(identity: DeviceIdentity): string {
  return `${identity.site}/${identity.machine}/${identity.device}`;
}

export function machineKey(site: string, machine: string): string {
  return `${site}/${machine}`;
}
