// Writes dashboards/generated/*.json from the TypeScript sources: `npm run dashboards:generate`.
// The JSON is committed (Grafana provisioning reads it); test/dashboards fails when it is stale.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generatedDashboards, renderDashboardJson } from "./index.js";

const outDir = resolve(process.argv[2] ?? "dashboards/generated");
mkdirSync(outDir, { recursive: true });
for (const { file, dashboard } of generatedDashboards()) {
  writeFileSync(join(outDir, file), renderDashboardJson(dashboard));
  console.log(`wrote ${join(outDir, file)}`);
}
