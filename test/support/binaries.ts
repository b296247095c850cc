import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Absolute path of a program on PATH (or in the usual sbin folders), or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin"]) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

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
