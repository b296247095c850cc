import { readFileSync } from "node:fs";
import { Gauge, type Registry } from "prom-client";

function readPackageVersion(): string {
  // Works from source (lib/) and from the compiled tree (dist/lib/).
  for (const candidate of ["../package.json", "../../package.json"]) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(candidate, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (parsed.name === "floorsense" && parsed.version) return parsed.version;
    } catch {
      // try the next location
    }
  }
  return "unknown";
}

export const VERSION = readPackageVersion();
export const REVISION = process.env.FLOORSENSE_REVISION ?? "unknown";

/** `floorsense_<service>_build_info{version,revision,nodejs} 1`, as the Go exporters do it. */
export function registerBuildInfo(registry: Registry, service: string): Gauge {
  const gauge = new Gauge({
    name: `floorsense_${service.replace(/-/g, "_")}_build_info`,
    help: `A metric with a constant '1' value labelled by the version of the floorsense ${service}.`,
    labelNames: ["version", "revision", "nodejs"],
    registers: [registry],
  });
  gauge.set({ version: VERSION, revision: REVISION, nodejs: process.version }, 1);
  return gauge;
}
