import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The shared datasets live beside the checkout (../shared/datasets) unless FLOORSENSE_DATASETS says otherwise. */
export function datasetsDir(): string {
  const dir = process.env.FLOORSENSE_DATASETS ?? join(REPO_ROOT, "..", "shared", "datasets");
  if (!existsSync(dir)) {
    throw new Error(
      `datasets not found at ${dir}; set FLOORSENSE_DATASETS to the folder holding ett/ and nab/`,
    );
  }
  return dir;
}
