import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY, runCli } from "../support/cli.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort, waitForPort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";

/**
 * The whole provisioning promise: a machine added with `floorsense machine add`, its generated edge
 * config run against the simulator, its readings through Mosquitto (generated users and ACL) and the
 * bridge (generated tenants) into Prometheus (generated scrape job) — readable with the tenant's
 * token, and not with another tenant's.
 */
const BROKERS = ["mosquitto", "floorsense broker"] as const;

describe.skipIf(!needs("mosquitto", "prometheus")).each(BROKERS)(
  "a provisioned machine end to end through %s",
  { timeout: 120_000 },
  (brokerKind) => {
    const dir = mkdtempSync(join(tmpdir(), "floorsense-e2e-provisioning-"));
    const inventory = join(dir, "floorsense");
    const out = join(inventory, "generated");
    const processes: RunningProcess[] = [];
    let mosquitto: Mosquitto | undefined;
    let prometheus: Prometheus | undefined;
    let bridgeUrl = "";

    const secret = (file: string) =>
      /^FLOORSENSE_MQTT_PASSWORD=(.+)$/m.exec(readFileSync(join(out, "secrets", file), "utf8"))![1]!;
    const start = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const process = startProcess(globalThis.process.execPath, [CLI_ENTRY, ...args], { env });
      processes.push(process);
      return process;
    };
    const logs = () => processes.map((p) => p.output().slice(-3_000)).join("\n----\n");

    beforeAll(async () => {
      chmodSync(dir, 0o755);
      const [mqttPort, simulatorPort, bridgePort, exporterPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      bridgeUrl = `http://127.0.0.1:${bridgePort}`;
      mkdirSync(inventory, { recursive: true });
      writeFileSync(
        join(inventory, "settings.yaml"),
        stringify({
          mqtt_url: `mqtt://127.0.0.1:${mqttPort}`,
          bridge_scrape_address: `127.0.0.1:${bridgePort}`,
        }),
      );
      const description = join(dir, "press-07.yaml");
      writeFileSync(
        description,
        stringify({
          tenant: "acme",
          site: "plant-1",
          machine: "press-07",
          devices: [
            {
              name: "main",
              profile: "sdm630",
              transport: "tcp",
              host: "127.0.0.1",
              port: simulatorPort,
              unit_id: 1,
              poll_interval: "1s",
            },
          ],
        }),
      );
      for (const args of [
        ["tenant", "add", "acme"],
        ["tenant", "add", "globex"],
        ["machine", "add", "--from", description],
      ]) {
        const result = await runCli(args, { cwd: dir, timeoutMs: 60_000 });
        expect(result.code, result.stderr).toBe(0);
      }

      const simulator = start([
        "exporter",
        "simulate",
        "--profile",
        "sdm630",
        "--listen",
        `127.0.0.1:${simulatorPort}`,
        "--fault-rate",
        "0",
      ]);
      await waitForPort(simulatorPort, 30_000).catch((e) => {
        throw new Error(`simulator: ${String(e)}\n${simulator.output()}`);
      });
      const passwordFile = join(out, "mosquitto", "passwd");
      const aclFile = join(out, "mosquitto", "acl");
      if (brokerKind === "mosquitto")
        mosquitto = await startMosquitto({ port: mqttPort, passwordFile, aclFile });
      else {
        start([
          "broker",
          "--listen",
          `127.0.0.1:${mqttPort}`,
          "--web.listen-address",
          "127.0.0.1:0",
          "--password-file",
          passwordFile,
          "--acl-file",
          aclFile,
          "--log-level",
          "warn",
        ]);
        await waitForPort(mqttPort, 30_000);
      }
      const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;

      const tenants = (
        parse(readFileSync(join(out, "bridge", "tenants.yaml"), "utf8")) as { tenants: unknown }
      ).tenants;
      const bridgeConfig = join(dir, "bridge.yaml");
      writeFileSync(
        bridgeConfig,
        stringify({
          mqtt: { url: mqttUrl, username: "floorsense-bridge", password: secret("mqtt-bridge.txt") },
          tenants,
          web: { listen_address: `127.0.0.1:${bridgePort}` },
          log_level: "warn",
        }),
      );
      start(["bridge", "--config", bridgeConfig]);
      await waitForPort(bridgePort, 30_000).catch((e) => {
        throw new Error(`bridge: ${String(e)}\n${logs()}`);
      });

      start(
        [
          "exporter",
          "--config",
          join(out, "edge", "acme", "plant-1", "press-07.yaml"),
          "--queue.dir",
          join(dir, "queue"),
          "--web.listen-address",
          `127.0.0.1:${exporterPort}`,
          "--log.level",
          "warn",
        ],
        { FLOORSENSE_MQTT_PASSWORD: secret("acme-plant-1-press-07.txt") },
      );

      const scrape = parse(readFileSync(join(out, "prometheus", "scrape-acme.yml"), "utf8")) as {
        scrape_configs: Array<Record<string, unknown>>;
      };
      const job = scrape.scrape_configs[0]!;
      prometheus = await startPrometheus({
        config: stringify({
          global: { scrape_interval: "1s" },
          scrape_configs: [
            job,
            // The same endpoint with the other tenant's token must get nothing.
            {
              ...job,
              job_name: "acme-with-globex-token",
              authorization: {
                type: "Bearer",
                credentials_file: join(out, "secrets", "tenant-globex.token"),
              },
            },
          ],
        }),
      });
    });

    afterAll(async () => {
      await prometheus?.stop();
      await Promise.all(processes.map((p) => p.stop()));
      await mosquitto?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("the machine's series reach Prometheus with the tenant's credentials, labelled from the topic", async () => {
      const series = await eventually(
        async () => {
          const result = await prometheus!.query(
            'floorsense_meter_system_power_watts{job="floorsense-tenant-acme"}',
          );
          return result.length > 0 ? result : undefined;
        },
        90_000,
        `the machine's power in Prometheus\n${logs()}`,
      );
      expect(series.map((s) => [s.metric.tenant, s.metric.site, s.metric.machine, s.metric.device])).toEqual([
        ["acme", "plant-1", "press-07", "main"],
      ]);
    });

    it("another tenant's token reads nothing", async () => {
      await eventually(
        async () => (await prometheus!.query('up{job="acme-with-globex-token"}'))[0]?.value[1] === "0",
        30_000,
        "the scrape with the wrong token to fail",
      );
      expect(
        await prometheus!.query('{job="acme-with-globex-token",__name__=~"floorsense_meter_.*"}'),
      ).toEqual([]);
      const globex = readFileSync(join(out, "secrets", "tenant-globex.token"), "utf8").trim();
      const response = await fetch(`${bridgeUrl}/tenants/acme/metrics`, {
        headers: { authorization: `Bearer ${globex}` },
      });
      expect([401, 403]).toContain(response.status);
    });
  },
);
