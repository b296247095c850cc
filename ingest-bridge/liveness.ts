import { type DeviceIdentity, deviceKey, machineKey } from "./topic.js";

export interface LivenessOptions {
  stalenessMultiple: number;
  defaultPollIntervalMs: number;
}

export interface LivenessEvents {
  /** The device's series must go: its machine said `offline`, or it has been silent too long. */
  gone(identity: DeviceIdentity, why: "offline" | "silent"): void;
  /** Gauges: last message time (seconds) and whether the machine's status says online. The identity
   * object is the same for every call about one device, so callers may cache per object. */
  lastMessage(identity: DeviceIdentity, seconds: number): void;
  online(identity: DeviceIdentity, online: boolean): void;
}

interface DeviceState {
  identity: DeviceIdentity;
  lastMessageMs: number;
  /** Newest acquisition time seen (seconds), the clock the poll interval is measured on. */
  lastAcquisition: number;
  intervalMs: number;
  /** Series present in the store (false after offline or silence, until the next message). */
  present: boolean;
}

/**
 * Tells when a device's series must disappear: the machine's retained `status` topic says
 * `offline` (the exporter's last will), or the device has sent nothing for `stalenessMultiple`
 * of its own poll interval (measured between acquisition times, so a replayed backlog does not
 * shrink it). `device_online` follows the status topic only, so alert rules can tell a silent
 * device (online, old last message) from a dead one (offline) and from a bridge that lost the
 * broker (`floorsense_bridge_mqtt_connected` 0).
 */
export class Liveness {
  private readonly devices = new Map<string, DeviceState>();
  private readonly stateOf = new WeakMap<DeviceIdentity, DeviceState>();
  /** tenant/site/machine → online, from the status topic. */
  private readonly machines = new Map<string, boolean>();

  constructor(
    private readonly options: LivenessOptions,
    private readonly events: LivenessEvents,
  ) {}

  private machineOnline(identity: DeviceIdentity): boolean {
    return this.machines.get(`${identity.tenant}/${machineKey(identity.site, identity.machine)}`) ?? true;
  }

  /** A readings message arrived; `acquisition` is its newest sample timestamp (seconds) or NaN. */
  message(identity: DeviceIdentity, nowMs: number, acquisition: number): void {
    // The router hands the same identity object for every message of a topic, and states are never
    // removed: look the key string up once per identity object, not once per message.
    let state = this.stateOf.get(identity);
    if (state === undefined) {
      const key = `${identity.tenant}/${deviceKey(identity)}`;
      state = this.devices.get(key);
      if (state) this.stateOf.set(identity, state);
    }
    if (!state) {
      const key = `${identity.tenant}/${deviceKey(identity)}`;
      state = {
        identity,
        lastMessageMs: nowMs,
        lastAcquisition: Number.NaN,
        intervalMs: this.options.defaultPollIntervalMs,
        present: true,
      };
      this.devices.set(key, state);
      this.stateOf.set(identity, state);
      this.events.online(identity, this.machineOnline(identity));
    }
    const clock = !Number.isNaN(acquisition) ? acquisition * 1000 : nowMs;
    const previous = !Number.isNaN(state.lastAcquisition) ? state.lastAcquisition * 1000 : Number.NaN;
    if (!Number.isNaN(previous) && clock > previous) state.intervalMs = clock - previous;
    if (!(clock <= previous)) state.lastAcquisition = clock / 1000;
    state.lastMessageMs = nowMs;
    state.present = true;
    this.events.lastMessage(state.identity, nowMs / 1000);
  }

  status(tenant: string, site: string, machine: string, online: boolean): void {
    this.machines.set(`${tenant}/${machineKey(site, machine)}`, online);
    for (const state of this.devices.values()) {
      const { identity } = state;
      if (identity.tenant !== tenant || identity.site !== site || identity.machine !== machine) {
        continue;
      }
      this.events.online(identity, online);
      if (!online && state.present) {
        state.present = false;
        this.events.gone(identity, "offline");
      }
    }
  }

  /** Called on a timer: devices quiet for longer than their staleness window lose their series. */
  sweep(nowMs: number): void {
    for (const state of this.devices.values()) {
      if (state.present && nowMs - state.lastMessageMs > this.options.stalenessMultiple * state.intervalMs) {
        state.present = false;
        this.events.gone(state.identity, "silent");
      }
    }
  }

  /** The poll interval observed for a device, for tests and logs. */
  intervalOf(identity: DeviceIdentity): number | undefined {
    return this.devices.get(`${identity.tenant}/${deviceKey(identity)}`)?.intervalMs;
  }
}
