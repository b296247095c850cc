import type { CommandModule } from "yargs";
import { contextFrom, runStep, withCommonOptions } from "../../provisioning/cli-support.js";
import { DEVICE_SPEC_HELP } from "../../provisioning/device-spec.js";
import { machineAdd, machineList, machineRemove, machineShow } from "../../provisioning/operations.js";

const identify = {
  tenant: { type: "string", describe: "Tenant name", demandOption: true },
  site: {
    type: "string",
    describe: "Site name (needed when the machine name exists in several sites)",
    defaultDescription: "any site",
  },
  machine: { type: "string", describe: "Machine name", demandOption: true },
} as const;

export const machineCommand: CommandModule = {
  command: "machine <command>",
  describe: "Add, list, show and remove machines; generates edge config, broker user and ACL, scrape job",
  builder: (y) =>
    y
      .command({
        command: "add",
        describe: "Add a machine (or re-run to converge): edge config, MQTT user and ACL, predictor targets",
        builder: (a) =>
          withCommonOptions(a)
            .option("tenant", {
              type: "string",
              describe: "Tenant name (must exist: floorsense tenant add)",
              defaultDescription: "none: required unless --from",
            })
            .option("site", {
              type: "string",
              describe: "Site name, e.g. plant-1",
              defaultDescription: "none: required unless --from",
            })
            .option("machine", {
              type: "string",
              describe: "Machine name, e.g. press-07",
              defaultDescription: "none: required unless --from",
            })
            .option("device", {
              type: "string",
              array: true,
              default: [] as string[],
              describe: `A device of the machine, repeatable: ${DEVICE_SPEC_HELP}`,
            })
            .option("horizon", {
              type: "string",
              array: true,
              default: [] as string[],
              describe: "Forecast horizon, repeatable",
              defaultDescription: "15m and 1h",
            })
            .option("from", {
              type: "string",
              describe: "Machine description YAML instead of the flags",
              defaultDescription: "none",
            })
            .option("replace", {
              type: "boolean",
              default: false,
              describe: "Apply a description that differs from the stored one",
            }),
        handler: (args) =>
          runStep(
            async () =>
              machineAdd(await contextFrom(args), {
                from: args.from,
                tenant: args.tenant,
                site: args.site,
                machine: args.machine,
                devices: args.device.map(String),
                horizons: args.horizon.map(String),
                replace: args.replace,
              }).report,
          ),
      })
      .command({
        command: "list",
        describe: "List the machines in the inventory",
        builder: (a) =>
          withCommonOptions(a).option("tenant", {
            type: "string",
            describe: "Only this tenant's machines",
            defaultDescription: "all tenants",
          }),
        handler: (args) => runStep(async () => machineList(await contextFrom(args), args.tenant)),
      })
      .command({
        command: "show",
        describe: "Print a machine's description",
        builder: (a) => withCommonOptions(a).options(identify),
        handler: (args) =>
          runStep(async () => machineShow(await contextFrom(args), args.tenant, args.machine, args.site)),
      })
      .command({
        command: "remove",
        describe: "Remove a machine: its inventory file, generated files, MQTT user and secret",
        builder: (a) => withCommonOptions(a).options(identify),
        handler: (args) =>
          runStep(
            async () => machineRemove(await contextFrom(args), args.tenant, args.machine, args.site).report,
          ),
      })
      .demandCommand(1),
  handler: () => {},
};
