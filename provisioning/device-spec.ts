import { ValidationError } from "./names.js";

/** How a device is reached: a serial port (RTU) or a TCP endpoint (Modbus TCP or RTU over TCP). */
export type Connection =
  | { transport: "rtu"; port: string }
  | { transport: "tcp" | "rtu-over-tcp"; host: string; port: number };

export interface DeviceSpec {
  name: string;
  profile: string;
  connection: Connection;
  unitId: number;
}

export const DEVICE_SPEC_HELP =
  "NAME=PROFILE@rtu:SERIAL_PORT:UNIT_ID or NAME=PROFILE@tcp:HOST:PORT:UNIT_ID " +
  "(also rtu-over-tcp:HOST:PORT:UNIT_ID), e.g. main=sdm630@rtu:/dev/ttyUSB0:1";

function unitId(text: string, spec: string): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) {
    throw new ValidationError(
      `invalid --device ${JSON.stringify(spec)}: unit id ${JSON.stringify(text)} must be a number from 0 to 255`,
    );
  }
  return Number(text);
}

/** Parses one `--device` value; the name and profile are checked later with the rest of the machine. */
export function parseDeviceSpec(spec: string): DeviceSpec {
  const bad = () =>
    new ValidationError(`invalid --device ${JSON.stringify(spec)}: expected ${DEVICE_SPEC_HELP}`);
  const match = /^([^=@]+)=([^=@]+)@(rtu|tcp|rtu-over-tcp):(.+)$/.exec(spec);
  if (!match) throw bad();
  const [, name, profile, transport, rest] = match as unknown as [string, string, string, string, string];
  const lastColon = rest.lastIndexOf(":");
  if (lastColon <= 0) throw bad();
  const address = rest.slice(0, lastColon);
  const unit = unitId(rest.slice(lastColon + 1), spec);
  if (transport === "rtu") {
    return { name, profile, connection: { transport, port: address }, unitId: unit };
  }
  // A host may be an IPv6 literal in brackets: [fd00::5]:502.
  const endpoint = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  if (!endpoint || Number(endpoint[2]) < 1 || Number(endpoint[2]) > 65_535) {
    throw new ValidationError(
      `invalid --device ${JSON.stringify(spec)}: expected HOST:PORT:UNIT_ID after ${transport}:, e.g. ${name}=${profile}@${transport}:10.0.0.5:502:1`,
    );
  }
  return {
    name,
    profile,
    connection: {
      transport: transport as "tcp" | "rtu-over-tcp",
      host: endpoint[1]!.replace(/^\[|\]$/g, ""),
      port: Number(endpoint[2]),
    },
    unitId: unit,
  };
}

/** The bus a device sits on, as a person would name it in a message. */
export function describeConnection(connection: Connection): string {
  return connection.transport === "rtu"
    ? `rtu:${connection.port}`
    : `${connection.transport}:${connection.host}:${connection.port}`;
}
