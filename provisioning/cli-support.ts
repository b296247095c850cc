import { join, resolve } from "node:path";
import type { Argv } from "yargs";
import { CliExit } from "../lib/cli-exit.js";
import { ValidationError } from "./names.js";
import type { ProvisioningContext } from "./operations.js";

export interface CommonArgs {
  inventory: string;
  out?: string;
  "dry-run": boolean;
}

export function withCommonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option("inventory", {
      type: "string",
      default: "./floorsense",
      describe: "Inventory folder (tenants/, machines/, settings.yaml)",
    })
    .option("out", {
      type: "string",
      describe: "Folder for the generated files and secrets",
      defaultDescription: "<inventory>/generated",
    })
    .option("dry-run", {
      type: "boolean",
      default: false,
      describe: "Print what would change as a unified diff and write nothing",
    }) as Argv<T & CommonArgs>;
}

/** The machine dashboard comes from the stack's dashboard code, loaded only by commands that write it. */
async function loadMachineDashboard(): Promise<ProvisioningContext["machineDashboard"]> {
  const [{ machineDashboard }, { renderDashboardJson }] = await Promise.all([
    import("../dashboards/machine-detail.js"),
    import("../dashboards/render.js"),
  ]);
  return (m) =>
    renderDashboardJson(
      machineDashboard(
        { tenant: m.tenant, site: m.site, machine: m.machine },
        { temperatureForecast: m.temperatureForecast },
      ),
    );
}

export async function contextFrom(args: CommonArgs): Promise<ProvisioningContext> {
  const inventoryDir = resolve(args.inventory);
  return {
    machineDashboard: await loadMachineDashboard(),
    inventoryDir,
    outDir: resolve(args.out ?? join(inventoryDir, "generated")),
    dryRun: args["dry-run"],
    cwd: process.cwd(),
    note: (line) => process.stderr.write(`note: ${line}\n`),
  };
}

/** Runs a provisioning step; a validation problem ends the command with exit code 2 and its message. */
export async function runStep(step: () => string | Promise<string>): Promise<void> {
  let output: string;
  try {
    output = await step();
  } catch (error) {
    if (error instanceof ValidationError) throw new CliExit(`floorsense: ${error.message}`, 2);
    throw error;
  }
  process.stdout.write(output);
}
