import { describe, expect, it } from "vitest";
import { bridgeConfigSchema, resolveTenantCredentials } from "../../ingest-bridge/config.js";
import { loadYamlText } from "../../lib/config-loader.js";

const minimal = `mqtt:
  url: mqtt://127.0.0.1:1883
tenants:
  acme:
    bearer_token: 0123456789abcdef0123
`;

describe("bridge config", () => {
  it("fills defaults", () => {
    const config = loadYamlText("bridge.yaml", minimal, bridgeConfigSchema);
    expect(config.mqtt.topic_filter).toBe("floorsense/v1/#");
    expect(config.mqtt.session_expiry).toBe(3_600_000);
    expect(config.limits).toEqual({
      max_payload_bytes: 1_048_576,
      max_series_per_tenant: 2_000_000,
      max_series_per_device: 10_000,
      max_sample_age: 3_600_000,
      max_sample_future: 300_000,
    });
    expect(config.exposition.timestamps).toBe("keep");
    expect(config.web.listen_address).toBe("0.0.0.0:9465");
    expect(config.remote_write).toEqual([]);
  });

  it("parses remote write endpoints with durations", () => {
    const text = `${minimal}remote_write:
  - name: mimir
    url: http://mimir:9009/api/v1/push
    min_backoff: 100ms
    max_backoff: 10s
`;
    const [rw] = loadYamlText("bridge.yaml", text, bridgeConfigSchema).remote_write;
    expect(rw).toMatchObject({
      name: "mimir",
      tenant_header: "X-Scope-OrgID",
      min_backoff: 100,
      max_backoff: 10_000,
      max_samples_per_send: 2000,
      capacity: 100_000,
    });
  });

  it("names file, line, path and value of a bad tenant name", () => {
    const text = "mqtt:\n  url: mqtt://x:1883\ntenants:\n  Acme:\n    bearer_token: 0123456789abcdef0123\n";
    expect(() => loadYamlText("bridge.yaml", text, bridgeConfigSchema)).toThrow(
      'bridge.yaml:5: tenants.Acme: tenant names must match [a-z0-9][a-z0-9_-]* (at most 63 characters), got {"bearer_token":"0123456789abcdef0123"}',
    );
  });

  it("wants exactly one kind of credentials per tenant", () => {
    const text = "mqtt:\n  url: mqtt://x:1883\ntenants:\n  acme: {}\n";
    expect(() => loadYamlText("bridge.yaml", text, bridgeConfigSchema)).toThrow(
      "bridge.yaml:4: tenants.acme: set exactly one of bearer_token, bearer_token_file and basic, got {}",
    );
  });

  it("refuses a bad duration with the text", () => {
    const text = `${minimal}limits:\n  max_sample_age: 10 minutes\n`;
    expect(() => loadYamlText("bridge.yaml", text, bridgeConfigSchema)).toThrow(
      'bridge.yaml:7: limits.max_sample_age: invalid duration "10 minutes": expected a Prometheus duration such as 500ms, 15s, 5m, 1h30m, got "10 minutes"',
    );
  });

  it("reads a basic-auth password from a file, without its final newline", () => {
    const credentials = resolveTenantCredentials(
      { basic: { username: "prom", password_file: "/pw" } },
      (path) => (path === "/pw" ? "s3cret\n" : ""),
    );
    expect(credentials).toEqual({ kind: "basic", username: "prom", password: "s3cret" });
  });
});
