import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderTenant } from "../../ingest-bridge/exposition.js";
import { Liveness } from "../../ingest-bridge/liveness.js";
import { MessageRouter } from "../../ingest-bridge/message-router.js";
import { createBridgeMetrics } from "../../ingest-bridge/metrics.js";
import { SeriesStore } from "../../ingest-bridge/series-store.js";
import { createLogger } from "../../lib/logger.js";
import { parseOpenMetrics } from "../../openmetrics/index.js";
import { REPO_ROOT } from "../support/cli.js";

const SUITE = join(REPO_ROOT, "../shared/openmetrics-testdata");
const suitePresent = existsSync(SUITE);
if (!suitePresent && process.env.CI === "true") {
  throw new Error(`CI=true and the OpenMetrics test suite is missing at ${SUITE}`);
}
if (!suitePresent) console.warn(`SKIPPING the official-suite fuzz cases: ${SUITE} is missing`);

const NOW_MS = 1_700_000_000_000;
const TOPIC = "floorsense/v1/fuzz/site/machine/device";

function harness() {
  const parsing = { ok: false };
  const store = new SeriesStore({
    maxSeriesPerTenant: 5_000,
    maxSeriesPerDevice: 1_000,
    maxSampleAgeMs: Number.MAX_SAFE_INTEGER,
    maxSampleFutureMs: Number.MAX_SAFE_INTEGER,
  });
  const metrics = createBridgeMetrics();
  let router: MessageRouter | undefined;
  const liveness = new Liveness(
    { stalenessMultiple: 3, defaultPollIntervalMs: 60_000 },
    { gone: (id, why) => router?.forget(id, why), lastMessage: () => {}, online: () => {} },
  );
  router = new MessageRouter({
    store,
    liveness,
    metrics,
    logger: createLogger("bridge", "silent"),
    parse: (payload) => {
      parsing.ok = false;
      const families = parseOpenMetrics(payload);
      parsing.ok = true;
      return families;
    },
    maxPayloadBytes: 64 * 1024,
    maxSampleFutureMs: Number.MAX_SAFE_INTEGER,
    tenants: new Set(["fuzz", "other"]),
    remoteWrite: [],
    now: () => NOW_MS,
  });
  return { store, router, metrics, parsing };
}

/** Every exposed line must carry exactly the topic's identity, once, at the end of its labels. */
function assertOnlyTopicIdentity(text: string): void {
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    expect(line).toContain('tenant="fuzz",site="site",machine="machine",device="device"} ');
    expect(line.match(/[{,]tenant="/g)?.length, line).toBe(1);
    expect(line.match(/[{,]device="/g)?.length, line).toBe(1);
  }
}

describe.skipIf(!suitePresent)("official OpenMetrics suite through the ingest path", () => {
  const cases = suitePresent ? readdirSync(SUITE).filter((name) => name.startsWith("bad_")) : [];

  it("refuses every invalid case whole, leaving no series behind", () => {
    expect(cases.length).toBe(167);
    const { store, router, metrics } = harness();
    for (const name of cases) {
      const payload = readFileSync(join(SUITE, name, "metrics"));
      expect(router.handle(TOPIC, payload), name).toBeUndefined();
      expect(store.seriesCount(), name).toBe(0);
    }
    expect(renderTenant(store.tenant("fuzz"), "openmetrics", true)).toBe("# EOF\n");
    return metrics.registry
      .getSingleMetricAsString("floorsense_bridge_payloads_rejected_total")
      .then((text) => {
        expect(text).toContain(
          'floorsense_bridge_payloads_rejected_total{tenant="fuzz",reason="parse_error"} 167',
        );
      });
  });
});

const VALID = [
  `# TYPE floorsense_meter_voltage_volts gauge
# UNIT floorsense_meter_voltage_volts volts
# HELP floorsense_meter_voltage_volts Line to neutral voltage.
floorsense_meter_voltage_volts{phase="L1"} 230.1 1700000000.5
floorsense_meter_voltage_volts{phase="L2"} 229.9 1700000000.5
floorsense_meter_voltage_volts{phase="L3"} 231 1700000000.5
# TYPE floorsense_meter_energy_imported_joules counter
floorsense_meter_energy_imported_joules_total 1.5e9 1700000000.5
floorsense_meter_energy_imported_joules_created 1.6e9 1700000000.5
# TYPE floorsense_device_read_errors counter
floorsense_device_read_errors_total{kind="timeout"} 3 1700000000.5
floorsense_device_read_errors_total{kind="crc"} 0 1700000000.5
# TYPE floorsense_device_up gauge
floorsense_device_up 1 1700000000.5
# EOF
`,
  `# TYPE t_seconds histogram
# UNIT t_seconds seconds
t_seconds_bucket{le="0.1"} 1 1700000000
t_seconds_bucket{le="1"} 2 1700000000
t_seconds_bucket{le="+Inf"} 3 1700000000
t_seconds_count 3 1700000000
t_seconds_sum 1.5 1700000000
# TYPE s summary
s{quantile="0.5"} 1
s_count 2
s_sum 3
# TYPE e stateset
e{e="a"} 1
e{e="b"} 0
# TYPE i info
i_info{version="1.2"} 1
# EOF
`,
];

const INSERTS = [
  "{",
  "}",
  '"',
  "\\",
  "\n",
  " ",
  "#",
  ",",
  "=",
  "\u0000",
  "\u00ff",
  "é",
  "NaN",
  "+Inf",
  "-1",
  "1e309",
  'tenant="other",',
  'device="x",',
  "# EOF\n",
  "_total",
  "# TYPE x gauge\n",
  '{le="1"}',
  "\r",
  "\t",
];

/** Deterministic, so a failure can be reproduced from its index. */
function xorshift(seed: number) {
  let x = seed | 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function mutate(source: string, random: (n: number) => number): string {
  let text = source;
  const edits = 1 + random(4);
  for (let e = 0; e < edits; e++) {
    const at = random(text.length + 1);
    switch (random(6)) {
      case 0:
        text = text.slice(0, at) + text.slice(at + 1 + random(8));
        break;
      case 1:
        text = text.slice(0, at) + INSERTS[random(INSERTS.length)] + text.slice(at);
        break;
      case 2:
        text = text.slice(0, at) + String.fromCharCode(random(128)) + text.slice(at + 1);
        break;
      case 3: {
        // Duplicate or move a whole line.
        const lines = text.split("\n");
        const line = lines[random(lines.length)]!;
        lines.splice(random(lines.length), 0, line);
        text = lines.join("\n");
        break;
      }
      case 4:
        text = text.slice(0, at);
        break;
      default:
        text = text.replace(/\d/, String(random(10)));
    }
  }
  return text;
}

describe("random mutations of valid payloads through the ingest path", () => {
  it("never crash, hang or leak into exposed series over 100 000 payloads", () => {
    const { store, router, parsing } = harness();
    const random = xorshift(0x5eed);
    let accepted = 0;
    let slowest = 0;
    for (let i = 0; i < 100_000; i++) {
      const payload = Buffer.from(mutate(VALID[i % VALID.length]!, random), "utf8");
      const before = store.seriesCount();
      const started = performance.now();
      const outcome = router.handle(TOPIC, payload);
      slowest = Math.max(slowest, performance.now() - started);
      expect(outcome).toBeUndefined();
      if (parsing.ok) accepted++;
      // A refused payload leaves the store as it was.
      else if (store.seriesCount() !== before)
        throw new Error(`payload ${i} was refused but changed the store`);
      if (i % 5_000 === 0) assertOnlyTopicIdentity(renderTenant(store.tenant("fuzz"), "openmetrics", true));
    }
    assertOnlyTopicIdentity(renderTenant(store.tenant("fuzz"), "openmetrics", true));
    assertOnlyTopicIdentity(renderTenant(store.tenant("fuzz"), "text", true));
    expect(store.tenant("other")).toBeUndefined();
    expect(slowest).toBeLessThan(1_000);
    // The mutations must exercise both paths, or the test proves little.
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(90_000);
  }, 90_000);
});
