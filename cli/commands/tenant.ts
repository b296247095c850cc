import type { CommandModule } from "yargs";
import { contextFrom, runStep, withCommonOptions } from "../../provisioning/cli-support.js";
import { tenantAdd, tenantList } from "../../provisioning/operations.js";

export const tenantCommand: CommandModule = {
  command: "tenant <command>",
  describe: "Add and list tenants (scrape credentials, bridge tenant, Prometheus job)",
  builder: (y) =>
    y
      .command({
        command: "add <name>",
        describe: "Add a tenant: its scrape token, bridge tenant entry and Prometheus scrape job",
        builder: (a) =>
          withCommonOptions(a.positional("name", { type: "string", describe: "Tenant name, e.g. acme" })),
        handler: (args) => runStep(async () => tenantAdd(await contextFrom(args), String(args.name)).report),
      })
      .command({
        command: "list",
        describe: "List the tenants in the inventory",
        builder: (a) => withCommonOptions(a),
        handler: (args) => runStep(async () => tenantList(await contextFrom(args))),
      })
      .demandCommand(1),
  handler: () => {},
};
