import { findProgram } from "../../stack/programs.js";

/** Absolute path of a program on PATH or in the sbin folders, or undefined. */
export const findBinary = findProgram;

/**
 * Decides whether a suite that needs real programs can run. Outside CI a missing program skips
 * the suite with a visible message; under CI=true it is a failure, so CI never goes green by
 * skipping. Use as `describe.skipIf(!needs("promtool"))(...)`.
 */
export function needs(...names: string[]): boolean {
  const missing = names.filter((name) => !findBinary(name));
  if (missing.length === 0) return true;
  const message = `missing ${missing.join(", ")} (Debian: apt-get install -y prometheus mosquitto mosquitto-clients prometheus-alertmanager socat)`;
  if (process.env.CI === "true") throw new Error(`CI=true and ${message}`);
  console.warn(`SKIPPING suite: ${message}`);
  return false;
}
