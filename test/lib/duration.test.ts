import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../lib/duration.js";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["500ms", 500],
    ["15s", 15_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1d", 86_400_000],
    ["2w", 1_209_600_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "15", "1.5h", "-1s", "1m1h", "10 s", "1S"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow(
      `invalid duration "${text}": expected a Prometheus duration such as 500ms, 15s, 5m, 1h30m`,
    );
  });

  it("formats the way Prometheus prints durations", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(1_500)).toBe("1s500ms");
  });
});
