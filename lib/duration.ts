const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a Prometheus duration ("15m", "1h30m", "500ms") into milliseconds.
 * Throws with the offending text, so config errors can quote it.
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const match = text === "" ? null : DURATION.exec(text);
  if (!match) {
    throw new Error(
      `invalid duration "${text}": expected a Prometheus duration such as 500ms, 15s, 5m, 1h30m`,
    );
  }
  const units = ["y", "w", "d", "h", "m", "s", "ms"];
  let total = 0;
  for (let i = 0; i < units.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) total += Number.parseInt(part, 10) * UNIT_MS[units[i]!]!;
  }
  return total;
}

/** Formats milliseconds the way Prometheus prints durations ("1h30m", "15s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["y", "w", "d", "h", "m", "s", "ms"]) {
    const size = UNIT_MS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
