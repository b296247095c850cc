#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import("../dist/cli/main.js").catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/main.js")) {
    console.error("floorsense: dist/ is missing; run `npm run build` first.");
    process.exit(1);
  }
  throw error;
});
