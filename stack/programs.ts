import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Absolute path of a program from PATH or the sbin folders Debian installs daemons into. */
export function findProgram(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/usr/local/sbin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
