import { createHash } from "node:crypto";
import type { ConfigOverride } from "../lib/config-loader.js";
import { type ServiceHttp, startServiceHttp } from "../lib/http-server.js";
import { exitOnSignals, once } from "../lib/lifecycle.js";
import { createLogger, type Logger, type LogLevel } from "../lib/logger.js";
import { serializeOpenMetrics } from "../openmetrics/index.js";
import { BusQueue } from "./bus-queue.js";
import { systemClock } from "./clock.js";
import { loadExporterConfig } from "./config.js";
import { buildCycle, emptyErrorTotals } from "./cycle-builder.js";
import { DeviceReader, type DeviceReading } from "./device-reader.js";
import { createExporterMetrics } from "./metrics.js";
import { createModbusTransport, type ModbusTransport } from "./modbus-transport.js";
import { MqttPublisher, readingsTopic } from "./mqtt-publisher.js";
import { StoreAndForward } from "./store-and-forward.js";

export interface ExporterRunOptions {
  configFile: string;
  overrides?: ConfigOverride[];
  /** Exit on SIGTERM/SIGINT (the CLI); tests call `close` instead. */
  handleSignals?: boolean;
  logger?: Logger;
}

export interface RunningExporter {
  readonly http: ServiceHttp;
  close(): Promise<void>;
}

/** How long a shutdown waits for the broker to take what is queued; the rest stays on disk. */
const FLUSH_MS = 5_000;

export async function runExporter(options: ExporterRunOptions): Promise<RunningExporter> {
  const config = loadExporterConfig(options.configFile, options.overrides ?? []);
  const logger = options.logger ?? createLogger("exporter", config.log_level as LogLevel);
  const metrics = createExporterMetrics();

  const queue = StoreAndForward.open({
    dir: config.queue.dir,
    maxBytes: config.queue.max_bytes,
    maxAgeMs: config.queue.max_age,
    segmentBytes: config.queue.segment_bytes,
    onDrop: (count, reason, detail) => {
      metrics.droppedCycles.inc({ reason }, count);
      logger.warn({ dropped: count, reason, detail }, "queue dropped cycles");
    },
  });
  const { recovered, discardedBytes } = queue.openReport;
  logger.info({ dir: config.queue.dir, waiting: recovered, discardedBytes }, "queue opened");

  const publisher = new MqttPublisher({
    mqtt: config.mqtt,
    identity: config.identity,
    queue,
    replayRate: config.queue.replay_rate,
    metrics,
    logger,
  });
  publisher.updateDepth();

  const transports: ModbusTransport[] = [];
  const buses = config.buses.map((bus) => {
    const transport = createModbusTransport(bus);
    transports.push(transport);
    const devices = bus.resolved.map((device) => {
      const reader = new DeviceReader({
        name: device.name,
        unitId: device.unit_id,
        profile: device.profileDef,
        limits: device.limits,
        timeoutMs: device.timeout,
        retries: device.retries,
        interRequestPauseMs: bus.inter_request_pause,
        transport,
        clock: systemClock,
        logger,
      });
      return Object.assign(reader, { intervalMs: device.poll_interval });
    });
    const byName = new Map(bus.resolved.map((device) => [device.name, device]));
    const errorTotals = new Map(bus.resolved.map((device) => [device.name, emptyErrorTotals()]));
    const lastState = new Map<string, string>();
    const onReading = (reading: DeviceReading) => {
      const device = byName.get(reading.device)!;
      const families = buildCycle(reading, device.profileDef, device.labels, errorTotals.get(device.name)!);
      const topic = readingsTopic(config.identity, device.name);
      const payload = Buffer.from(serializeOpenMetrics(families), "utf8");
      const cycle = queue.append(topic, payload);
      // Samples and a hash of the exact bytes let a receiver prove it got every cycle unchanged;
      // the hash is only worth its time when someone reads the debug log.
      if (logger.isLevelEnabled("debug"))
        logger.debug(
          {
            device: device.name,
            seq: cycle.seq,
            timestamp: reading.startedAtMs / 1000,
            values: reading.values.length,
            samples: families.reduce((n, family) => n + family.samples.length, 0),
            sha1: createHash("sha1").update(payload).digest("hex"),
          },
          "cycle queued",
        );
      const result = !reading.up ? "failed" : reading.errors.length > 0 ? "partial" : "ok";
      metrics.pollCycles.inc({ device: device.name, result });
      // A device going down or coming back is news; the same failure every cycle is not.
      const state = reading.up ? "up" : `down: ${reading.errors[0]?.kind} ${reading.errors[0]?.message}`;
      if (state !== lastState.get(device.name)) {
        if (reading.up) logger.info({ bus: bus.name, device: device.name }, "device answering");
        else
          logger.warn(
            { bus: bus.name, device: device.name, error: reading.errors[0] },
            "device not answering",
          );
        lastState.set(device.name, state);
      }
      publisher.updateDepth();
      publisher.notify();
    };
    return new BusQueue({
      name: bus.name,
      devices,
      switchPauseMs: bus.switch_pause,
      clock: systemClock,
      logger,
      onReading,
    });
  });

  // Every device's series exist from the start, so rate() sees the first failure.
  for (const device of config.buses.flatMap((b) => b.resolved)) {
    for (const result of ["ok", "partial", "failed"])
      metrics.pollCycles.inc({ device: device.name, result }, 0);
  }
  for (const bus of buses) bus.start();
  publisher.start();

  const http = await startServiceHttp({
    listenAddress: config.web.listen_address,
    registry: metrics.registry,
    logger,
    isReady: () =>
      publisher.isConnected
        ? { ready: true }
        : { ready: true, reason: "broker unreachable, cycles are kept in the queue" },
  });
  logger.info(
    {
      buses: buses.length,
      devices: config.buses.reduce((n, b) => n + b.resolved.length, 0),
      address: http.address,
    },
    "exporter started",
  );

  const close = once(async () => {
    // Finish the cycle under way on every bus, so nothing read is thrown away.
    await Promise.all(buses.map((bus) => bus.stop()));
    await publisher.stop(FLUSH_MS);
    await Promise.all(transports.map((t) => t.close().catch(() => {})));
    queue.close();
    await http.close();
  });
  if (options.handleSignals) exitOnSignals(logger, close);
  return { http, close };
}
