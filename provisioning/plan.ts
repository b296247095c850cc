import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { removeFileDurably, writeFileAtomic } from "../lib/durable-files.js";
import type { DesiredFile } from "./outputs.js";
import { unifiedDiff } from "./unified-diff.js";

export interface Change {
  path: string;
  action: "create" | "update" | "delete";
  before?: string;
  after?: string;
  mode: number;
  secret: boolean;
}

/** Files under a folder that floorsense owns (and may delete when nothing wants them any more). */
function walk(dir: string, accept: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, accept));
    else if (entry.isFile() && accept(entry.name)) out.push(path);
  }
  return out;
}

/** Every file a previous run may have generated, so stale ones (a removed machine's) are deleted. */
export function managedFiles(outDir: string): string[] {
  return [
    ...walk(join(outDir, "edge"), (n) => n.endsWith(".yaml")),
    ...walk(join(outDir, "predictor"), (n) => n.endsWith(".yaml")),
    ...walk(join(outDir, "dashboards"), (n) => n.endsWith(".json")),
    ...walk(join(outDir, "prometheus"), (n) => /^scrape-.*\.yml$/.test(n)),
    ...walk(join(outDir, "secrets"), (n) => /\.(txt|token)$/.test(n)),
    ...walk(join(outDir, "bridge"), (n) => n === "tenants.yaml"),
    ...walk(join(outDir, "mosquitto"), (n) => n === "passwd" || n === "acl"),
  ];
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * What must change on disk to reach `desired`. `null` in desired means "delete"; managed files
 * not in desired are deleted too. Unchanged files are left alone, which makes re-runs no-ops.
 */
export function planChanges(desired: Map<string, DesiredFile | null>, managed: string[]): Change[] {
  const changes: Change[] = [];
  const all = new Map<string, DesiredFile | null>(desired);
  for (const path of managed) if (!all.has(path)) all.set(path, null);
  for (const [path, want] of [...all.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const before = readIfExists(path);
    if (want === null) {
      if (before !== undefined)
        changes.push({ path, action: "delete", before, mode: 0, secret: isSecretPath(path) });
      continue;
    }
    if (before === want.content) {
      // Same content: only tighten a secret's mode if someone loosened it.
      if (want.secret && (statSync(path).mode & 0o777) !== want.mode) {
        changes.push({ path, action: "update", before, after: want.content, mode: want.mode, secret: true });
      }
      continue;
    }
    changes.push({
      path,
      action: before === undefined ? "create" : "update",
      before,
      after: want.content,
      mode: want.mode,
      secret: want.secret,
    });
  }
  return changes;
}

function isSecretPath(path: string): boolean {
  return /\.(txt|token)$/.test(path) && path.includes(`${"/"}secrets${"/"}`);
}

/** Password hashes are not secrets, but they are noise and random: diffs show a placeholder. */
function maskPasswordHashes(diff: string): string {
  return diff.replace(/^([ +-][^:#\n][^:\n]*):\$[67]\$[^\n]*$/gm, "$1:<password hash>");
}

export function describeChanges(changes: Change[], cwd: string): string {
  let out = "";
  for (const change of changes) {
    const shown = relative(cwd, change.path) || change.path;
    if (change.secret) {
      const verb = change.action === "create" ? "new" : change.action === "delete" ? "deleted" : "changed";
      out += `--- ${change.action === "create" ? "/dev/null" : `a/${shown}`}\n+++ ${change.action === "delete" ? "/dev/null" : `b/${shown}`}\n`;
      out += `@@ secret: ${verb}, content not shown (mode 0600) @@\n`;
      continue;
    }
    let diff = unifiedDiff(shown, change.before, change.after);
    if (change.path.endsWith("/passwd")) diff = maskPasswordHashes(diff);
    out += diff;
  }
  return out;
}

/** Order matters if the process dies half way: secrets before the hashes that depend on them. */
function rank(change: Change): number {
  if (change.secret) return 0;
  if (change.path.endsWith("/passwd")) return 2;
  if (change.path.endsWith("/acl")) return 3;
  return 1;
}

function removeEmptyParents(path: string, stopAt: string[]): void {
  let dir = dirname(path);
  while (!stopAt.includes(dir) && existsSync(dir) && readdirSync(dir).length === 0) {
    rmdirSync(dir);
    dir = dirname(dir);
  }
}

export function applyChanges(changes: Change[], roots: string[]): void {
  for (const change of [...changes].sort((a, b) => rank(a) - rank(b))) {
    if (change.action === "delete") {
      removeFileDurably(change.path);
      removeEmptyParents(change.path, roots);
    } else writeFileAtomic(change.path, change.after!, change.mode);
  }
}
