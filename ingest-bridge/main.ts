import type { IncomingMessage, ServerResponse } from "node:http";
import { type ServiceHttp, startServiceHttp } from "../lib/http-server.js";
import { once } from "../lib/lifecycle.js";
import { createLogger, type Logger } from "../lib/logger.js";
import { parseOpenMetrics } from "../openmetrics/index.js";
import { type BridgeConfig, resolveTenantCredentials, type TenantCredentials } from "./config.js";
import { REJECT_REASONS } from "./ingest.js";
import { Liveness } from "./liveness.js";
import { MessageRouter } from "./message-router.js";
import { createBridgeMetrics, initialiseKnownSeries, remoteWriteMetrics } from "./metrics.js";
import { MqttConsumer } from "./mqtt-consumer.js";
import { RemoteWriteEndpoint } from "./remote-write.js";
import { createScrapeHandler } from "./scrape-handler.js";
import { SeriesStore } from "./series-store.js";

export interface RunningBridge {
  readonly http: ServiceHttp;
  readonly store: SeriesStore;
  /** Stops taking messages, drains what is being handed on, closes everything. Idempotent. */
  close(): Promise<void>;
}

/** How long shutdown waits for a message being handed on (remote write) before leaving it unacknowledged. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Wires config, store, liveness, remote write, MQTT and HTTP together; `floorsense bridge` calls it. */
export async function startBridge(
  config: BridgeConfig,
  logger: Logger = createLogger("bridge", config.log_level),
): Promise<RunningBridge> {
  const store = new SeriesStore({
    maxSeriesPerTenant: config.limits.max_series_per_tenant,
    maxSeriesPerDevice: config.limits.max_series_per_device,
    maxSampleAgeMs: config.limits.max_sample_age,
    maxSampleFutureMs: config.limits.max_sample_future,
  });
  const metrics = createBridgeMetrics(undefined, {
    tenants: Object.keys(config.tenants),
    count: (tenant) => store.seriesCount(tenant),
  });
  initialiseKnownSeries(metrics, {
    tenants: Object.keys(config.tenants),
    endpoints: config.remote_write.map((rw) => rw.name),
    rejectReasons: REJECT_REASONS,
  });
  const credentials = new Map<string, TenantCredentials>();
  for (const [tenant, auth] of Object.entries(config.tenants))
    credentials.set(tenant, resolveTenantCredentials(auth));
  const endpoints = config.remote_write.map(
    (rw) => new RemoteWriteEndpoint(rw, logger.child({ endpoint: rw.name }), remoteWriteMetrics(metrics)),
  );

  let router: MessageRouter | undefined;
  const liveness = new Liveness(
    {
      stalenessMultiple: config.liveness.staleness_multiple,
      defaultPollIntervalMs: config.liveness.default_poll_interval,
    },
    {
      gone: (identity, why) => router?.forget(identity, why),
      lastMessage: (identity, seconds) => {
        metrics.hot.lastMessage.set(identity, seconds);
      },
      online: (identity, online) => metrics.deviceOnline.set({ ...identity }, online ? 1 : 0),
    },
  );
  router = new MessageRouter({
    store,
    liveness,
    metrics,
    logger,
    parse: parseOpenMetrics,
    maxPayloadBytes: config.limits.max_payload_bytes,
    maxSampleFutureMs: config.limits.max_sample_future,
    tenants: new Set(credentials.keys()),
    remoteWrite: endpoints,
    now: Date.now,
  });
  const activeRouter = router;
  const consumer = new MqttConsumer({
    config: config.mqtt,
    logger,
    onMessage: (topic, payload) => activeRouter.handle(topic, payload),
    onConnection: (connected) => metrics.mqttConnected.set(connected ? 1 : 0),
  });

  const scrape = createScrapeHandler({
    store,
    credentials,
    withTimestamps: config.exposition.timestamps === "keep",
    logger,
  });
  const http = await startServiceHttp({
    listenAddress: config.web.listen_address,
    registry: metrics.registry,
    logger,
    isReady: () => {
      if (!consumer.isConnected) return { ready: false, reason: "not connected to the MQTT broker" };
      const failing = endpoints.filter((e) => e.failing).map((e) => e.name);
      if (failing.length > 0) return { ready: false, reason: `remote write failing: ${failing.join(", ")}` };
      return true;
    },
    routes: (app) => {
      app.get("/tenants/:tenant/metrics", (req, res) => {
        const tenant = String(req.params.tenant);
        scrape(tenant, req as IncomingMessage, res as ServerResponse).catch((error: unknown) => {
          logger.error({ err: error, tenant }, "rendering a tenant endpoint failed");
          if (!res.headersSent) res.status(500).send("rendering failed\n");
          else res.end();
        });
      });
    },
  });

  // Sweeps never overlap (synchronous) and never throw out of the timer.
  const sweep = setInterval(() => {
    try {
      liveness.sweep(Date.now());
    } catch (error) {
      logger.error({ err: error }, "liveness sweep failed");
    }
  }, config.liveness.sweep_interval);
  sweep.unref();

  consumer.start();
  logger.info(
    {
      mqtt: config.mqtt.url,
      subscriptions: consumer.subscriptions(),
      tenants: [...credentials.keys()],
      remoteWrite: endpoints.map((e) => e.name),
    },
    "bridge started",
  );

  return {
    http,
    store,
    close: once(async () => {
      consumer.pause();
      clearInterval(sweep);
      let timer: NodeJS.Timeout | undefined;
      // An endpoint in backoff will not accept before the deadline: leave its message to redelivery.
      const waitFor = endpoints.some((e) => e.failing) ? 0 : DRAIN_TIMEOUT_MS;
      await Promise.race([
        consumer.drained(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, waitFor);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      for (const endpoint of endpoints) endpoint.stop();
      // A broker that does not answer must not keep the process from exiting.
      await Promise.race([consumer.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await http.close();
    }),
  };
}
