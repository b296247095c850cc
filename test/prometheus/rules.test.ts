import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { needs } from "../support/binaries.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const promDir = join(root, "prometheus");
const ruleFiles = readdirSync(join(promDir, "rules"))
  .filter((name) => name.endsWith(".yml"))
  .map((name) => join(promDir, "rules", name));
const testFiles = readdirSync(join(promDir, "tests"))
  .filter((name) => name.endsWith(".yml"))
  .map((name) => join(promDir, "tests", name));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

function rulesOf(file: string): Rule[] {
  return (parse(readFileSync(file, "utf8")) as RuleFile).groups.flatMap((group) => group.rules);
}

function run(command: string, args: string[], cwd = root) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}

const alertRules = rulesOf(join(promDir, "rules", "alerts.yml"));
const recordingRules = rulesOf(join(promDir, "rules", "recording.yml"));

describe("alert rules: shape", () => {
  it("defines the alerts the alert catalogue documents", () => {
    expect(alertRules.map((rule) => rule.alert)).toEqual([
      "FloorsenseDeviceDown",
      "FloorsenseMachineOffline",
      "FloorsenseMachineSilent",
      "FloorsenseMeterReadErrors",
      "FloorsenseExporterBacklogGrowing",
      "FloorsenseExporterDroppingCycles",
      "FloorsenseExporterDisconnected",
      "FloorsenseBridgeRejectingPayloads",
      "FloorsenseBridgeSeriesLimit",
      "FloorsenseBridgeDisconnected",
      "FloorsenseBridgeRemoteWriteFailing",
      "FloorsenseScrapeTargetDown",
      "FloorsenseForecastPeakAboveContract",
      "FloorsensePeakAboveContract",
      "FloorsenseSiteWithoutContract",
      "FloorsenseAnomalySustained",
      "FloorsenseAnomalyDetected",
      "FloorsenseForecastModelStale",
      "FloorsenseForecastBaselineOnly",
      "FloorsensePredictorTrainingFailing",
    ]);
  });

  it("gives every alert a severity, a summary, a description, a runbook note and a catalogue link", () => {
    for (const rule of alertRules) {
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual([
        "description",
        "runbook",
        "runbook_url",
        "summary",
      ]);
      expect(rule.annotations?.runbook_url).toBe(`docs/operations.md#${rule.alert?.toLowerCase()}`);
    }
  });

  it("links every runbook to a heading of docs/operations.md", () => {
    const anchors = new Set(
      readFileSync(join(root, "docs", "operations.md"), "utf8")
        .split("\n")
        .filter((line) => line.startsWith("#"))
        .map((line) =>
          line
            .replace(/^#+\s*/, "")
            .trim()
            .toLowerCase()
            .replace(/[^a-z0-9 _-]/g, "")
            .replace(/ /g, "-"),
        ),
    );
    const missing = alertRules
      .map((rule) => rule.annotations?.runbook_url?.split("#")[1] ?? "")
      .filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });

  it("unit-tests every alert firing and every recording rule", () => {
    const tests = testFiles.flatMap(
      (file) =>
        (
          parse(readFileSync(file, "utf8")) as {
            tests: Array<{
              alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
              promql_expr_test?: Array<{ expr: string }>;
            }>;
          }
        ).tests,
    );
    const fired = new Set(
      tests.flatMap((test) =>
        (test.alert_rule_test ?? []).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname),
      ),
    );
    const quiet = new Set(
      tests.flatMap((test) =>
        (test.alert_rule_test ?? []).filter((t) => t.exp_alerts.length === 0).map((t) => t.alertname),
      ),
    );
    const queried = new Set(tests.flatMap((test) => (test.promql_expr_test ?? []).map((t) => t.expr)));
    for (const rule of alertRules) {
      expect(fired.has(rule.alert!), `${rule.alert} fires in a test`).toBe(true);
      expect(quiet.has(rule.alert!), `${rule.alert} stays quiet in a test`).toBe(true);
    }
    for (const rule of recordingRules) expect(queried.has(rule.record!), rule.record).toBe(true);
  });
});

describe.skipIf(!needs("promtool"))("prometheus config and rules with the real promtool", () => {
  const scratch = mkdtempSync(join(tmpdir(), "floorsense-rules-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("promtool check config accepts prometheus.yml and its three rule files", () => {
    const result = run("promtool", ["check", "config", "prometheus/prometheus.yml"]);
    expect(result.output).toContain("SUCCESS: 3 rule files found");
    expect(result.code, result.output).toBe(0);
  });

  it("promtool check rules accepts every rule file", () => {
    const fixtures = readdirSync(join(promDir, "tests", "fixtures")).map((name) =>
      join(promDir, "tests", "fixtures", name),
    );
    const result = run("promtool", ["check", "rules", ...ruleFiles, ...fixtures]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS: 20 rules found");
    expect(result.output).toContain("SUCCESS: 8 rules found");
  });

  it("promtool test rules passes every unit test file", () => {
    const result = run("promtool", ["test", "rules", ...testFiles]);
    expect(result.code, result.output).toBe(0);
    expect(result.output.match(/SUCCESS/g)?.length).toBe(testFiles.length);
    expect(result.output).not.toContain("FAILED");
  });

  it("promtool check rules rejects a rule file with broken PromQL", () => {
    const broken = join(scratch, "broken.yml");
    writeFileSync(
      broken,
      "groups:\n  - name: broken\n    rules:\n      - record: tenant_site:broken:sum\n        expr: sum by (tenant (floorsense_meter_system_power_watts)\n",
    );
    const result = run("promtool", ["check", "rules", broken]);
    expect(result.code).toBe(1);
    expect(result.output).toContain("FAILED");
    expect(result.output).toContain("parse error");
  });

  it("promtool test rules fails when an alert no longer behaves as its test expects", () => {
    // A copy of the real rules and tests with the device-down threshold changed: the test must catch it.
    const copy = join(scratch, "prometheus");
    cpSync(promDir, copy, { recursive: true });
    const alerts = join(copy, "rules", "alerts.yml");
    const original = readFileSync(alerts, "utf8");
    const mutated = original.replace("expr: floorsense_device_up == 0", "expr: floorsense_device_up == 2");
    expect(mutated).not.toBe(original);
    writeFileSync(alerts, mutated);
    const result = run("promtool", ["test", "rules", join(copy, "tests", "edge.yml")]);
    expect(result.code).toBe(1);
    expect(result.output).toContain("alertname: FloorsenseDeviceDown, time: 6m");
  });
});

describe.skipIf(!needs("amtool"))("alertmanager config with the real amtool", () => {
  it("amtool check-config accepts alertmanager.yml with its two webhook receivers", () => {
    const result = run("amtool", ["check-config", "prometheus/alertmanager.yml"]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(" - 2 receivers");
  });

  it("routes critical alerts to the pager and everything else to tickets", () => {
    const route = (labels: string[]) =>
      run("amtool", [
        "config",
        "routes",
        "test",
        "--config.file=prometheus/alertmanager.yml",
        ...labels,
      ]).stdout.trim();
    expect(route(["alertname=FloorsenseForecastPeakAboveContract", "severity=critical"])).toBe("pager");
    expect(route(["alertname=FloorsenseDeviceDown", "severity=warning"])).toBe("tickets");
  });
});
