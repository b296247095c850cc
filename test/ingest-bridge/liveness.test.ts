import { describe, expect, it } from "vitest";
import { Liveness } from "../../ingest-bridge/liveness.js";

const dev = (device: string, machine = "press") => ({ tenant: "acme", site: "s1", machine, device });

function harness() {
  const events: string[] = [];
  const liveness = new Liveness(
    { stalenessMultiple: 3, defaultPollIntervalMs: 60_000 },
    {
      gone: (id, why) => events.push(`gone ${id.machine}/${id.device} ${why}`),
      lastMessage: (id, s) => events.push(`last ${id.device} ${s}`),
      online: (id, online) => events.push(`online ${id.device} ${online ? 1 : 0}`),
    },
  );
  return { liveness, events };
}

describe("Liveness", () => {
  it("learns the poll interval from acquisition times and calls a device silent after 3 of them", () => {
    const { liveness, events } = harness();
    liveness.message(dev("m1"), 1_000_000, 1000);
    liveness.message(dev("m1"), 1_010_000, 1010);
    expect(liveness.intervalOf(dev("m1"))).toBe(10_000);
    liveness.sweep(1_040_000);
    expect(events).toEqual(["online m1 1", "last m1 1000", "last m1 1010"]);
    liveness.sweep(1_040_001);
    expect(events.at(-1)).toBe("gone press/m1 silent");
    liveness.sweep(1_100_000);
    expect(events.filter((e) => e.startsWith("gone"))).toHaveLength(1);
  });

  it("uses the default poll interval until a second message, and ignores replayed (older) stamps", () => {
    const { liveness } = harness();
    liveness.message(dev("m1"), 5_000, Number.NaN);
    expect(liveness.intervalOf(dev("m1"))).toBe(60_000);
    liveness.message(dev("m1"), 6_000, 2000);
    liveness.message(dev("m1"), 6_001, 1990);
    liveness.message(dev("m1"), 6_002, 2005);
    expect(liveness.intervalOf(dev("m1"))).toBe(5_000);
  });

  it("takes every device of a machine away on offline and marks them online again on online", () => {
    const { liveness, events } = harness();
    liveness.message(dev("m1"), 0, 1);
    liveness.message(dev("m2"), 0, 1);
    liveness.message(dev("x", "lathe"), 0, 1);
    events.length = 0;
    liveness.status("acme", "s1", "press", false);
    expect(events).toEqual(["online m1 0", "gone press/m1 offline", "online m2 0", "gone press/m2 offline"]);
    events.length = 0;
    liveness.status("acme", "s1", "press", true);
    expect(events).toEqual(["online m1 1", "online m2 1"]);
  });

  it("reports a new device of an offline machine as offline", () => {
    const { liveness, events } = harness();
    liveness.status("acme", "s1", "press", false);
    liveness.message(dev("m1"), 0, 1);
    expect(events[0]).toBe("online m1 0");
  });
});
