import { ModbusClient } from "./modbus-serial.js";
import type { FunctionCode } from "./profile.js";

/** Why a read failed, as `floorsense_device_read_errors_total{kind}` counts it. */
export type ReadErrorKind = "timeout" | "crc" | "exception" | "disconnect" | "other";
export const READ_ERROR_KINDS: readonly ReadErrorKind[] = [
  "timeout",
  "crc",
  "exception",
  "disconnect",
  "other",
];

export class ModbusReadError extends Error {
  constructor(
    readonly kind: ReadErrorKind,
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = "ModbusReadError";
  }
}

/** What a read returns: register bytes in wire order (function 3/4) or one boolean per bit (1/2). */
export type ReadResult = { registers: Buffer } | { bits: boolean[] };

/** One connection to one bus. Not safe for concurrent reads: the bus queue owns it alone. */
export interface ModbusTransport {
  read(
    unitId: number,
    fc: FunctionCode,
    address: number,
    count: number,
    timeoutMs: number,
  ): Promise<ReadResult>;
  close(): Promise<void>;
}

/** Sorts modbus-serial's errors (plain objects and Errors with errno/modbusCode) into kinds. */
export function classifyError(error: unknown): ModbusReadError {
  if (error instanceof ModbusReadError) return error;
  const e = (error ?? {}) as { message?: string; errno?: string; code?: string; modbusCode?: number };
  const message = e.message || String(error);
  if (typeof e.modbusCode === "number") return new ModbusReadError("exception", message, e.modbusCode);
  if (e.errno === "ETIMEDOUT" || /timed out/i.test(message)) return new ModbusReadError("timeout", message);
  if (/CRC/i.test(message)) return new ModbusReadError("crc", message);
  const code = e.code ?? e.errno;
  if (
    /Port Not Open|not open|closed|ECONNREFUSED|ECONNRESET|EPIPE|ENOENT|EHOSTUNREACH|ENETUNREACH|No such file/i.test(
      `${message} ${code ?? ""}`,
    )
  ) {
    return new ModbusReadError("disconnect", message);
  }
  return new ModbusReadError("other", message);
}

/** Where a bus is: the fields of a bus config the connection needs. */
export type BusEndpoint =
  | {
      type: "rtu";
      device: string;
      baud: number;
      parity: "none" | "even" | "odd";
      data_bits: number;
      stop_bits: number;
    }
  | { type: "tcp" | "rtu-over-tcp"; host: string; port: number };

function describeBus(bus: BusEndpoint): string {
  return bus.type === "rtu" ? `serial port ${bus.device}` : `${bus.type} ${bus.host}:${bus.port}`;
}

/** modbus-serial underneath, reconnecting lazily after the link drops (a meter power cycle, a cable). */
export function createModbusTransport(bus: BusEndpoint, connectTimeoutMs = 3_000): ModbusTransport {
  let client: ModbusClient | undefined;
  let connecting: Promise<ModbusClient> | undefined;

  const drop = () => {
    const old = client;
    client = undefined;
    if (old?.isOpen) old.close(() => {});
  };

  const connect = async (): Promise<ModbusClient> => {
    if (client?.isOpen) return client;
    drop();
    connecting ??= (async () => {
      const next = new ModbusClient();
      // Without a listener an error event on the port would crash the process.
      next.on("error", () => drop());
      next.on("close", () => {
        if (client === next) client = undefined;
      });
      const opening =
        bus.type === "rtu"
          ? next.connectRTUBuffered(bus.device, {
              baudRate: bus.baud,
              parity: bus.parity,
              dataBits: bus.data_bits,
              stopBits: bus.stop_bits,
            })
          : bus.type === "tcp"
            ? next.connectTCP(bus.host, { port: bus.port, timeout: connectTimeoutMs })
            : // modbus-serial's "telnet" port is plain RTU frames over a TCP socket, as serial gateways pass them.
              next.connectTelnet(bus.host, { port: bus.port, timeout: connectTimeoutMs });
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          opening,
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`connect timed out after ${connectTimeoutMs} ms`)),
              connectTimeoutMs,
            );
            timer.unref();
          }),
        ]);
      } catch (error) {
        next.close(() => {});
        const reason = (error as Error)?.message ?? String(error);
        throw new ModbusReadError("disconnect", `cannot open ${describeBus(bus)}: ${reason}`);
      } finally {
        clearTimeout(timer);
      }
      client = next;
      return next;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    async read(unitId, fc, address, count, timeoutMs) {
      const c = await connect();
      c.setID(unitId);
      c.setTimeout(timeoutMs);
      try {
        switch (fc) {
          case 1:
            return { bits: (await c.readCoils(address, count)).data.slice(0, count) };
          case 2:
            return { bits: (await c.readDiscreteInputs(address, count)).data.slice(0, count) };
          case 3:
            return { registers: Buffer.from((await c.readHoldingRegisters(address, count)).buffer) };
          case 4:
            return { registers: Buffer.from((await c.readInputRegisters(address, count)).buffer) };
        }
      } catch (error) {
        const classified = classifyError(error);
        if (classified.kind === "disconnect") drop();
        throw classified;
      }
    },
    async close() {
      const c = client;
      client = undefined;
      if (c?.isOpen) await new Promise<void>((resolve) => c.close(() => resolve()));
    },
  };
}
