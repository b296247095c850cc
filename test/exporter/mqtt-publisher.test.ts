import { describe, expect, it } from "vitest";
import { createExporterMetrics } from "../../exporter/metrics.js";
import { classifyConnectError } from "../../exporter/mqtt-publisher.js";

describe("sorting failed broker connections", () => {
  it("tells a rejected login from a broker that is down or slow", () => {
    // The errors mqtt.js emits: a refused CONNACK carries its reason code, a socket error its errno.
    expect(classifyConnectError({ message: "Connection refused: Not authorized", code: 135 }, 5)).toBe(
      "not_authorized",
    );
    expect(
      classifyConnectError({ message: "Connection refused: Bad User Name or Password", code: 134 }, 5),
    ).toBe("not_authorized");
    // MQTT 3.1.1 return codes 4 and 5.
    expect(
      classifyConnectError({ message: "Connection refused: Bad username or password", code: 4 }, 4),
    ).toBe("not_authorized");
    expect(classifyConnectError({ message: "Connection refused: Not authorized", code: 5 }, 4)).toBe(
      "not_authorized",
    );
    expect(classifyConnectError({ message: "Connection refused: Server unavailable", code: 136 }, 5)).toBe(
      "other",
    );
    expect(
      classifyConnectError({ message: "connect ECONNREFUSED 127.0.0.1:1883", code: "ECONNREFUSED" }, 5),
    ).toBe("unreachable");
    expect(
      classifyConnectError({ message: "getaddrinfo ENOTFOUND broker.invalid", code: "ENOTFOUND" }, 5),
    ).toBe("unreachable");
    expect(classifyConnectError({ message: "connack timeout" }, 5)).toBe("timeout");
    expect(
      classifyConnectError({ message: "self-signed certificate", code: "DEPTH_ZERO_SELF_SIGNED_CERT" }, 5),
    ).toBe("other");
  });

  it("exposes every reason from the start", async () => {
    const metrics = createExporterMetrics();
    const text = await metrics.registry.metrics();
    expect(
      text.split("\n").filter((l) => l.startsWith("floorsense_exporter_mqtt_connect_failures_total")),
    ).toEqual([
      'floorsense_exporter_mqtt_connect_failures_total{reason="not_authorized"} 0',
      'floorsense_exporter_mqtt_connect_failures_total{reason="unreachable"} 0',
      'floorsense_exporter_mqtt_connect_failures_total{reason="timeout"} 0',
      'floorsense_exporter_mqtt_connect_failures_total{reason="other"} 0',
    ]);
  });
});
