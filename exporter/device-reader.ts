import type { Logger } from "../lib/logger.js";
import type { Clock } from "./clock.js";
import { ModbusReadError, type ModbusTransport, type ReadErrorKind } from "./modbus-transport.js";
import type { Profile, RegisterDef } from "./profile.js";
import { decodeValue } from "./register-decoder.js";
import { type PlanLimits, type PlannedRequest, planRequests, splitRequest } from "./request-planner.js";

export interface ReadValue {
  register: RegisterDef;
  value: number | string;
  /** When the response that carried it arrived, ms since the epoch. */
  timestampMs: number;
}

export interface ReadFailure {
  kind: ReadErrorKind;
  message: string;
  /** The Modbus exception code the device answered with, for kind "exception". */
  code?: number;
  request?: PlannedRequest;
}

/** Everything one poll of one device produced: what was read, what failed, how long it took. */
export interface DeviceReading {
  device: string;
  startedAtMs: number;
  durationMs: number;
  /** The device answered this cycle (values or exception responses) and the link held. */
  up: boolean;
  values: ReadValue[];
  errors: ReadFailure[];
}

export interface DeviceReaderOptions {
  name: string;
  unitId: number;
  profile: Profile;
  limits: PlanLimits;
  timeoutMs: number;
  /** Repeats of a request after a CRC error or a garbled answer; timeouts are not repeated. */
  retries: number;
  interRequestPauseMs: number;
  transport: ModbusTransport;
  clock: Clock;
  logger: Logger;
}

/**
 * Reads one device by its plan. A timeout or a lost link ends the device's cycle at once, so a dead
 * meter costs the bus one timeout per cycle, never one per request. A read refused with exception
 * 02/03 is split and the smaller plan kept: the meter told us it does not like that span.
 */
export class DeviceReader {
  readonly name: string;
  readonly unitId: number;
  private plan: PlannedRequest[];
  private readonly byIndex: Map<number, RegisterDef>;

  constructor(private readonly options: DeviceReaderOptions) {
    this.name = options.name;
    this.unitId = options.unitId;
    this.plan = planRequests(options.profile.registers, options.limits);
    this.byIndex = new Map(options.profile.registers.map((r) => [r.index, r]));
  }

  get requests(): readonly PlannedRequest[] {
    return this.plan;
  }

  async read(): Promise<DeviceReading> {
    const { clock } = this.options;
    const startedAtMs = clock.now();
    const values: ReadValue[] = [];
    const errors: ReadFailure[] = [];
    let answered = false;
    let linkLost = false;
    const pending = [...this.plan];
    let first = true;
    while (pending.length > 0) {
      const request = pending.shift()!;
      if (!first && this.options.interRequestPauseMs > 0) await clock.sleep(this.options.interRequestPauseMs);
      first = false;
      const outcome = await this.readWithRetries(request);
      if (outcome.ok) {
        answered = true;
        values.push(...this.decode(request, outcome.result, clock.now(), errors));
        continue;
      }
      const error = outcome.error;
      if (error.kind === "exception") {
        answered = true;
        if ((error.exceptionCode === 2 || error.exceptionCode === 3) && request.registers.length > 1) {
          const halves = splitRequest(request, this.options.profile.registers);
          this.replaceInPlan(request, halves);
          pending.unshift(...halves);
          this.options.logger.info(
            {
              device: this.name,
              address: request.address,
              count: request.count,
              exception: error.exceptionCode,
            },
            "device refused a merged read, splitting it",
          );
          continue;
        }
        errors.push({
          kind: "exception",
          message: error.message,
          request,
          ...(error.exceptionCode !== undefined ? { code: error.exceptionCode } : {}),
        });
        continue;
      }
      errors.push({ kind: error.kind, message: error.message, request });
      if (error.kind === "timeout" || error.kind === "disconnect") {
        linkLost = true;
        break;
      }
    }
    return {
      device: this.name,
      startedAtMs,
      durationMs: clock.now() - startedAtMs,
      up: answered && !linkLost,
      values,
      errors,
    };
  }

  private async readWithRetries(
    request: PlannedRequest,
  ): Promise<
    { ok: true; result: Awaited<ReturnType<ModbusTransport["read"]>> } | { ok: false; error: ModbusReadError }
  > {
    let attempt = 0;
    for (;;) {
      try {
        const result = await this.options.transport.read(
          this.unitId,
          request.function,
          request.address,
          request.count,
          this.options.timeoutMs,
        );
        return { ok: true, result };
      } catch (caught) {
        const error =
          caught instanceof ModbusReadError
            ? caught
            : new ModbusReadError("other", (caught as Error)?.message ?? "");
        const retryable = error.kind === "crc" || error.kind === "other";
        if (!retryable || attempt >= this.options.retries) return { ok: false, error };
        attempt++;
      }
    }
  }

  private decode(
    request: PlannedRequest,
    result: Awaited<ReturnType<ModbusTransport["read"]>>,
    timestampMs: number,
    errors: ReadFailure[],
  ): ReadValue[] {
    const out: ReadValue[] = [];
    for (const index of request.registers) {
      const register = this.byIndex.get(index)!;
      const position = register.address - request.address;
      try {
        let value: number | string;
        if ("bits" in result) {
          const bit = result.bits[position];
          if (bit === undefined) throw new Error(`short answer: bit ${position} missing`);
          value = (bit ? 1 : 0) * register.scale + register.offset;
        } else {
          const raw = result.registers.subarray(position * 2, (position + register.count) * 2);
          if (raw.length !== register.count * 2)
            throw new Error(`short answer: ${result.registers.length} bytes`);
          value = decodeValue(raw, register);
        }
        out.push({ register, value, timestampMs });
      } catch (error) {
        errors.push({ kind: "other", message: `${register.metric}: ${(error as Error).message}`, request });
      }
    }
    return out;
  }

  private replaceInPlan(request: PlannedRequest, halves: PlannedRequest[]): void {
    const at = this.plan.indexOf(request);
    if (at >= 0) this.plan.splice(at, 1, ...halves);
  }
}
