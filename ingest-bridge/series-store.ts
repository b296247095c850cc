import { PROMETHEUS_TEXT_TYPES } from "../openmetrics/index.js";
import type { MetricFamily, MetricType } from "../openmetrics/types.js";
import { keyMatches, seriesKey } from "./series-key.js";
import { type DeviceIdentity, deviceKey } from "./topic.js";

export interface StoreLimits {
  maxSeriesPerTenant: number;
  maxSeriesPerDevice: number;
  maxSampleAgeMs: number;
  maxSampleFutureMs: number;
}

export interface WriteResult {
  /** The payload was refused whole (nothing written) with this message. */
  conflict?: string;
  stored: number;
  /** Valid, but the stored sample of the series is newer (a replayed backlog): kept out of the store. */
  olderThanStored: number;
  tooOld: number;
  tooFarFuture: number;
  limitedByTenant: number;
  limitedByDevice: number;
  /** Per input sample (families flattened in order): true when a series limit refused it. */
  refused?: Uint8Array;
}

/** A metric family as a tenant's endpoint shows it: the first payload that declared it sets HELP. */
export class FamilyEntry {
  /** Devices with series in this family, with the index of the family in the device's layout. */
  readonly members = new Map<DeviceSeries, number>();
  private openMetricsHeader?: string;
  private textHeader?: string;

  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string | undefined,
    readonly unit: string | undefined,
  ) {}

  header(format: "openmetrics" | "text"): string {
    if (format === "openmetrics") {
      this.openMetricsHeader ??= renderOpenMetricsHeader(this);
      return this.openMetricsHeader;
    }
    this.textHeader ??= renderTextHeader(this);
    return this.textHeader;
  }
}

/**
 * The series of one device in one flat layout: families contiguous, in the order the device sends
 * them, so an unchanged payload updates values in place by position without any lookup.
 */
export class DeviceSeries {
  keys: string[] = [];
  values = new Float64Array(0);
  timestamps = new Float64Array(0);
  families: FamilyEntry[] = [];
  /** Start index of each family in `keys`; a family ends where the next starts. */
  familyStarts: number[] = [];
  /** Set when the device's series were removed, so cached references know to look it up again. */
  removed = false;
  /** Changes whenever series are added, so a cached position-to-slot mapping knows it is stale. */
  layoutVersion = 0;
  /** `tenant="..",site="..",machine="..",device=".."} `, what completes every key of the device. */
  readonly identityTail: string;

  constructor(readonly identity: DeviceIdentity) {
    this.identityTail = Buffer.from(
      `tenant="${identity.tenant}",site="${identity.site}",` +
        `machine="${identity.machine}",device="${identity.device}"} `,
    ).toString();
  }

  get length(): number {
    return this.keys.length;
  }

  familyEnd(index: number): number {
    return index + 1 < this.familyStarts.length ? this.familyStarts[index + 1]! : this.keys.length;
  }
}

export class TenantSeries {
  readonly families = new Map<string, FamilyEntry>();
  readonly devices = new Map<string, DeviceSeries>();
  seriesCount = 0;
  constructor(readonly name: string) {}
}

function escapeHelpOpenMetrics(help: string): string {
  return help.replace(/[\\\n"]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : '\\"'));
}

function escapeHelpText(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

function renderOpenMetricsHeader(family: FamilyEntry): string {
  let out = `# TYPE ${family.name} ${family.type}\n`;
  if (family.unit) out += `# UNIT ${family.name} ${family.unit}\n`;
  if (family.help !== undefined) out += `# HELP ${family.name} ${escapeHelpOpenMetrics(family.help)}\n`;
  return out;
}

/** The name a family has in text 0.0.4, where counters and info metrics are named by their sample. */
export function textFamilyName(family: { name: string; type: MetricType }): string {
  if (family.type === "counter") return `${family.name}_total`;
  if (family.type === "info") return `${family.name}_info`;
  return family.name;
}

function renderTextHeader(family: FamilyEntry): string {
  const name = textFamilyName(family);
  const help = family.help !== undefined ? `# HELP ${name} ${escapeHelpText(family.help)}\n` : "";
  return `${help}# TYPE ${name} ${PROMETHEUS_TEXT_TYPES[family.type]}\n`;
}

/**
 * Latest value and acquisition timestamp of every series, per tenant and device, with the limits
 * that keep one noisy device from pushing out the rest. Memory per series is a shared key string
 * (interned across devices of the same profile), a slot in a JS array and 16 bytes of typed arrays.
 */
export class SeriesStore {
  private readonly tenants = new Map<string, TenantSeries>();
  private readonly interned = new Map<string, string>();
  /** The device of a topic's identity object (the router reuses one per topic): no string key per message. */
  private readonly deviceOf = new WeakMap<DeviceIdentity, DeviceSeries>();
  private totalSeries = 0;

  constructor(readonly limits: StoreLimits) {}

  tenant(name: string): TenantSeries | undefined {
    return this.tenants.get(name);
  }

  tenantNames(): string[] {
    return [...this.tenants.keys()];
  }

  seriesCount(tenant?: string): number {
    if (tenant === undefined) return this.totalSeries;
    return this.tenants.get(tenant)?.seriesCount ?? 0;
  }

  /**
   * Stores the samples of one payload of one device. Timestamps are in seconds; a sample without one
   * is stored without one. Nothing is written when the payload's metadata conflicts with the tenant's.
   */
  write(identity: DeviceIdentity, families: MetricFamily[], nowMs: number): WriteResult {
    const result = emptyWriteResult();
    const oldestMs = nowMs - this.limits.maxSampleAgeMs;
    const newestMs = nowMs + this.limits.maxSampleFutureMs;
    // Fast path: the payload has the layout of the device's last one (same families with the same
    // type and unit, same series in the same order), so slot i is sample i and no lookup is needed.
    // Everything is compared before anything is written: a payload is taken whole or not at all.
    let device = this.deviceOf.get(identity);
    if (device?.removed) device = undefined;
    if (device && this.sameLayout(device, families)) {
      let position = 0;
      for (const family of families) {
        const samples = family.samples;
        for (let i = 0; i < samples.length; i++, position++) {
          const sample = samples[i]!;
          this.update(
            device,
            position,
            sample.value,
            sample.timestamp ?? Number.NaN,
            oldestMs,
            newestMs,
            result,
          );
        }
      }
      return result;
    }

    let tenant = this.tenants.get(identity.tenant);
    // Metadata must agree across a tenant's devices, or the endpoint would show one name twice.
    for (const family of families) {
      const existing = tenant?.families.get(family.name);
      if (existing && (existing.type !== family.type || (existing.unit ?? "") !== (family.unit ?? ""))) {
        result.conflict =
          `family ${family.name} is ${family.type}${family.unit ? ` (unit ${family.unit})` : ""} here but ` +
          `${existing.type}${existing.unit ? ` (unit ${existing.unit})` : ""} in other payloads of tenant ${identity.tenant}`;
        return result;
      }
    }
    if (!tenant) {
      tenant = new TenantSeries(identity.tenant);
      this.tenants.set(identity.tenant, tenant);
    }
    const key = deviceKey(identity);
    device = tenant.devices.get(key);
    if (!device) {
      device = new DeviceSeries(identity);
      tenant.devices.set(key, device);
    }
    this.deviceOf.set(identity, device);
    this.writeSlow(tenant, device, families, 0, oldestMs, newestMs, result);
    return result;
  }

  /**
   * The device whose stored layout is exactly `families` (slot i is sample i), for callers that
   * then update it by position with `writeValues`; undefined when it has no such layout.
   */
  deviceWithLayout(identity: DeviceIdentity, families: MetricFamily[]): DeviceSeries | undefined {
    const device = this.deviceOf.get(identity);
    if (!device || device.removed || !this.sameLayout(device, families)) return undefined;
    return device;
  }

  /**
   * Stores sample i of a payload into slot i of `device`, whose layout the caller knows to match
   * (`deviceWithLayout`, then the same `layoutVersion`). Timestamps in seconds, NaN for none.
   */
  writeValues(
    device: DeviceSeries,
    values: Float64Array,
    timestamps: Float64Array,
    nowMs: number,
  ): WriteResult {
    const result = emptyWriteResult();
    const oldestMs = nowMs - this.limits.maxSampleAgeMs;
    const newestMs = nowMs + this.limits.maxSampleFutureMs;
    const n = device.length;
    for (let slot = 0; slot < n; slot++) {
      this.update(device, slot, values[slot]!, timestamps[slot]!, oldestMs, newestMs, result);
    }
    return result;
  }

  private sameLayout(device: DeviceSeries, families: MetricFamily[]): boolean {
    if (families.length !== device.families.length) return false;
    const keys = device.keys;
    let position = 0;
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      const entry = device.families[f]!;
      const samples = family.samples;
      if (
        device.familyStarts[f] !== position ||
        device.familyEnd(f) !== position + samples.length ||
        entry.type !== family.type ||
        (entry.unit ?? "") !== (family.unit ?? "") ||
        entry.name !== family.name
      ) {
        return false;
      }
      for (let i = 0; i < samples.length; i++) {
        const sample = samples[i]!;
        if (!keyMatches(keys[position + i]!, family.name, sample.name, sample.labels)) return false;
      }
      position += samples.length;
    }
    return position === keys.length;
  }

  private update(
    device: DeviceSeries,
    slot: number,
    value: number,
    timestampSec: number,
    oldestMs: number,
    newestMs: number,
    result: WriteResult,
  ): void {
    if (!Number.isNaN(timestampSec)) {
      const ms = timestampSec * 1000;
      if (ms < oldestMs) {
        result.tooOld++;
        return;
      }
      if (ms > newestMs) {
        result.tooFarFuture++;
        return;
      }
      if (timestampSec < device.timestamps[slot]!) {
        result.olderThanStored++;
        return;
      }
    }
    device.values[slot] = value;
    device.timestamps[slot] = timestampSec;
    result.stored++;
  }

  /** Layout changed (new series, new families, other order): look series up by key and relayout. */
  private writeSlow(
    tenant: TenantSeries,
    device: DeviceSeries,
    families: MetricFamily[],
    fromFamily: number,
    oldestMs: number,
    newestMs: number,
    result: WriteResult,
  ): void {
    const slotOf = new Map<string, number>();
    for (let i = 0; i < device.keys.length; i++) slotOf.set(device.keys[i]!, i);

    let inputIndex = 0;
    for (let f = 0; f < fromFamily; f++) inputIndex += families[f]!.samples.length;
    // New series per family name, in payload order, added after the existing ones of the family.
    const added = new Map<string, { keys: string[]; values: number[]; timestamps: number[] }>();
    let newCount = 0;
    for (let f = fromFamily; f < families.length; f++) {
      const family = families[f]!;
      for (let i = 0; i < family.samples.length; i++, inputIndex++) {
        const sample = family.samples[i]!;
        const key = seriesKey(sample.name, sample.labels);
        const slot = slotOf.get(key);
        const ts = sample.timestamp ?? Number.NaN;
        if (slot !== undefined) {
          // -1: a second sample of a series this payload adds; the strict parser makes it rare.
          if (slot >= 0) this.update(device, slot, sample.value, ts, oldestMs, newestMs, result);
          continue;
        }
        if (!Number.isNaN(ts) && ts * 1000 < oldestMs) {
          result.tooOld++;
          continue;
        }
        if (!Number.isNaN(ts) && ts * 1000 > newestMs) {
          result.tooFarFuture++;
          continue;
        }
        if (tenant.seriesCount + newCount >= this.limits.maxSeriesPerTenant) {
          result.limitedByTenant++;
          result.refused ??= new Uint8Array(countSamples(families));
          result.refused[inputIndex] = 1;
          continue;
        }
        if (device.length + newCount >= this.limits.maxSeriesPerDevice) {
          result.limitedByDevice++;
          result.refused ??= new Uint8Array(countSamples(families));
          result.refused[inputIndex] = 1;
          continue;
        }
        let pending = added.get(family.name);
        if (!pending) {
          pending = { keys: [], values: [], timestamps: [] };
          added.set(family.name, pending);
        }
        // A payload naming one series twice: the later sample wins, as it would in the slot.
        slotOf.set(key, -1);
        pending.keys.push(key);
        pending.values.push(sample.value);
        pending.timestamps.push(ts);
        newCount++;
        result.stored++;
      }
    }
    if (newCount === 0) return;

    const entryFor = (family: MetricFamily): FamilyEntry => {
      let entry = tenant.families.get(family.name);
      if (!entry) {
        entry = new FamilyEntry(family.name, family.type, family.help, family.unit);
        tenant.families.set(family.name, entry);
      }
      return entry;
    };
    const total = device.length + newCount;
    const keys: string[] = new Array(total);
    const values = new Float64Array(total);
    const timestamps = new Float64Array(total);
    const newFamilies: FamilyEntry[] = [];
    const newStarts: number[] = [];
    let out = 0;
    const copyAdded = (name: string) => {
      const pending = added.get(name);
      if (!pending) return;
      for (let i = 0; i < pending.keys.length; i++, out++) {
        keys[out] = this.intern(pending.keys[i]!);
        values[out] = pending.values[i]!;
        timestamps[out] = pending.timestamps[i]!;
      }
      added.delete(name);
    };
    for (let f = 0; f < device.families.length; f++) {
      const entry = device.families[f]!;
      newFamilies.push(entry);
      newStarts.push(out);
      for (let slot = device.familyStarts[f]!; slot < device.familyEnd(f); slot++, out++) {
        keys[out] = device.keys[slot]!;
        values[out] = device.values[slot]!;
        timestamps[out] = device.timestamps[slot]!;
      }
      copyAdded(entry.name);
    }
    for (const family of families) {
      if (!added.has(family.name)) continue;
      newFamilies.push(entryFor(family));
      newStarts.push(out);
      copyAdded(family.name);
    }
    device.keys = keys;
    device.values = values;
    device.timestamps = timestamps;
    device.families = newFamilies;
    device.familyStarts = newStarts;
    device.layoutVersion++;
    for (let index = 0; index < newFamilies.length; index++) newFamilies[index]!.members.set(device, index);
    tenant.seriesCount += newCount;
    this.totalSeries += newCount;
  }

  /** Forgets a device's series (offline, silent). Returns how many series went. */
  removeDevice(identity: DeviceIdentity): number {
    const tenant = this.tenants.get(identity.tenant);
    const key = deviceKey(identity);
    const device = tenant?.devices.get(key);
    if (!tenant || !device) return 0;
    for (const entry of device.families) {
      entry.members.delete(device);
      if (entry.members.size === 0) tenant.families.delete(entry.name);
    }
    tenant.devices.delete(key);
    device.removed = true;
    tenant.seriesCount -= device.length;
    this.totalSeries -= device.length;
    if (tenant.devices.size === 0) this.tenants.delete(identity.tenant);
    this.compactInternTable();
    return device.length;
  }

  /** Devices of a tenant's machine, for the machine-wide `status` topic. */
  devicesOfMachine(tenant: string, site: string, machine: string): DeviceIdentity[] {
    const out: DeviceIdentity[] = [];
    for (const device of this.tenants.get(tenant)?.devices.values() ?? []) {
      if (device.identity.site === site && device.identity.machine === machine) out.push(device.identity);
    }
    return out;
  }

  private intern(key: string): string {
    const existing = this.interned.get(key);
    if (existing !== undefined) return existing;
    // Keys are built by concatenation: a rope costs more memory and renders several times
    // slower than one sequential string, which a round trip through bytes guarantees.
    const flat = Buffer.from(key, "utf8").toString("utf8");
    this.interned.set(flat, flat);
    return flat;
  }

  /** Drops interned keys no device uses any more, once they clearly outnumber the live series. */
  private compactInternTable(): void {
    if (this.interned.size <= 2 * this.totalSeries + 4096) return;
    const live = new Set<string>();
    for (const tenant of this.tenants.values()) {
      for (const device of tenant.devices.values()) for (const key of device.keys) live.add(key);
    }
    for (const key of this.interned.keys()) if (!live.has(key)) this.interned.delete(key);
  }
}

function emptyWriteResult(): WriteResult {
  return {
    stored: 0,
    olderThanStored: 0,
    tooOld: 0,
    tooFarFuture: 0,
    limitedByTenant: 0,
    limitedByDevice: 0,
  };
}

function countSamples(families: MetricFamily[]): number {
  let n = 0;
  for (const f of families) n += f.samples.length;
  return n;
}
