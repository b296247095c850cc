import { describe, expect, it } from "vitest";
import { acceptsGzip, negotiateFormat } from "../../ingest-bridge/negotiation.js";

const OM1 = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const OM0 = "application/openmetrics-text; version=0.0.1; charset=utf-8";
const TEXT = "text/plain; version=0.0.4; charset=utf-8";

describe("negotiateFormat", () => {
  it.each([
    // What Prometheus 2.42 sends by default.
    [
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      OM1,
    ],
    // Prometheus with OpenMetrics negotiation switched off.
    ["text/plain;version=0.0.4;q=1,*/*;q=0.1", TEXT],
    ["application/openmetrics-text", OM1],
    ["application/openmetrics-text; version=0.0.1", OM0],
    ["application/openmetrics-text; version=2.0.0", TEXT],
    ["text/plain;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5", TEXT],
    ["text/plain;q=0.4, application/openmetrics-text;version=1.0.0;q=0.5", OM1],
    ["application/openmetrics-text;q=0, text/plain", TEXT],
    ["application/json", TEXT],
    ["*/*", TEXT],
    ["", TEXT],
  ])("Accept %j gives %s", (accept, contentType) => {
    expect(negotiateFormat(accept).contentType).toBe(contentType);
  });

  it("answers text 0.0.4 without an Accept header", () => {
    expect(negotiateFormat(undefined)).toEqual({ format: "text", contentType: TEXT });
  });
});

describe("acceptsGzip", () => {
  it.each([
    ["gzip", true],
    ["gzip, deflate, br", true],
    ["deflate", false],
    ["gzip;q=0", false],
    ["*", true],
    ["*;q=0.5, gzip;q=0", false],
    [undefined, false],
  ])("%s → %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});
