import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of floorsense's own package.json, found from this file so it works both from source
 * (lib/) and from the compiled tree (dist/lib/). Data that ships beside the code (rules, profiles,
 * dashboards) is read relative to it.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "floorsense")
          return dir;
      } catch {
        // not ours; keep going up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find floorsense's package.json above lib/repo-root");
    dir = parent;
  }
}
