import { type IServiceVector, ServerSerial, ServerTCP } from "./modbus-serial.js";
import type { Profile, RegisterDef } from "./profile.js";
import { encodeValue } from "./register-decoder.js";

/**
 * A meter that is not there: serves a profile's registers over Modbus TCP or a serial device with
 * values from a factory load model. Everything derives from the seed and the clock, so two
 * simulators with one seed agree, and tests get the same shapes every run.
 *
 * The model: a plant that runs two shifts (06–14 at full load, 14–22 a little less, a quiet night
 * with base load), slower on Saturday, idle on Sunday; minute-scale wander and second-scale noise
 * on top; now and then a voltage dip on one phase. Energy counters integrate the power, so they
 * only go up and agree with the power a dashboard shows.
 */

export interface MeterModelOptions {
  seed: number;
  /** Peak active power of the simulated load, watts. */
  ratedPowerW?: number;
  /** Time the energy integration starts from, ms since the epoch (default: first sample). */
  startMs?: number;
}

const HOUR = 3_600_000;
const PHASES = ["L1", "L2", "L3"] as const;
const PHASE_SHARE = { L1: 0.36, L2: 0.33, L3: 0.31 };

/** Deterministic hash of integers to [0, 1). */
function hash01(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h ^= part | 0;
    h = Math.imul(h, 0x01000193);
    h ^= (part / 4294967296) | 0;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [-1, 1]: random points every `periodMs`, cosine-interpolated between them. */
function valueNoise(seed: number, key: number, t: number, periodMs: number): number {
  const cell = Math.floor(t / periodMs);
  const f = (t - cell * periodMs) / periodMs;
  const a = hash01(seed, key, cell) * 2 - 1;
  const b = hash01(seed, key, cell + 1) * 2 - 1;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return a * (1 - w) + b * w;
}

/** Electrical state of the meter at one instant, in base units. */
export interface MeterState {
  voltage: Record<(typeof PHASES)[number], number>;
  power: Record<(typeof PHASES)[number], number>;
  powerFactor: Record<(typeof PHASES)[number], number>;
  frequency: number;
  load: number;
  importedJ: Record<(typeof PHASES)[number], number>;
  reactiveImportedJ: Record<(typeof PHASES)[number], number>;
  exportedJ: number;
  demandW: number;
  maxDemandW: number;
}

export class MeterModel {
  private readonly rated: number;
  private lastMs: number | undefined;
  private readonly importedJ = { L1: 0, L2: 0, L3: 0 };
  private readonly reactiveJ = { L1: 0, L2: 0, L3: 0 };
  private demandW = 0;
  private maxDemandW = 0;

  constructor(private readonly options: MeterModelOptions) {
    this.rated = options.ratedPowerW ?? 45_000;
    // A meter that has been in service for a while: a few thousand kWh on each phase already.
    for (const phase of PHASES) {
      this.importedJ[phase] = (1500 + hash01(options.seed, 7, PHASES.indexOf(phase)) * 2500) * 3.6e6;
      this.reactiveJ[phase] = this.importedJ[phase] * 0.3;
    }
    if (options.startMs !== undefined) this.lastMs = options.startMs;
  }

  /** Fraction of rated load the plant draws at `t` (shift plan × weekday × wander). */
  loadAt(t: number): number {
    const date = new Date(t);
    const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
    const weekday = date.getUTCDay(); // 0 Sunday
    let shift = hour >= 6 && hour < 14 ? 0.85 : hour >= 14 && hour < 22 ? 0.7 : 0.15;
    // Machines ramp over half an hour at shift starts rather than stepping.
    if (hour >= 5.5 && hour < 6) shift = 0.15 + (hour - 5.5) * 2 * 0.7;
    const week = weekday === 0 ? 0.12 : weekday === 6 ? (hour < 14 ? 0.5 : 0.2) : 1;
    const base = 0.08;
    const wander = 1 + 0.08 * valueNoise(this.options.seed, 1, t, 5 * 60_000);
    const jitter = 1 + 0.02 * valueNoise(this.options.seed, 2, t, 2_000);
    return Math.max(0.02, (base + Math.max(0, shift * week - base)) * wander * jitter);
  }

  /** A dip of one phase's voltage for a minute, a few times a day, chosen by the seed. */
  private dipAt(t: number): { phase: (typeof PHASES)[number]; depth: number } | undefined {
    const window = Math.floor(t / (2 * HOUR));
    if (hash01(this.options.seed, 3, window) > 0.35) return undefined;
    const start = window * 2 * HOUR + Math.floor(hash01(this.options.seed, 4, window) * (2 * HOUR - 60_000));
    if (t < start || t >= start + 60_000) return undefined;
    return { phase: PHASES[Math.floor(hash01(this.options.seed, 5, window) * 3)]!, depth: 0.15 };
  }

  stateAt(t: number): MeterState {
    this.integrate(t);
    return this.instant(t);
  }

  private instant(t: number): MeterState {
    const load = this.loadAt(t);
    const dip = this.dipAt(t);
    const voltage = { L1: 0, L2: 0, L3: 0 };
    const power = { L1: 0, L2: 0, L3: 0 };
    const powerFactor = { L1: 0, L2: 0, L3: 0 };
    PHASES.forEach((phase, i) => {
      const v =
        230 +
        3 * valueNoise(this.options.seed, 10 + i, t, 60_000) +
        0.4 * valueNoise(this.options.seed, 20 + i, t, 1_000);
      voltage[phase] = dip?.phase === phase ? v * (1 - dip.depth) : v;
      power[phase] = this.rated * PHASE_SHARE[phase] * load;
      // Lightly loaded motors have a poor power factor.
      powerFactor[phase] = Math.min(
        0.99,
        0.7 + 0.25 * Math.min(1, load / 0.6) + 0.01 * valueNoise(this.options.seed, 30 + i, t, 10_000),
      );
    });
    return {
      voltage,
      power,
      powerFactor,
      frequency: 50 + 0.03 * valueNoise(this.options.seed, 40, t, 20_000),
      load,
      importedJ: { ...this.importedJ },
      reactiveImportedJ: { ...this.reactiveJ },
      exportedJ: 12.5 * 3.6e6,
      demandW: this.demandW,
      maxDemandW: this.maxDemandW,
    };
  }

  private integrate(t: number): void {
    if (this.lastMs === undefined) {
      this.lastMs = t;
      this.demandW = this.totalPower(t);
      this.maxDemandW = this.demandW;
      return;
    }
    // Trapezoids of at most a second: a query after a long pause still integrates the shape.
    while (this.lastMs < t) {
      const step = Math.min(1_000, t - this.lastMs);
      const a = this.instant(this.lastMs);
      const b = this.instant(this.lastMs + step);
      for (const phase of PHASES) {
        const p = (a.power[phase] + b.power[phase]) / 2;
        const pf = (a.powerFactor[phase] + b.powerFactor[phase]) / 2;
        this.importedJ[phase] += (p * step) / 1000;
        this.reactiveJ[phase] += (p * Math.tan(Math.acos(pf)) * step) / 1000;
      }
      // 15-minute sliding demand as an exponential average.
      const total = PHASES.reduce((sum, phase) => sum + b.power[phase], 0);
      this.demandW += (total - this.demandW) * (step / (15 * 60_000));
      this.maxDemandW = Math.max(this.maxDemandW, this.demandW);
      this.lastMs += step;
    }
  }

  private totalPower(t: number): number {
    const s = this.instant(t);
    return PHASES.reduce((sum, phase) => sum + s.power[phase], 0);
  }
}

function sum3(values: Record<string, number>): number {
  return PHASES.reduce((total, phase) => total + values[phase]!, 0);
}

/** The value a register of the profile shows in `state`, in the profile's published units. */
export function quantityFor(register: RegisterDef, state: MeterState, seed: number): number | string {
  const phase = (register.labels.phase ?? "L1") as (typeof PHASES)[number];
  const v = state.voltage;
  const p = state.power;
  const pf = state.powerFactor;
  const apparent = (ph: (typeof PHASES)[number]) => p[ph] / pf[ph];
  const reactive = (ph: (typeof PHASES)[number]) => Math.sqrt(Math.max(0, apparent(ph) ** 2 - p[ph] ** 2));
  const current = (ph: (typeof PHASES)[number]) => apparent(ph) / v[ph];
  const totalP = sum3(p);
  const totalS = PHASES.reduce((s, ph) => s + apparent(ph), 0);
  const imported = sum3(state.importedJ);
  const reactiveImported = sum3(state.reactiveImportedJ);
  const single = !register.labels.phase;
  const m = register.metric.replace(/^floorsense_(meter_|device_)/, "");
  switch (m) {
    case "voltage_volts":
      return v[phase];
    case "line_voltage_volts": {
      const [a, b] = (register.labels.phases ?? "L1-L2").split("-") as [
        (typeof PHASES)[number],
        (typeof PHASES)[number],
      ];
      return ((v[a] + v[b]) / 2) * Math.sqrt(3);
    }
    case "average_voltage_volts":
      return sum3(v) / 3;
    case "average_line_voltage_volts":
      return (sum3(v) / 3) * Math.sqrt(3);
    case "current_amperes":
      return current(phase);
    case "average_current_amperes":
      return PHASES.reduce((s, ph) => s + current(ph), 0) / 3;
    case "system_current_amperes":
      return PHASES.reduce((s, ph) => s + current(ph), 0);
    case "power_watts":
      return p[phase];
    case "apparent_power_voltamperes":
      return apparent(phase);
    case "reactive_power_voltamperes_reactive":
      return reactive(phase);
    case "power_factor_ratio":
      return pf[phase];
    case "phase_angle_radians":
      return Math.acos(pf[phase]);
    case "system_power_watts":
      return totalP;
    case "system_apparent_power_voltamperes":
      return totalS;
    case "system_reactive_power_voltamperes_reactive":
      return PHASES.reduce((s, ph) => s + reactive(ph), 0);
    case "system_power_factor_ratio":
      return totalP / totalS;
    case "system_phase_angle_radians":
      return Math.acos(totalP / totalS);
    case "frequency_hertz":
      return state.frequency;
    case "energy_imported_joules_total":
      return imported;
    case "energy_exported_joules_total":
      return state.exportedJ;
    case "energy_sum_joules_total":
      return imported + state.exportedJ;
    case "reactive_energy_imported_voltamperes_reactive_seconds_total":
    case "reactive_energy_sum_voltamperes_reactive_seconds_total":
      return reactiveImported;
    case "reactive_energy_exported_voltamperes_reactive_seconds_total":
      return 0;
    case "phase_energy_imported_joules_total":
    case "phase_energy_sum_joules_total":
      return state.importedJ[phase] + (m === "phase_energy_sum_joules_total" ? state.exportedJ / 3 : 0);
    case "phase_energy_exported_joules_total":
      return state.exportedJ / 3;
    case "phase_reactive_energy_imported_voltamperes_reactive_seconds_total":
    case "phase_reactive_energy_sum_voltamperes_reactive_seconds_total":
      return state.reactiveImportedJ[phase];
    case "phase_reactive_energy_exported_voltamperes_reactive_seconds_total":
      return 0;
    case "system_power_demand_watts":
      return state.demandW;
    case "system_power_demand_max_watts":
      return state.maxDemandW;
    case "voltage_thd_ratio":
    case "average_voltage_thd_ratio":
      return 0.02 + 0.01 * state.load;
    case "current_thd_ratio":
    case "average_current_thd_ratio":
      return 0.04 + 0.12 * (1 - Math.min(1, state.load));
    case "temperature_celsius":
      return 35 + 25 * state.load;
    default:
      if (register.type === "string") return `SIM${seed}`;
      if (register.type === "bit") return state.load > 0.3 ? 1 : 0;
      return single ? totalP / 1000 : p[phase] / 1000;
  }
}

/** The register image a request sees: one snapshot of the model per request, encoded per profile. */
export class RegisterImage {
  private readonly words = new Map<number, number>(); // "fc:address" packed → word
  private readonly bits = new Map<number, boolean>();
  private stamp = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly profile: Profile,
    private readonly model: MeterModel,
    private readonly seed: number,
    private readonly now: () => number,
  ) {}

  private refresh(): void {
    const t = this.now();
    // One snapshot serves the reads of one cycle, as a real meter's measurement period would.
    if (t - this.stamp < 100) return;
    this.stamp = t;
    const state = this.model.stateAt(t);
    this.words.clear();
    this.bits.clear();
    for (const register of this.profile.registers) {
      const value = quantityFor(register, state, this.seed);
      if (register.function <= 2) {
        this.bits.set(key(register.function, register.address), Number(value) !== 0);
        continue;
      }
      let bytes: Buffer;
      if (register.type === "string") {
        bytes = Buffer.alloc(register.count * 2);
        bytes.write(String(value).slice(0, register.length), "latin1");
      } else if (register.type === "bit") {
        const existing = this.words.get(key(register.function, register.address)) ?? 0;
        const bit = 1 << (register.bit ?? 0);
        this.words.set(
          key(register.function, register.address),
          Number(value) ? existing | bit : existing & ~bit,
        );
        continue;
      } else {
        bytes = encodeValue(Number(value), register);
      }
      for (let i = 0; i < register.count; i++) {
        this.words.set(key(register.function, register.address + i), bytes.readUInt16BE(i * 2));
      }
    }
  }

  word(fc: 3 | 4, address: number): number | undefined {
    this.refresh();
    return this.words.get(key(fc, address));
  }

  bit(fc: 1 | 2, address: number): boolean | undefined {
    this.refresh();
    return this.bits.get(key(fc, address));
  }
}

function key(fc: number, address: number): number {
  return fc * 0x10000 + address;
}

export interface SimulatorOptions {
  profile: Profile;
  seed: number;
  /** Only this unit id answers (others time out, like an absent meter); 255 answers every id. */
  unitId: number;
  /** Answer exception 02 to reads that touch an address the profile does not map. */
  strictAddresses?: boolean;
  /** Probability that a request is answered with exception 06 (slave busy): the occasional fault. */
  faultRate?: number;
  now?: () => number;
}

export type SimulatorEndpoint = { host: string; port: number } | { serialPath: string; baudRate: number };

export interface RunningSimulator {
  readonly port?: number;
  close(): Promise<void>;
}

class ModbusFault extends Error {
  constructor(readonly modbusErrorCode: number) {
    super(`exception ${modbusErrorCode}`);
  }
}

/** The Modbus service vector modbus-serial's servers call, answering from the register image. */
export function simulatorVector(options: SimulatorOptions): IServiceVector {
  const now = options.now ?? Date.now;
  const model = new MeterModel({ seed: options.seed });
  const image = new RegisterImage(options.profile, model, options.seed, now);
  let requests = 0;
  const fault = () => {
    requests++;
    if (options.faultRate && hash01(options.seed, 99, requests) < options.faultRate) throw new ModbusFault(6);
  };
  const words = (fc: 3 | 4) => (address: number, length: number) => {
    fault();
    const out: number[] = [];
    for (let i = 0; i < length; i++) {
      const word = image.word(fc, address + i);
      if (word === undefined && options.strictAddresses) throw new ModbusFault(2);
      out.push(word ?? 0);
    }
    return out;
  };
  const bit = (fc: 1 | 2) => (address: number) => {
    const value = image.bit(fc, address);
    if (value === undefined && options.strictAddresses) throw new ModbusFault(2);
    return value ?? false;
  };
  const inputs = words(4);
  const holdings = words(3);
  return {
    getMultipleInputRegisters: (address: number, length: number) => inputs(address, length),
    getInputRegister: (address: number) => inputs(address, 1)[0]!,
    getMultipleHoldingRegisters: (address: number, length: number) => holdings(address, length),
    getHoldingRegister: (address: number) => holdings(address, 1)[0]!,
    getCoil: bit(1),
    getDiscreteInput: bit(2),
  };
}

/** Serves the simulated meter on a TCP port or a serial device (a socat pty end, for RTU tests). */
export async function startSimulator(
  options: SimulatorOptions,
  endpoint: SimulatorEndpoint,
): Promise<RunningSimulator> {
  const vector = simulatorVector(options);
  if ("serialPath" in endpoint) {
    const server = await new Promise<InstanceType<typeof ServerSerial>>((resolve, reject) => {
      const created: InstanceType<typeof ServerSerial> = new ServerSerial(vector, {
        path: endpoint.serialPath,
        baudRate: endpoint.baudRate,
        unitID: options.unitId,
        openCallback: (error?: Error | null) => (error ? reject(error) : resolve(created)),
      } as never);
    });
    return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  const server = new ServerTCP(vector, { host: endpoint.host, port: endpoint.port, unitID: options.unitId });
  await new Promise<void>((resolve, reject) => {
    server.on("initialized", () => resolve());
    server.on("serverError", (error) => reject(error));
    server.on("error", (error) => reject(error));
  });
  server.on("socketError", () => {});
  const address = (
    server as unknown as { _server?: { address(): { port: number } | null } }
  )._server?.address();
  const port = address?.port ?? endpoint.port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
