import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { startAlertWebhook } from "./alert-webhook.js";
import { httpReady, type ManagedProcessSpec, ProcessSupervisor } from "./process-supervisor.js";
import {
  alertmanagerConfig,
  bridgeConfig,
  contractsRules,
  DEMO_MACHINES,
  edgeConfig,
  predictorConfig,
  prometheusConfig,
  type StackLayout,
  type StackPorts,
} from "./stack-files.js";

export interface StackOptions {
  repoRoot: string;
  dataDir: string;
  ports: StackPorts;
  interval: string;
  /** external: a broker the caller runs (tests that stop and restart it) on ports.mqtt. */
  broker: "embedded" | "mosquitto" | "external";
  withPredictor: boolean;
  contractedPeakWatts: number;
  webhookUrl?: string;
  remoteWriteUrl?: string;
  extraPredictorTargets?: StackLayout["extraPredictorTargets"];
  exporterLogLevel?: StackLayout["exporterLogLevel"];
  exporterQueueMaxAge?: StackLayout["exporterQueueMaxAge"];
  bridgeMaxSeriesPerDevice?: StackLayout["bridgeMaxSeriesPerDevice"];
  /** Share of simulated reads answered "busy"; unset keeps the simulator's default. */
  simulatorFaultRate?: number;
  /** Absolute paths of the programs from the distribution, found by the caller. */
  binaries: { prometheus: string; alertmanager?: string; mosquitto?: string };
  write: (line: string) => void;
}

export interface RunningStack {
  layout: StackLayout;
  supervisor: ProcessSupervisor;
  urls: Record<string, string>;
  stop(): Promise<void>;
}

function portOpen(port: number): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
}

function tenantToken(dataDir: string): string {
  // Kept across runs so a Prometheus restarted on the same data keeps scraping.
  const file = join(dataDir, "tenant.token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = randomBytes(24).toString("base64url");
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Starts the whole local stack in dependency order and returns once everything is ready. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { dataDir, ports } = options;
  mkdirSync(dataDir, { recursive: true });
  const layout: StackLayout = {
    repoRoot: options.repoRoot,
    dataDir,
    ports,
    interval: options.interval,
    tenant: "demo",
    tenantToken: tenantToken(dataDir),
    contractedPeakWatts: options.contractedPeakWatts,
    webhookUrl: options.webhookUrl,
    remoteWriteUrl: options.remoteWriteUrl,
    extraPredictorTargets: options.extraPredictorTargets,
    exporterLogLevel: options.exporterLogLevel,
    exporterQueueMaxAge: options.exporterQueueMaxAge,
    bridgeMaxSeriesPerDevice: options.bridgeMaxSeriesPerDevice,
  };
  const file = (name: string, content: string) => {
    const path = join(dataDir, name);
    writeFileSync(path, content);
    return path;
  };
  const withAlertmanager = options.binaries.alertmanager !== undefined;
  const bridgeFile = file("bridge.yaml", bridgeConfig(layout));
  const predictorFile = file("predictor.yaml", predictorConfig(layout));
  const prometheusFile = file(
    "prometheus.yml",
    prometheusConfig(layout, {
      alertmanager: withAlertmanager,
      predictor: options.withPredictor,
      embeddedBroker: options.broker === "embedded",
    }),
  );
  file("contracts.yml", contractsRules(layout));
  const edgeFiles = DEMO_MACHINES.map((m, i) => file(`edge-${m.machine}.yaml`, edgeConfig(layout, i)));

  const floorsense = (args: string[]) => ({
    command: process.execPath,
    args: [join(options.repoRoot, "bin", "floorsense.js"), ...args],
    cwd: dataDir,
  });
  const supervisor = new ProcessSupervisor({ write: options.write });
  const specs: ManagedProcessSpec[] = [];

  if (options.broker === "mosquitto") {
    if (!options.binaries.mosquitto)
      throw new Error("--broker mosquitto needs mosquitto (apt-get install -y mosquitto)");
    const conf = file(
      "mosquitto.conf",
      `listener ${ports.mqtt} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type error\nlog_type warning\n`,
    );
    specs.push({
      name: "mosquitto",
      command: options.binaries.mosquitto,
      args: ["-c", conf],
      ready: portOpen(ports.mqtt),
    });
  } else if (options.broker === "embedded") {
    specs.push({
      name: "broker",
      ...floorsense([
        "broker",
        `--listen=127.0.0.1:${ports.mqtt}`,
        `--web-listen-address=127.0.0.1:${ports.brokerWeb}`,
      ]),
      ready: portOpen(ports.mqtt),
    });
  }
  DEMO_MACHINES.forEach((m, i) => {
    specs.push({
      name: `sim-${m.machine}`,
      ...floorsense([
        "exporter",
        "simulate",
        "--profile=sdm630",
        `--listen=127.0.0.1:${ports.simulators[i]}`,
        `--seed=${m.seed}`,
        ...(options.simulatorFaultRate === undefined ? [] : [`--fault-rate=${options.simulatorFaultRate}`]),
      ]),
      ready: portOpen(ports.simulators[i]!),
    });
  });
  specs.push({
    name: "bridge",
    ...floorsense(["bridge", `--config=${bridgeFile}`]),
    ready: httpReady(`http://127.0.0.1:${ports.bridge}/readyz`),
  });
  DEMO_MACHINES.forEach((m, i) => {
    specs.push({
      name: `exp-${m.machine}`,
      ...floorsense(["exporter", `--config=${edgeFiles[i]}`]),
      ready: httpReady(`http://127.0.0.1:${ports.exporters[i]}/healthz`),
    });
  });
  specs.push({
    name: "prometheus",
    command: options.binaries.prometheus,
    args: [
      `--config.file=${prometheusFile}`,
      `--storage.tsdb.path=${join(dataDir, "prometheus")}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      "--web.enable-lifecycle",
      "--web.enable-remote-write-receiver",
      // After a reload (a changed contract, say) Prometheus rediscovers Alertmanager and drops
      // what fires meanwhile until the next resend, 1m by default; a local stack resends sooner.
      "--rules.alert.resend-delay=10s",
      "--log.level=warn",
    ],
    cwd: dataDir,
    ready: httpReady(`http://127.0.0.1:${ports.prometheus}/-/ready`),
  });
  let webhook: { close(): Promise<void> } | undefined;
  if (withAlertmanager && !options.webhookUrl)
    webhook = await startAlertWebhook(ports.webhook, options.write);
  if (withAlertmanager) {
    const amFile = file("alertmanager.yml", alertmanagerConfig(layout));
    specs.push({
      name: "alertmanager",
      command: options.binaries.alertmanager!,
      args: [
        `--config.file=${amFile}`,
        `--storage.path=${join(dataDir, "alertmanager")}`,
        `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
      cwd: dataDir,
      ready: httpReady(`http://127.0.0.1:${ports.alertmanager}/-/ready`),
    });
  }
  if (options.withPredictor) {
    specs.push({
      name: "predictor",
      ...floorsense(["predictor", `--config=${predictorFile}`]),
      ready: httpReady(`http://127.0.0.1:${ports.predictor}/healthz`),
      readyTimeoutMs: 60_000,
    });
  }

  try {
    for (const spec of specs) await supervisor.start(spec);
  } catch (error) {
    await supervisor.stop();
    await webhook?.close();
    throw error;
  }
  const urls: Record<string, string> = {
    "Prometheus UI": `http://127.0.0.1:${ports.prometheus}`,
    "bridge (own metrics)": `http://127.0.0.1:${ports.bridge}/metrics`,
    "bridge (tenant demo)": `http://127.0.0.1:${ports.bridge}/tenants/demo/metrics  (Authorization: Bearer $(cat ${join(dataDir, "tenant.token")}))`,
    exporters: ports.exporters.map((p) => `http://127.0.0.1:${p}/metrics`).join("  "),
    MQTT: `mqtt://127.0.0.1:${ports.mqtt}`,
  };
  if (options.withPredictor) urls.predictor = `http://127.0.0.1:${ports.predictor}/metrics`;
  if (withAlertmanager) urls.Alertmanager = `http://127.0.0.1:${ports.alertmanager}`;
  return {
    layout,
    supervisor,
    urls,
    stop: async () => {
      await supervisor.stop();
      await webhook?.close();
    },
  };
}
