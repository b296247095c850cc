import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { POWER_TARGETS, TEMPERATURE_TARGETS } from "../../dashboards/machine-detail.js";
import { loadExporterConfig } from "../../exporter/config.js";
import { loadBridgeConfig, resolveTenantCredentials } from "../../ingest-bridge/config.js";
import { loadPredictorConfig } from "../../predictor/config.js";
import { machineAdd, type ProvisioningContext, tenantAdd } from "../../provisioning/operations.js";
import { needs } from "../support/binaries.js";

/**
 * The generated files must be accepted by the services' own config loaders, not just look right:
 * each one is loaded here exactly as the service would load it.
 */

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "floorsense-alignment-"));
const out = join(dir, "floorsense", "generated");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  const ctx: ProvisioningContext = {
    inventoryDir: join(dir, "floorsense"),
    outDir: out,
    dryRun: false,
    cwd: dir,
    note: () => {},
  };
  tenantAdd(ctx, "acme");
  tenantAdd(ctx, "globex");
  machineAdd(ctx, {
    tenant: "acme",
    site: "plant-1",
    machine: "press-07",
    devices: [
      "main=sdm630@rtu:/dev/ttyUSB0:1",
      "aux=sdm72@rtu:/dev/ttyUSB0:2",
      "spindle=sdm120@tcp:10.0.0.5:502:3",
    ],
    horizons: [],
    replace: false,
  });
  machineAdd(ctx, {
    tenant: "globex",
    site: "site-a",
    machine: "oven",
    devices: ["plc=generic@rtu-over-tcp:10.1.0.9:4001:7"],
    horizons: ["30m", "2h"],
    replace: false,
  });
});

describe("generated files load with the services' own loaders", () => {
  it("the exporter loads the edge config (profiles, buses, plans)", () => {
    const config = loadExporterConfig(join(out, "edge", "acme", "plant-1", "press-07.yaml"), [], {
      FLOORSENSE_MQTT_PASSWORD: "from-the-secret-file",
    });
    expect(config.identity).toEqual({ tenant: "acme", site: "plant-1", machine: "press-07" });
    expect(config.mqtt).toMatchObject({
      username: "acme.plant-1.press-07",
      password: "from-the-secret-file",
    });
    expect(
      config.buses.map((bus) => [bus.name, bus.type, bus.resolved.map((d) => `${d.name}:${d.unit_id}`)]),
    ).toEqual([
      ["rtu-ttyusb0", "rtu", ["main:1", "aux:2"]],
      ["tcp-10-0-0-5-502", "tcp", ["spindle:3"]],
    ]);
    const oven = loadExporterConfig(join(out, "edge", "globex", "site-a", "oven.yaml"), [], {});
    expect(oven.buses.map((bus) => [bus.name, bus.type])).toEqual([
      ["rtu-over-tcp-10-1-0-9-4001", "rtu-over-tcp"],
    ]);
  });

  it("the bridge loads the tenants fragment and reads each tenant's token file", () => {
    const fragment = parse(readFileSync(join(out, "bridge", "tenants.yaml"), "utf8")) as { tenants: unknown };
    const file = join(dir, "bridge.yaml");
    writeFileSync(
      file,
      JSON.stringify({ mqtt: { url: "mqtt://127.0.0.1:1883" }, tenants: fragment.tenants }),
    );
    const config = loadBridgeConfig(file, [], {});
    expect(Object.keys(config.tenants)).toEqual(["acme", "globex"]);
    const token = readFileSync(join(out, "secrets", "tenant-acme.token"), "utf8").trim();
    expect(resolveTenantCredentials(config.tenants.acme!)).toEqual({ kind: "bearer", token });
  });

  it("the predictor loads the targets with the machine's horizons", () => {
    const targets = [
      ...(
        parse(readFileSync(join(out, "predictor", "acme-plant-1-press-07.yaml"), "utf8")) as {
          targets: unknown[];
        }
      ).targets,
      ...(
        parse(readFileSync(join(out, "predictor", "globex-site-a-oven.yaml"), "utf8")) as {
          targets: unknown[];
        }
      ).targets,
    ];
    const file = join(dir, "predictor.yaml");
    writeFileSync(file, JSON.stringify({ prometheus: { url: "http://127.0.0.1:9090" }, targets }));
    const config = loadPredictorConfig(file, [], {});
    expect(config.targets.map((t) => [t.name, t.expr, t.horizons])).toEqual([
      [
        "acme-plant-1-press-07-power",
        'tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme",site="plant-1",machine="press-07"}',
        ["15m", "1h"],
      ],
      [
        "globex-site-a-oven-power",
        'tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="globex",site="site-a",machine="oven"}',
        ["30m", "2h"],
      ],
      [
        "globex-site-a-oven-temperature",
        'floorsense_meter_temperature_celsius{tenant="globex",site="site-a",machine="oven"}',
        ["30m", "2h"],
      ],
    ]);
  });

  it("names the targets so the machine dashboard tells power from temperature", () => {
    const names = ["acme-plant-1-press-07.yaml", "globex-site-a-oven.yaml"].flatMap((file) =>
      (
        parse(readFileSync(join(out, "predictor", file), "utf8")) as { targets: Array<{ name: string }> }
      ).targets.map((t) => t.name),
    );
    const power = new RegExp(`^(?:${POWER_TARGETS})$`);
    const temperature = new RegExp(`^(?:${TEMPERATURE_TARGETS})$`);
    expect(names.map((name) => [name, power.test(name), temperature.test(name)])).toEqual([
      ["acme-plant-1-press-07-power", true, false],
      ["globex-site-a-oven-power", true, false],
      ["globex-site-a-oven-temperature", false, true],
    ]);
  });

  it.skipIf(!needs("promtool"))(
    "the power target is the machine's total from the recording rules, one series for two devices",
    () => {
      const target = (
        parse(readFileSync(join(out, "predictor", "acme-plant-1-press-07.yaml"), "utf8")) as {
          targets: Array<{ name: string; expr: string }>;
        }
      ).targets.find((t) => t.name === "acme-plant-1-press-07-power")!;
      const power = (machine: string, device: string, value: number) => ({
        series: `floorsense_meter_system_power_watts{tenant="acme",site="plant-1",machine="${machine}",device="${device}"}`,
        values: `${value}x5`,
      });
      const file = join(dir, "power-target.test.yml");
      writeFileSync(
        file,
        stringify({
          rule_files: [join(repoRoot, "prometheus", "rules", "recording.yml")],
          evaluation_interval: "1m",
          tests: [
            {
              interval: "1m",
              input_series: [
                power("press-07", "main", 1000),
                power("press-07", "spindle", 250),
                power("press-08", "main", 5000),
              ],
              promql_expr_test: [
                {
                  expr: target.expr,
                  eval_time: "2m",
                  exp_samples: [
                    {
                      labels:
                        'tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme",site="plant-1",machine="press-07"}',
                      value: 1250,
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const result = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8", timeout: 60_000 });
      expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toContain("SUCCESS");
    },
  );

  it.skipIf(!needs("promtool"))("promtool accepts the scrape job (a valid prometheus.yml on its own)", () => {
    const output = execFileSync("promtool", ["check", "config", join(out, "prometheus", "scrape-acme.yml")], {
      encoding: "utf8",
    });
    expect(output).toContain("SUCCESS");
  });

  it.skipIf(!needs("mosquitto_passwd"))(
    "mosquitto_passwd updates the generated password file without complaint",
    () => {
      const copy = join(dir, "passwd-copy");
      writeFileSync(copy, readFileSync(join(out, "mosquitto", "passwd")));
      execFileSync("mosquitto_passwd", ["-b", copy, "extra", "pw"]);
      const users = readFileSync(copy, "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split(":")[0]);
      expect(users).toEqual(["floorsense-bridge", "acme.plant-1.press-07", "globex.site-a.oven", "extra"]);
    },
  );
});
