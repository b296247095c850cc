import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/**
 * What provisioning needs to know about device profiles: their names and the metrics they
 * produce. Profiles are the exporter's data files (exporter/profiles/*.yaml); they are read
 * here as data, the exporter's code is not imported (services stay independent).
 */
export interface ProfileInfo {
  name: string;
  metrics: Set<string>;
  file: string;
}

/** The profiles shipped with floorsense, from the source tree and from dist/. */
export function builtinProfileDir(): string {
  for (const candidate of ["../exporter/profiles/", "../../exporter/profiles/"]) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return resolve("exporter/profiles");
}

/** Profiles by name: extra folders first, so a site's own profile wins over a shipped one. */
export function loadProfileCatalog(extraDirs: string[] = []): Map<string, ProfileInfo> {
  const catalog = new Map<string, ProfileInfo>();
  for (const dir of [...extraDirs, builtinProfileDir()]) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(entry)) continue;
      const name = entry.replace(/\.ya?ml$/, "");
      if (catalog.has(name)) continue;
      const file = join(dir, entry);
      let metrics = new Set<string>();
      try {
        const data = parse(readFileSync(file, "utf8")) as { metrics?: Record<string, unknown> } | null;
        metrics = new Set(Object.keys(data?.metrics ?? {}));
      } catch {
        // A broken profile is the exporter's to report; here it still counts as known by name.
      }
      catalog.set(name, { name, metrics, file });
    }
  }
  return catalog;
}
