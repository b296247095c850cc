import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  allDashboardExpressions,
  dashboardExpressions,
  generatedDashboards,
  machineDashboard,
  renderDashboardJson,
  substituteVariables,
} from "../../dashboards/index.js";
import { needs } from "../support/binaries.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const generatedDir = join(root, "dashboards", "generated");

interface AnyPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr?: string; refId?: string; datasource?: { type: string; uid: string } }>;
  panels?: AnyPanel[];
}

function leafPanels(model: { panels?: unknown[] }): AnyPanel[] {
  return (model.panels as AnyPanel[]).flatMap((panel) =>
    panel.type === "row" ? (panel.panels ?? []) : [panel],
  );
}

function ruleExpressions(): Array<{ where: string; expr: string }> {
  const dir = join(root, "prometheus", "rules");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".yml"))
    .flatMap((name) =>
      (
        parse(readFileSync(join(dir, name), "utf8")) as {
          groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
        }
      ).groups.flatMap((group) =>
        group.rules.map((rule) => ({ where: `${name} ${rule.alert ?? rule.record}`, expr: rule.expr })),
      ),
    );
}

const machine = machineDashboard({ tenant: "demo", site: "plant1", machine: "press1" });
const oven = machineDashboard(
  { tenant: "demo", site: "plant1", machine: "oven1" },
  { temperatureForecast: true },
);

/** The queries of a dashboard's forecast panels, as `<panel> <refId>: <expr>`. */
function forecastQueries(model: Parameters<typeof dashboardExpressions>[0]): string[] {
  return dashboardExpressions(model)
    .filter((e) => e.panel.endsWith("with forecast band"))
    .map((e) => `${e.panel} ${e.refId}: ${e.expr}`);
}

describe("generated dashboards", () => {
  it("the committed JSON is exactly what the code generates (run npm run dashboards:generate)", () => {
    const expected = generatedDashboards().map((entry) => entry.file);
    expect(readdirSync(generatedDir).sort()).toEqual([...expected].sort());
    for (const { file, dashboard } of generatedDashboards()) {
      expect(readFileSync(join(generatedDir, file), "utf8"), file).toBe(renderDashboardJson(dashboard));
    }
  });

  it("renders with sorted keys, 2-space indentation and a trailing newline", () => {
    const text = renderDashboardJson({ title: "t", uid: "u", editable: true } as never);
    expect(text).toBe('{\n  "editable": true,\n  "title": "t",\n  "uid": "u"\n}\n');
  });

  it("has the three dashboards with stable uids and the floorsense tag", () => {
    expect(generatedDashboards().map((entry) => [entry.dashboard.uid, entry.dashboard.tags])).toEqual([
      ["floorsense-plant-overview", ["floorsense"]],
      ["floorsense-machine-detail", ["floorsense", "machine"]],
      ["floorsense-fleet-health", ["floorsense", "operations"]],
    ]);
  });

  it("gives every panel the Prometheus datasource, a unique id and targets with a non-empty expr", () => {
    for (const { file, dashboard } of [...generatedDashboards(), { file: "machine", dashboard: machine }]) {
      const all = dashboard.panels as AnyPanel[];
      const ids = [...all, ...all.flatMap((panel) => panel.panels ?? [])].map((panel) => panel.id);
      expect(new Set(ids).size, `${file} panel ids`).toBe(ids.length);
      for (const panel of leafPanels(dashboard)) {
        const where = `${file}: ${panel.title}`;
        expect(panel.datasource, where).toEqual({ type: "prometheus", uid: "prometheus" });
        expect(panel.targets?.length, where).toBeGreaterThan(0);
        const refIds = panel.targets!.map((target) => target.refId);
        expect(new Set(refIds).size, where).toBe(refIds.length);
        for (const target of panel.targets!) {
          expect(target.expr?.trim(), where).toBeTruthy();
          expect(target.refId, where).toMatch(/^[A-Z]$/);
          expect(target.datasource, where).toEqual({ type: "prometheus", uid: "prometheus" });
        }
      }
    }
  });

  it("offers tenant, site and machine as template variables on label_values", () => {
    const variables = Object.fromEntries(
      generatedDashboards().map((entry) => [
        entry.file,
        (entry.dashboard.templating?.list ?? []).map((variable) => [variable.name, variable.query]),
      ]),
    );
    expect(variables["plant-overview.json"]).toEqual([
      ["tenant", "label_values(floorsense_meter_system_power_watts, tenant)"],
      ["site", 'label_values(floorsense_meter_system_power_watts{tenant="$tenant"}, site)'],
    ]);
    expect(variables["machine-detail.json"]).toEqual([
      ["tenant", "label_values(floorsense_meter_system_power_watts, tenant)"],
      ["site", 'label_values(floorsense_meter_system_power_watts{tenant="$tenant"}, site)'],
      [
        "machine",
        'label_values(floorsense_meter_system_power_watts{tenant="$tenant", site="$site"}, machine)',
      ],
      [
        "device",
        'label_values(floorsense_meter_system_power_watts{tenant="$tenant", site="$site", machine="$machine"}, device)',
      ],
      [
        "horizon",
        'label_values(floorsense_forecast{tenant="$tenant", site="$site", machine="$machine"}, horizon)',
      ],
    ]);
    expect(variables["fleet-health.json"]).toEqual([
      ["tenant", "label_values(floorsense_bridge_series, tenant)"],
    ]);
  });
});

describe("machineDashboard", () => {
  it("fixes the machine's identity in every query and keeps a uid Grafana accepts", () => {
    expect(machine.title).toBe("floorsense / Machine demo/plant1/press1");
    expect(machine.uid).toMatch(/^floorsense-machine-[0-9a-f]{20}$/);
    expect(machine.uid!.length).toBeLessThanOrEqual(40);
    expect((machine.templating?.list ?? []).map((variable) => variable.name)).toEqual(["device", "horizon"]);
    const exprs = dashboardExpressions(machine).map((entry) => entry.expr);
    expect(exprs.length).toBe(19);
    for (const expr of exprs) {
      expect(expr).toContain('tenant="demo", site="plant1", machine="press1"');
      expect(expr).not.toMatch(/\$(tenant|site|machine)\b/);
    }
  });

  it("adds a temperature forecast panel only for a machine with a temperature target", () => {
    expect(forecastQueries(machine).filter((line) => line.startsWith("Temperature"))).toEqual([]);
    expect(dashboardExpressions(oven).length).toBe(23);
    expect(forecastQueries(oven)).toEqual([
      'Power with forecast band A: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="demo", site="plant1", machine="oven1"}',
      'Power with forecast band B: floorsense_forecast{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band C: floorsense_forecast_lower{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band D: floorsense_forecast_upper{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Temperature with forecast band A: floorsense_meter_temperature_celsius{tenant="demo", site="plant1", machine="oven1", device=~"$device"}',
      'Temperature with forecast band B: floorsense_forecast{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?temperature", horizon="$horizon"}',
      'Temperature with forecast band C: floorsense_forecast_lower{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?temperature", horizon="$horizon"}',
      'Temperature with forecast band D: floorsense_forecast_upper{tenant="demo", site="plant1", machine="oven1", target=~"(.*[-_])?temperature", horizon="$horizon"}',
    ]);
    const units = Object.fromEntries(
      leafPanels(oven)
        .filter((panel) => panel.title.endsWith("with forecast band"))
        .map((panel) => [
          panel.title,
          (panel as { fieldConfig?: { defaults?: { unit?: string } } }).fieldConfig?.defaults?.unit,
        ]),
    );
    expect(units).toEqual({
      "Power with forecast band": "watt",
      "Temperature with forecast band": "celsius",
    });
  });

  it("gives different machines different uids, and the same machine the same uid", () => {
    const again = machineDashboard({ tenant: "demo", site: "plant1", machine: "press1" });
    const other = machineDashboard({ tenant: "demo", site: "plant1", machine: "press2" });
    expect(again.uid).toBe(machine.uid);
    expect(other.uid).not.toBe(machine.uid);
  });

  it("refuses a name that is not safe in a label value", () => {
    expect(() => machineDashboard({ tenant: "demo", site: 'pl"ant', machine: "press1" })).toThrow(
      'machineDashboard: site "pl\\"ant" is not a valid name ([a-z0-9][a-z0-9_-]*, at most 63 characters)',
    );
  });
});

describe("dashboard expressions", () => {
  it("draws only power targets' forecasts on the machine detail dashboard's watts axis", () => {
    const detail = generatedDashboards().find((entry) => entry.file === "machine-detail.json")!.dashboard;
    expect(forecastQueries(detail)).toEqual([
      'Power with forecast band A: tenant_site_machine:floorsense_meter_system_power_watts:sum{tenant="$tenant", site="$site", machine="$machine"}',
      'Power with forecast band B: floorsense_forecast{tenant="$tenant", site="$site", machine="$machine", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band C: floorsense_forecast_lower{tenant="$tenant", site="$site", machine="$machine", target=~"(.*[-_])?power", horizon="$horizon"}',
      'Power with forecast band D: floorsense_forecast_upper{tenant="$tenant", site="$site", machine="$machine", target=~"(.*[-_])?power", horizon="$horizon"}',
    ]);
  });

  it("lists every target and variable selector of every generated dashboard", () => {
    const listed = allDashboardExpressions();
    const targets = generatedDashboards().flatMap((entry) =>
      leafPanels(entry.dashboard).flatMap((panel) => panel.targets ?? []),
    );
    const variables = generatedDashboards().flatMap((entry) => entry.dashboard.templating?.list ?? []);
    expect(listed.length).toBe(targets.length + variables.length);
    expect(listed).toContainEqual({
      dashboard: "floorsense-plant-overview",
      panel: "15-minute average power, forecast and contract",
      refId: "D",
      expr: 'floorsense_site_contracted_peak_watts{tenant="$tenant", site=~"$site"}',
      instant: false,
    });
    expect(listed).toContainEqual({
      dashboard: "floorsense-fleet-health",
      panel: "variable tenant",
      refId: "",
      expr: "floorsense_bridge_series",
      instant: true,
    });
  });

  it("substitutes $name, {name} in braces and Grafana's interval variables", () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${name} syntax, not a JS template
      substituteVariables('rate(x{tenant="$tenant", site=~"${site}"}[$__rate_interval]) offset $__interval', {
        tenant: "acme",
        site: "a|b",
        __rate_interval: "5m",
        __interval: "30s",
      }),
    ).toBe('rate(x{tenant="acme", site=~"a|b"}[5m]) offset 30s');
    expect(() => substituteVariables('x{a="$nope"}', {})).toThrow(
      'no value for template variable $nope in x{a="$nope"}',
    );
  });

  it("uses only metric names from the catalogue in docs/architecture.md and the recording rules", () => {
    const catalogue = new Set(
      [
        ...readFileSync(join(root, "docs", "architecture.md"), "utf8").matchAll(
          /\bfloorsense_[a-z0-9_]*[a-z0-9]\b/g,
        ),
      ].map((match) => match[0]),
    );
    const recorded = new Set(
      readdirSync(join(root, "prometheus", "rules")).flatMap((name) =>
        (
          parse(readFileSync(join(root, "prometheus", "rules", name), "utf8")) as {
            groups: Array<{ rules: Array<{ record?: string }> }>;
          }
        ).groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))),
      ),
    );
    const unknown = new Set<string>();
    const expressions = [
      ...allDashboardExpressions(),
      ...dashboardExpressions(machine),
      ...dashboardExpressions(oven),
      ...ruleExpressions(),
    ];
    for (const { expr } of expressions) {
      let rest = expr;
      for (const [name] of expr.matchAll(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/g)) {
        if (!recorded.has(name)) unknown.add(name);
        rest = rest.replace(name, " ");
      }
      for (const [name] of rest.matchAll(/\bfloorsense_[a-z0-9_]*[a-z0-9](?![a-z0-9_.])/g)) {
        if (!catalogue.has(name) && !recorded.has(name)) unknown.add(name);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});

describe.skipIf(!needs("promtool"))("every PromQL expression parses with the real promtool", () => {
  const scratch = mkdtempSync(join(tmpdir(), "floorsense-promql-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // promtool has no "parse this expression" command, but check rules parses every rule's expr.
  function checkAsRules(exprs: string[]) {
    const file = join(scratch, `exprs-${exprs.length}.yml`);
    const rules = exprs.map((expr, index) => ({ record: `floorsense_check:expr_${index}`, expr }));
    writeFileSync(file, stringify({ groups: [{ name: "expressions", rules }] }));
    const result = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8", timeout: 60_000 });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it("accepts every dashboard and rule expression with the variables substituted", () => {
    const exprs = [
      ...allDashboardExpressions().map((entry) => substituteVariables(entry.expr)),
      ...dashboardExpressions(machine).map((entry) => substituteVariables(entry.expr)),
      ...dashboardExpressions(oven).map((entry) => substituteVariables(entry.expr)),
      ...ruleExpressions().map((entry) => entry.expr),
    ];
    expect(exprs.length).toBeGreaterThan(80);
    const result = checkAsRules(exprs);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it("selects forecasts by target name as Prometheus matches it: power and temperature apart", () => {
    const forecast = (target: string, machine = "oven1") =>
      `floorsense_forecast{tenant="demo",site="plant1",machine="${machine}",target="${target}",horizon="15m"}`;
    const input = [
      "machine_power",
      "demo-plant1-oven1-power",
      "demo-plant1-oven1-temperature",
      "site_power_avg15m",
      "horsepower",
      "power_factor",
    ].map((target, index) => ({ series: forecast(target), values: `${index + 1}x5` }));
    input.push({ series: forecast("machine_power", "press1"), values: "99x5" });
    const query = (panel: string) =>
      substituteVariables(dashboardExpressions(oven).find((e) => e.panel === panel && e.refId === "B")!.expr);
    const file = join(scratch, "target-names.test.yml");
    writeFileSync(
      file,
      stringify({
        rule_files: [],
        tests: [
          {
            interval: "1m",
            input_series: input,
            promql_expr_test: [
              {
                expr: query("Power with forecast band"),
                eval_time: "2m",
                exp_samples: [
                  { labels: forecast("machine_power"), value: 1 },
                  { labels: forecast("demo-plant1-oven1-power"), value: 2 },
                ],
              },
              {
                expr: query("Temperature with forecast band"),
                eval_time: "2m",
                exp_samples: [{ labels: forecast("demo-plant1-oven1-temperature"), value: 3 }],
              },
            ],
          },
        ],
      }),
    );
    const result = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8", timeout: 60_000 });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  it("rejects a broken expression, so the check above can fail", () => {
    const result = checkAsRules(["sum(rate(floorsense_bridge_messages_total[5m])", "up"]);
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      'group "expressions", rule 1, "floorsense_check:expr_0": could not parse expression: 1:47: parse error: unclosed left parenthesis',
    );
  });
});
