import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dashboardExpressions } from "../../dashboards/expressions.js";
import { machineDashboard } from "../../dashboards/machine-detail.js";
import { renderDashboardJson } from "../../dashboards/render.js";
import { parsePasswordFile, verifyPassword } from "../../lib/mosquitto-password-file.js";
import { machineAdd, type ProvisioningContext, tenantAdd } from "../../provisioning/operations.js";
import { runCli } from "../support/cli.js";

const root = mkdtempSync(join(tmpdir(), "floorsense-provisioning-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dir: string;
let counter = 0;
// Each test gets a fresh folder, so inventories never leak between tests.
beforeEach(() => {
  dir = join(root, String(counter++));
  mkdirSync(dir, { recursive: true });
});

const fs = (...parts: string[]) => join(dir, "floorsense", ...parts);
const gen = (...parts: string[]) => fs("generated", ...parts);
const cli = (...args: string[]) => runCli(args, { cwd: dir });

const PRESS_07 = [
  "machine",
  "add",
  "--tenant",
  "acme",
  "--site",
  "plant-1",
  "--machine",
  "press-07",
  "--device",
  "main=sdm630@rtu:/dev/ttyUSB0:1",
  "--device",
  "spindle=sdm120@tcp:10.0.0.5:502:3",
];

/**
 * Setup steps run in-process (the same code the CLI runs); only the command under test is spawned,
 * which keeps this suite affordable on a shared machine.
 */
function setup(): ProvisioningContext {
  return {
    inventoryDir: fs(),
    outDir: gen(),
    dryRun: false,
    cwd: dir,
    note: () => {},
    machineDashboard: (m) =>
      renderDashboardJson(machineDashboard(m, { temperatureForecast: m.temperatureForecast })),
  };
}

function addPress07(): void {
  machineAdd(setup(), {
    tenant: "acme",
    site: "plant-1",
    machine: "press-07",
    devices: ["main=sdm630@rtu:/dev/ttyUSB0:1", "spindle=sdm120@tcp:10.0.0.5:502:3"],
    horizons: [],
    replace: false,
  });
}

/** The queries of a written dashboard's forecast panels, as `<panel> <refId>: <expr>`. */
function forecastQueries(file: string): string[] {
  return dashboardExpressions(JSON.parse(readFileSync(file, "utf8")))
    .filter((e) => e.panel.endsWith("with forecast band"))
    .map((e) => `${e.panel} ${e.refId}: ${e.expr}`);
}

/** Every file under the folder with its content, to prove a command wrote nothing. */
function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[path.slice(folder.length)] = readFileSync(path, "utf8");
    }
  };
  walk(folder);
  return out;
}

function secretPassword(file: string): string {
  return /^FLOORSENSE_MQTT_PASSWORD=(.+)$/m.exec(readFileSync(file, "utf8"))![1]!;
}

describe("floorsense tenant add", { timeout: 120_000 }, () => {
  it("creates the tenant, its scrape token (0600), the bridge tenant entry and the scrape job", async () => {
    const result = await cli("tenant", "add", "acme");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(
      [
        "created floorsense/generated/bridge/tenants.yaml",
        "created floorsense/generated/mosquitto/acl",
        "created floorsense/generated/mosquitto/passwd",
        "created floorsense/generated/prometheus/scrape-acme.yml",
        "created floorsense/generated/secrets/.gitignore",
        "created floorsense/generated/secrets/mqtt-bridge.txt (secret, mode 0600)",
        "created floorsense/generated/secrets/tenant-acme.token (secret, mode 0600)",
        "created floorsense/settings.yaml",
        "created floorsense/tenants/acme.yaml",
        "",
        "tenant acme: scrape token in floorsense/generated/secrets/tenant-acme.token (mode 0600, not printed)",
        "next: merge bridge/tenants.yaml into the bridge config and the job in prometheus/scrape-acme.yml into prometheus.yml, then reload both",
        "",
      ].join("\n"),
    );
    const token = readFileSync(gen("secrets", "tenant-acme.token"), "utf8");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(statSync(gen("secrets", "tenant-acme.token")).mode & 0o777).toBe(0o600);
    expect(statSync(gen("secrets", "mqtt-bridge.txt")).mode & 0o777).toBe(0o600);
    expect(result.stdout).not.toContain(token.trim());
    expect(readFileSync(gen("prometheus", "scrape-acme.yml"), "utf8")).toContain(
      [
        "scrape_configs:",
        "  - job_name: floorsense-tenant-acme",
        "    metrics_path: /tenants/acme/metrics",
        "    honor_labels: true",
        "    authorization:",
        "      type: Bearer",
        `      credentials_file: ${gen("secrets")}/tenant-acme.token`,
        "    static_configs:",
        "      - targets:",
        "          - localhost:9465",
      ].join("\n"),
    );
    expect(readFileSync(gen("bridge", "tenants.yaml"), "utf8")).toContain(
      `tenants:\n  acme:\n    bearer_token_file: ${gen("secrets")}/tenant-acme.token\n`,
    );
  });

  it("writes upper case names in lower case and says so", async () => {
    const result = await cli("tenant", "add", "ACME");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('note: tenant "ACME" is written as "acme" (names are lower case)\n');
    expect(readFileSync(fs("tenants", "acme.yaml"), "utf8")).toContain("tenant: acme\ndisplay_name: ACME\n");
  });

  it.each([
    "a/b",
    "a+b",
    "a#b",
    "a b",
    "_acme",
    "a.b",
    "tab\tname",
    "x".repeat(64),
    "",
  ])("refuses the name %j with what is allowed", async (name) => {
    const result = await cli("tenant", "add", name);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `floorsense: invalid tenant name ${JSON.stringify(name)}: use lower case letters, digits, "-" and "_", ` +
        'starting with a letter or digit, at most 63 characters (no spaces, "/", "+", "#", "." or control characters)\n',
    );
    expect(existsSync(fs())).toBe(false);
  });

  it("re-running changes nothing", async () => {
    await cli("tenant", "add", "acme");
    const before = snapshot(dir);
    const again = await cli("tenant", "add", "acme");
    expect(again).toEqual({ code: 0, stdout: "no changes\n", stderr: "" });
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("floorsense machine add", { timeout: 120_000 }, () => {
  it("generates every output from one description, and re-running changes nothing", async () => {
    tenantAdd(setup(), "acme");
    const bridgeSecret = readFileSync(gen("secrets", "mqtt-bridge.txt"), "utf8");
    const result = await cli(...PRESS_07);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "created floorsense/generated/dashboards/acme-plant-1-press-07.json",
        "created floorsense/generated/edge/acme/plant-1/press-07.yaml",
        "updated floorsense/generated/mosquitto/acl",
        "updated floorsense/generated/mosquitto/passwd",
        "created floorsense/generated/predictor/acme-plant-1-press-07.yaml",
        "created floorsense/generated/secrets/acme-plant-1-press-07.txt (secret, mode 0600)",
        "created floorsense/machines/acme/plant-1/press-07.yaml",
        "",
        "machine acme/plant-1/press-07: MQTT user acme.plant-1.press-07, may publish only under floorsense/v1/acme/plant-1/press-07/#",
        "its password is in floorsense/generated/secrets/acme-plant-1-press-07.txt (mode 0600, written once, not printed)",
        "next: copy the edge config and the secret file to the edge box; reload the broker (SIGHUP) so it reads the new password and ACL files; add the predictor targets; reload Prometheus",
        "",
      ].join("\n"),
    );
    const password = secretPassword(gen("secrets", "acme-plant-1-press-07.txt"));
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.stdout).not.toContain(password);
    expect(statSync(gen("secrets", "acme-plant-1-press-07.txt")).mode & 0o777).toBe(0o600);
    // The bridge's secret is kept, not regenerated.
    expect(readFileSync(gen("secrets", "mqtt-bridge.txt"), "utf8")).toBe(bridgeSecret);

    const passwd = parsePasswordFile(readFileSync(gen("mosquitto", "passwd"), "utf8"));
    expect(passwd.warnings).toEqual([]);
    expect([...passwd.entries.keys()]).toEqual(["floorsense-bridge", "acme.plant-1.press-07"]);
    expect(verifyPassword(password, passwd.entries.get("acme.plant-1.press-07")!.hash)).toBe(true);
    expect(passwd.entries.get("acme.plant-1.press-07")!.encoded).toMatch(/^\$7\$101\$/);

    expect(readFileSync(gen("mosquitto", "acl"), "utf8")).toContain(
      [
        "# the ingest bridge",
        "user floorsense-bridge",
        "topic read floorsense/v1/#",
        "",
        "# machine acme/plant-1/press-07",
        "user acme.plant-1.press-07",
        "topic write floorsense/v1/acme/plant-1/press-07/#",
        "",
      ].join("\n"),
    );
    expect(readFileSync(gen("edge", "acme", "plant-1", "press-07.yaml"), "utf8")).toContain(
      [
        "identity:",
        "  tenant: acme",
        "  site: plant-1",
        "  machine: press-07",
        "mqtt:",
        "  url: mqtt://localhost:1883",
        "  username: acme.plant-1.press-07",
        "buses:",
        "  - name: rtu-ttyusb0",
        "    type: rtu",
        "    device: /dev/ttyUSB0",
        "    devices:",
        "      - name: main",
        "        unit_id: 1",
        "        profile: sdm630",
        "  - name: tcp-10-0-0-5-502",
        "    type: tcp",
        "    host: 10.0.0.5",
        "    port: 502",
        "    devices:",
        "      - name: spindle",
        "        unit_id: 3",
        "        profile: sdm120",
        "",
      ].join("\n"),
    );
    expect(readFileSync(gen("edge", "acme", "plant-1", "press-07.yaml"), "utf8")).not.toContain(password);
    expect(readFileSync(gen("predictor", "acme-plant-1-press-07.yaml"), "utf8")).toContain(
      [
        "targets:",
        "  - name: acme-plant-1-press-07-power",
        '    expr: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme",site="plant-1",machine="press-07"}',
        "    horizons:",
        "      - 15m",
        "      - 1h",
        "",
      ].join("\n"),
    );

    // The dashboard is the stack's machine dashboard, built for this machine.
    expect(readFileSync(gen("dashboards", "acme-plant-1-press-07.json"), "utf8")).toBe(
      renderDashboardJson(machineDashboard({ tenant: "acme", site: "plant-1", machine: "press-07" })),
    );
    // Its meters measure no temperature: only power forecasts, and only those of power targets.
    expect(forecastQueries(gen("dashboards", "acme-plant-1-press-07.json"))).toEqual([
      'Power with forecast band A: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme", site="plant-1", machine="press-07"}',
      'Power with forecast band B: floorsense_forecast{tenant="acme", site="plant-1", machine="press-07", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band C: floorsense_forecast_lower{tenant="acme", site="plant-1", machine="press-07", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band D: floorsense_forecast_upper{tenant="acme", site="plant-1", machine="press-07", target=~"(.*[-_])?power", horizon="$horizon"}',
    ]);

    const before = snapshot(dir);
    const again = await cli(...PRESS_07);
    expect(again).toEqual({ code: 0, stdout: "no changes\n", stderr: "" });
    expect(snapshot(dir)).toEqual(before);
  });

  it("adds a temperature target with the configured horizons when a profile measures temperature", async () => {
    tenantAdd(setup(), "acme");
    const addOven = [
      "machine",
      "add",
      "--tenant",
      "acme",
      "--site",
      "p",
      "--machine",
      "oven",
      "--device",
      "plc=generic@tcp:10.0.0.9:502:1",
      "--horizon",
      "30m",
      "--horizon",
      "2h",
    ];
    const result = await cli(...addOven);
    expect(result.code).toBe(0);
    expect(readFileSync(gen("predictor", "acme-p-oven.yaml"), "utf8")).toContain(
      [
        "targets:",
        "  - name: acme-p-oven-power",
        '    expr: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme",site="p",machine="oven"}',
        "    horizons:",
        "      - 30m",
        "      - 2h",
        "  - name: acme-p-oven-temperature",
        '    expr: floorsense_meter_temperature_celsius{tenant="acme",site="p",machine="oven"}',
        "    horizons:",
        "      - 30m",
        "      - 2h",
        "",
      ].join("\n"),
    );
    // The dashboard keeps watts and degrees apart: each panel selects its targets by name.
    expect(forecastQueries(gen("dashboards", "acme-p-oven.json"))).toEqual([
      'Power with forecast band A: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="acme", site="p", machine="oven"}',
      'Power with forecast band B: floorsense_forecast{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band C: floorsense_forecast_lower{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band D: floorsense_forecast_upper{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Temperature with forecast band A: floorsense_meter_temperature_celsius{tenant="acme", site="p", machine="oven", device=~"$device"}',
      'Temperature with forecast band B: floorsense_forecast{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?temperature", horizon="$horizon"}',
      'Temperature with forecast band C: floorsense_forecast_lower{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?temperature", horizon="$horizon"}',
      'Temperature with forecast band D: floorsense_forecast_upper{tenant="acme", site="p", machine="oven", target=~"(.*[-_])?temperature", horizon="$horizon"}',
    ]);
    // Re-running builds the same dashboard: the temperature panel is part of the description.
    const again = await cli(...addOven);
    expect(again).toEqual({ code: 0, stdout: "no changes\n", stderr: "" });
  });

  it("--dry-run prints a unified diff, hides secrets and hashes, and writes nothing", async () => {
    tenantAdd(setup(), "acme");
    const before = snapshot(dir);
    const result = await cli(...PRESS_07, "--dry-run");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(snapshot(dir)).toEqual(before);
    expect(result.stdout).toContain(
      [
        "--- a/floorsense/generated/mosquitto/acl",
        "+++ b/floorsense/generated/mosquitto/acl",
        "@@ -6,3 +6,7 @@",
        " # the ingest bridge",
        " user floorsense-bridge",
        " topic read floorsense/v1/#",
        "+",
        "+# machine acme/plant-1/press-07",
        "+user acme.plant-1.press-07",
        "+topic write floorsense/v1/acme/plant-1/press-07/#",
        "--- a/floorsense/generated/mosquitto/passwd",
        "+++ b/floorsense/generated/mosquitto/passwd",
        "@@ -1 +1,2 @@",
        " floorsense-bridge:<password hash>",
        "+acme.plant-1.press-07:<password hash>",
      ].join("\n"),
    );
    expect(result.stdout).toContain(
      [
        "--- /dev/null",
        "+++ b/floorsense/generated/secrets/acme-plant-1-press-07.txt",
        "@@ secret: new, content not shown (mode 0600) @@",
      ].join("\n"),
    );
    expect(result.stdout).toContain(
      "+++ b/floorsense/machines/acme/plant-1/press-07.yaml\n@@ -0,0 +1,19 @@\n",
    );
    expect(result.stdout).not.toContain("$7$");
    expect(result.stdout).not.toContain("FLOORSENSE_MQTT_PASSWORD=");
    expect(result.stdout.endsWith("dry run: 7 file(s) would change, nothing written\n")).toBe(true);

    addPress07();
    expect(await cli(...PRESS_07, "--dry-run")).toEqual({ code: 0, stdout: "no changes\n", stderr: "" });
  });

  it("accepts the same machine described in a file (--from), as a no-op when nothing differs", async () => {
    tenantAdd(setup(), "acme");
    addPress07();
    const described = join(dir, "press-07.yaml");
    writeFileSync(
      described,
      [
        "tenant: acme",
        "site: plant-1",
        "machine: press-07",
        "devices:",
        "  - { name: main, profile: sdm630, transport: rtu, port: /dev/ttyUSB0, unit_id: 1 }",
        "  - { name: spindle, profile: sdm120, transport: tcp, host: 10.0.0.5, port: 502, unit_id: 3 }",
        "",
      ].join("\n"),
    );
    expect(await cli("machine", "add", "--from", described)).toEqual({
      code: 0,
      stdout: "no changes\n",
      stderr: "",
    });
  });

  const invalid: Array<[string, string[], string]> = [
    [
      "an unknown profile",
      ["--device", "main=sdm999@rtu:/dev/ttyUSB0:1"],
      'floorsense: device "main": unknown profile "sdm999"; known profiles: generic, janitza-b23, sdm120, sdm220, sdm630, sdm72 (add a profile YAML to exporter/profiles/ or a folder listed in profile_dirs)\n',
    ],
    [
      "a device listed twice",
      ["--device", "main=sdm630@rtu:/dev/ttyUSB0:1", "--device", "main=sdm120@rtu:/dev/ttyUSB0:2"],
      'floorsense: device "main" is listed twice: give each device its own name\n',
    ],
    [
      "two devices with one unit id on one RS485 bus",
      ["--device", "main=sdm630@rtu:/dev/ttyUSB0:1", "--device", "aux=sdm120@rtu:/dev/ttyUSB0:1"],
      'floorsense: devices "main" and "aux" both use unit id 1 on rtu:/dev/ttyUSB0: give each device on a bus its own unit id\n',
    ],
    [
      "two devices with one unit id behind one TCP gateway",
      ["--device", "a=sdm630@tcp:10.0.0.5:502:7", "--device", "b=sdm120@tcp:10.0.0.5:502:7"],
      'floorsense: devices "a" and "b" both use unit id 7 on tcp:10.0.0.5:502: give each device on a bus its own unit id\n',
    ],
    [
      "a malformed device",
      ["--device", "main=sdm630"],
      'floorsense: invalid --device "main=sdm630": expected NAME=PROFILE@rtu:SERIAL_PORT:UNIT_ID or NAME=PROFILE@tcp:HOST:PORT:UNIT_ID (also rtu-over-tcp:HOST:PORT:UNIT_ID), e.g. main=sdm630@rtu:/dev/ttyUSB0:1\n',
    ],
    [
      "a unit id out of range",
      ["--device", "main=sdm630@rtu:/dev/ttyUSB0:300"],
      'floorsense: invalid --device "main=sdm630@rtu:/dev/ttyUSB0:300": unit id "300" must be a number from 0 to 255\n',
    ],
    [
      "a TCP device without a port",
      ["--device", "main=sdm630@tcp:10.0.0.5:1"],
      'floorsense: invalid --device "main=sdm630@tcp:10.0.0.5:1": expected HOST:PORT:UNIT_ID after tcp:, e.g. main=sdm630@tcp:10.0.0.5:502:1\n',
    ],
    [
      "a device name that is not safe",
      ["--device", "Main Meter=sdm630@rtu:/dev/ttyUSB0:1"],
      'floorsense: invalid device name "Main Meter": use lower case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters (no spaces, "/", "+", "#", "." or control characters)\n',
    ],
    [
      "the device name status",
      ["--device", "status=sdm630@rtu:/dev/ttyUSB0:1"],
      'floorsense: invalid device name "status": floorsense/v1/{tenant}/{site}/{machine}/status is the liveness topic, pick another name\n',
    ],
    [
      "no device",
      [],
      "floorsense: a machine needs at least one --device, e.g. --device main=sdm630@rtu:/dev/ttyUSB0:1\n",
    ],
    [
      "a horizon that is not whole minutes",
      ["--device", "main=sdm630@rtu:/dev/ttyUSB0:1", "--horizon", "90s"],
      "floorsense: horizon 1m30s must be a whole number of minutes (the predictor's step is 1m)\n",
    ],
  ];

  describe("with one tenant", () => {
    // The refusals below write nothing (each asserts it), so they can share one inventory.
    let shared: string;
    beforeAll(async () => {
      shared = join(root, "shared-invalid");
      mkdirSync(shared, { recursive: true });
      expect((await runCli(["tenant", "add", "acme"], { cwd: shared })).code).toBe(0);
    });

    it.each(invalid)("refuses %s with a message saying what to do", async (_what, extra, message) => {
      const before = snapshot(shared);
      const result = await runCli(
        ["machine", "add", "--tenant", "acme", "--site", "plant-1", "--machine", "press-07", ...extra],
        { cwd: shared },
      );
      expect(result).toEqual({ code: 2, stdout: "", stderr: message });
      expect(snapshot(shared)).toEqual(before);
    });
  });

  it("refuses two machines whose names would share a file name", () => {
    const ctx = setup();
    tenantAdd(ctx, "a-b");
    tenantAdd(ctx, "a");
    const add = (tenant: string, site: string) =>
      machineAdd(ctx, {
        tenant,
        site,
        machine: "d",
        devices: ["m=sdm630@rtu:/dev/ttyUSB0:1"],
        horizons: [],
        replace: false,
      });
    add("a-b", "c");
    expect(() => add("a", "b-c")).toThrow(
      "machines a-b/c/d and a/b-c/d would share the file name a-b-c-d (secrets, predictor, dashboard): rename one of them",
    );
  });

  it("refuses a machine of a tenant that does not exist", async () => {
    const result = await cli(...PRESS_07);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: 'floorsense: tenant "acme" does not exist: run `floorsense tenant add acme` first\n',
    });
  });

  it("refuses an unsafe site name", async () => {
    tenantAdd(setup(), "acme");
    const result = await cli(
      "machine",
      "add",
      "--tenant",
      "acme",
      "--site",
      "plant/1",
      "--machine",
      "m",
      "--device",
      "a=sdm630@rtu:/dev/ttyUSB0:1",
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'floorsense: invalid site name "plant/1": use lower case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters (no spaces, "/", "+", "#", "." or control characters)\n',
    );
  });

  it("refuses a different description of an existing machine unless --replace", async () => {
    tenantAdd(setup(), "acme");
    addPress07();
    const before = snapshot(dir);
    const changed = PRESS_07.map((arg) =>
      arg === "spindle=sdm120@tcp:10.0.0.5:502:3" ? "spindle=sdm120@tcp:10.0.0.5:502:4" : arg,
    );
    const refused = await cli(...changed);
    expect(refused).toEqual({
      code: 2,
      stdout: "",
      stderr: [
        "floorsense: machine acme/plant-1/press-07 already exists with a different description (floorsense/machines/acme/plant-1/press-07.yaml):",
        "--- a/floorsense/machines/acme/plant-1/press-07.yaml",
        "+++ b/floorsense/machines/acme/plant-1/press-07.yaml",
        "@@ -15,4 +15,4 @@",
        "     transport: tcp",
        "     host: 10.0.0.5",
        "     port: 502",
        "-    unit_id: 3",
        "+    unit_id: 4",
        "re-run with --replace to apply the new description, or leave the machine as it is",
        "",
      ].join("\n"),
    });
    expect(snapshot(dir)).toEqual(before);
    const replaced = await cli(...changed, "--replace");
    expect(replaced.code).toBe(0);
    expect(replaced.stdout.split("\n").slice(0, 2)).toEqual([
      "updated floorsense/generated/edge/acme/plant-1/press-07.yaml",
      "updated floorsense/machines/acme/plant-1/press-07.yaml",
    ]);
  });

  it("refuses a --from file with an error naming file, line, path and value", async () => {
    tenantAdd(setup(), "acme");
    const described = join(dir, "bad.yaml");
    writeFileSync(
      described,
      "tenant: acme\nsite: plant-1\nmachine: press-07\ndevices:\n  - { name: main, profile: sdm630, transport: rtu, port: /dev/ttyUSB0, unit_id: 999 }\n",
    );
    const result = await cli("machine", "add", "--from", described);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `floorsense: invalid configuration\n${described}:5: devices[0].unit_id: Too big: expected number to be <=255, got 999\n`,
    );
  });
});

describe("floorsense machine list, show, remove", { timeout: 120_000 }, () => {
  it("lists, shows and removes a machine with everything generated for it", async () => {
    tenantAdd(setup(), "acme");
    addPress07();
    await cli(
      "machine",
      "add",
      "--tenant",
      "acme",
      "--site",
      "plant-2",
      "--machine",
      "lathe",
      "--device",
      "main=sdm72@tcp:10.0.0.6:502:1",
    );
    expect(await cli("machine", "list")).toEqual({
      code: 0,
      stdout: "acme/plant-1/press-07\tmain=sdm630,spindle=sdm120\nacme/plant-2/lathe\tmain=sdm72\n",
      stderr: "",
    });
    const shown = await cli("machine", "show", "--tenant", "acme", "--machine", "lathe");
    expect(shown.stdout).toBe(
      "tenant: acme\nsite: plant-2\nmachine: lathe\nhorizons:\n  - 15m\n  - 1h\ndevices:\n  - name: main\n    profile: sdm72\n    transport: tcp\n    host: 10.0.0.6\n    port: 502\n    unit_id: 1\n",
    );
    const missing = await cli("machine", "show", "--tenant", "acme", "--machine", "nope");
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "floorsense: machine acme/*/nope does not exist (`floorsense machine list` shows the machines)\n",
    });

    const dry = await cli("machine", "remove", "--tenant", "acme", "--machine", "press-07", "--dry-run");
    expect(dry.stdout).toContain("-user acme.plant-1.press-07\n");
    expect(dry.stdout).toContain("-acme.plant-1.press-07:<password hash>\n");
    const removed = await cli("machine", "remove", "--tenant", "acme", "--machine", "press-07");
    expect(removed).toEqual({
      code: 0,
      stdout: [
        "deleted floorsense/generated/dashboards/acme-plant-1-press-07.json",
        "deleted floorsense/generated/edge/acme/plant-1/press-07.yaml",
        "updated floorsense/generated/mosquitto/acl",
        "updated floorsense/generated/mosquitto/passwd",
        "deleted floorsense/generated/predictor/acme-plant-1-press-07.yaml",
        "deleted floorsense/generated/secrets/acme-plant-1-press-07.txt (secret, mode 0600)",
        "deleted floorsense/machines/acme/plant-1/press-07.yaml",
        "",
      ].join("\n"),
      stderr: "",
    });
    expect(existsSync(gen("edge", "acme", "plant-1"))).toBe(false);
    expect(existsSync(fs("machines", "acme", "plant-1"))).toBe(false);
    expect(readFileSync(gen("mosquitto", "passwd"), "utf8")).not.toContain("press-07");
    expect(readFileSync(gen("mosquitto", "acl"), "utf8")).not.toContain("press-07");
    expect((await cli("machine", "list")).stdout).toBe("acme/plant-2/lathe\tmain=sdm72\n");
  });

  it("keeps users it does not manage in the password file", async () => {
    tenantAdd(setup(), "acme");
    const passwd = gen("mosquitto", "passwd");
    const handAdded =
      "grafana:$7$101$hs/wgzsy0AdckmSr$Irp/DkU+MqogqP2XHRZAIR5JzTVFaPna/87is9rNxZsMnBsi1ny5xcePp+yS5f4CQFXdkrhbaLNDfywpSjsnvQ==";
    writeFileSync(passwd, `${readFileSync(passwd, "utf8")}${handAdded}\n`);
    addPress07();
    await cli("machine", "remove", "--tenant", "acme", "--machine", "press-07");
    expect(readFileSync(passwd, "utf8")).toContain(`${handAdded}\n`);
  });
});

describe("the inventory lock", { timeout: 120_000 }, () => {
  it("refuses to change an inventory another live command holds, and takes over a dead one's lock", async () => {
    tenantAdd(setup(), "acme");
    const lock = fs(".floorsense.lock");
    writeFileSync(lock, `${process.pid}\n`);
    const before = snapshot(dir);
    expect(await cli("tenant", "add", "globex")).toEqual({
      code: 2,
      stdout: "",
      stderr: `floorsense: another floorsense command (pid ${process.pid}) is changing this inventory; wait for it, or delete ${lock} if no such process runs\n`,
    });
    expect(snapshot(dir)).toEqual(before);
    // Reading needs no lock.
    expect((await cli("tenant", "list")).stdout).toBe("acme\t0 machine(s)\n");
    writeFileSync(lock, "2147483646\n");
    expect((await cli("tenant", "add", "globex")).code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe("floorsense credentials rotate", { timeout: 120_000 }, () => {
  it("replaces the machine's password in its secret file and the password file, and only that", async () => {
    tenantAdd(setup(), "acme");
    addPress07();
    const secretFile = gen("secrets", "acme-plant-1-press-07.txt");
    const old = secretPassword(secretFile);
    const token = readFileSync(gen("secrets", "tenant-acme.token"), "utf8");
    const result = await cli("credentials", "rotate", "--tenant", "acme", "--machine", "press-07");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "updated floorsense/generated/mosquitto/passwd",
        "updated floorsense/generated/secrets/acme-plant-1-press-07.txt (secret, mode 0600)",
        "",
        "rotated the MQTT password of acme.plant-1.press-07, in floorsense/generated/secrets/acme-plant-1-press-07.txt (mode 0600, not printed)",
        "next: reload the broker (SIGHUP; clients still on the old password are disconnected) or Prometheus and the bridge, and hand the new secret to its user",
        "",
      ].join("\n"),
    );
    const fresh = secretPassword(secretFile);
    expect(fresh).not.toBe(old);
    expect(result.stdout).not.toContain(fresh);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const entry = parsePasswordFile(readFileSync(gen("mosquitto", "passwd"), "utf8")).entries.get(
      "acme.plant-1.press-07",
    )!;
    expect(verifyPassword(fresh, entry.hash)).toBe(true);
    expect(verifyPassword(old, entry.hash)).toBe(false);
    expect(readFileSync(gen("secrets", "tenant-acme.token"), "utf8")).toBe(token);
    expect(await cli(...PRESS_07)).toEqual({ code: 0, stdout: "no changes\n", stderr: "" });
  });

  it("rotates a tenant's scrape token", async () => {
    tenantAdd(setup(), "acme");
    const token = readFileSync(gen("secrets", "tenant-acme.token"), "utf8");
    const result = await cli("credentials", "rotate", "--tenant", "acme", "--scrape-token");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      "updated floorsense/generated/secrets/tenant-acme.token (secret, mode 0600)",
    );
    expect(readFileSync(gen("secrets", "tenant-acme.token"), "utf8")).not.toBe(token);
  });

  it("says what is missing", async () => {
    tenantAdd(setup(), "acme");
    expect(await cli("credentials", "rotate", "--tenant", "acme", "--machine", "press-07")).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "floorsense: machine acme/*/press-07 does not exist (`floorsense machine list` shows the machines)\n",
    });
    expect(await cli("credentials", "rotate", "--tenant", "acme")).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "floorsense: name the machine with --tenant and --machine (and --site when needed), or use --scrape-token or --bridge\n",
    });
  });

  it("asks for --site when the machine name exists in two sites", async () => {
    tenantAdd(setup(), "acme");
    for (const site of ["north", "south"]) {
      await cli(
        "machine",
        "add",
        "--tenant",
        "acme",
        "--site",
        site,
        "--machine",
        "press",
        "--device",
        "a=sdm630@rtu:/dev/ttyUSB0:1",
      );
    }
    expect(await cli("credentials", "rotate", "--tenant", "acme", "--machine", "press")).toEqual({
      code: 2,
      stdout: "",
      stderr: "floorsense: machine press of tenant acme exists in sites north, south: add --site\n",
    });
    const rotated = await cli(
      "credentials",
      "rotate",
      "--tenant",
      "acme",
      "--machine",
      "press",
      "--site",
      "south",
    );
    expect(rotated.code).toBe(0);
  });
});
