import type { CommandModule } from "yargs";
import { contextFrom, runStep, withCommonOptions } from "../../provisioning/cli-support.js";
import { credentialsRotate } from "../../provisioning/operations.js";

export const credentialsCommand: CommandModule = {
  command: "credentials <command>",
  describe: "Rotate machine MQTT passwords, tenant scrape tokens and the bridge's MQTT password",
  builder: (y) =>
    y
      .command({
        command: "rotate",
        describe: "Replace a secret with a new random one (written to its 0600 file, never printed)",
        builder: (a) =>
          withCommonOptions(a)
            .option("tenant", {
              type: "string",
              describe: "Tenant of the machine (or of the scrape token)",
              defaultDescription: "none",
            })
            .option("site", {
              type: "string",
              describe: "Site of the machine, when the name is in several sites",
              defaultDescription: "any site",
            })
            .option("machine", {
              type: "string",
              describe: "Machine whose MQTT password to rotate",
              defaultDescription: "none",
            })
            .option("scrape-token", {
              type: "boolean",
              default: false,
              describe: "Rotate the tenant's scrape token",
            })
            .option("bridge", {
              type: "boolean",
              default: false,
              describe: "Rotate the bridge's MQTT password",
            }),
        handler: (args) =>
          runStep(
            async () =>
              credentialsRotate(await contextFrom(args), {
                tenant: args.tenant,
                site: args.site,
                machine: args.machine,
                scrapeToken: args["scrape-token"],
                bridge: args.bridge,
              }).report,
          ),
      })
      .demandCommand(1),
  handler: () => {},
};
