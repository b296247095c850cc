import type { Logger } from "../lib/logger.js";
import type { Clock } from "./clock.js";
import type { DeviceReading } from "./device-reader.js";

/** What the bus queue needs of a device: a name, a unit id to notice slave switches, and a read. */
export interface PolledDevice {
  readonly name: string;
  readonly unitId: number;
  readonly intervalMs: number;
  read(): Promise<DeviceReading>;
}

export interface BusQueueOptions {
  name: string;
  devices: PolledDevice[];
  /** Quiet time after changing to another slave address: some meters need it on RS485. */
  switchPauseMs: number;
  clock: Clock;
  logger: Logger;
  onReading: (reading: DeviceReading) => Promise<void> | void;
}

/**
 * The one owner of a bus. Devices are polled one after another, earliest due first (config order
 * breaks ties), so two polls never share the line; a device that is late is polled as soon as the
 * bus is free and its missed ticks are skipped rather than bunched up.
 */
export class BusQueue {
  private readonly due: number[];
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private lastUnit: number | undefined;

  constructor(private readonly options: BusQueueOptions) {
    const start = options.clock.now();
    this.due = options.devices.map(() => start);
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      this.options.logger.error({ err: error, bus: this.options.name }, "bus loop failed");
    });
  }

  /** Lets the poll under way finish (its cycle is delivered), then stops. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { clock, devices, logger } = this.options;
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      let next = 0;
      for (let i = 1; i < devices.length; i++) if (this.due[i]! < this.due[next]!) next = i;
      const wait = this.due[next]! - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
      if (signal.aborted) break;
      const device = devices[next]!;
      if (this.lastUnit !== undefined && this.lastUnit !== device.unitId && this.options.switchPauseMs > 0) {
        await clock.sleep(this.options.switchPauseMs);
      }
      this.lastUnit = device.unitId;
      let reading: DeviceReading | undefined;
      try {
        reading = await device.read();
      } catch (error) {
        logger.error({ err: error, bus: this.options.name, device: device.name }, "device poll failed");
      }
      const now = clock.now();
      this.due[next] = Math.max(this.due[next]! + device.intervalMs, now);
      if (reading) {
        try {
          await this.options.onReading(reading);
        } catch (error) {
          logger.error(
            { err: error, bus: this.options.name, device: device.name },
            "handling a cycle failed",
          );
        }
      }
    }
  }
}
