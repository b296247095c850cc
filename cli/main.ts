import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { VERSION } from "../lib/build-info.js";
import { CliExit } from "../lib/cli-exit.js";
import { ConfigError } from "../lib/config-loader.js";
import { bridgeCommand } from "./commands/bridge.js";
import { brokerCommand } from "./commands/broker.js";
import { credentialsCommand } from "./commands/credentials.js";
import { exporterCommand } from "./commands/exporter.js";
import { machineCommand } from "./commands/machine.js";
import { openmetricsCommand } from "./commands/openmetrics.js";
import { predictorCommand } from "./commands/predictor.js";
import { stackCommand } from "./commands/stack.js";
import { tenantCommand } from "./commands/tenant.js";

// One entry point for every service and tool, the way promtool and kubectl work.
// Each subcommand lives in cli/commands/<name>.ts and only parses flags before handing over.
export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName("floorsense")
    // Flags follow Prometheus' dotted style (--web.listen-address); they are names, not nesting.
    .parserConfiguration({ "dot-notation": false })
    .usage("$0 <command> [options]\n\nSee and foresee what factory machines do.")
    .command(openmetricsCommand)
    .command(exporterCommand)
    .command(predictorCommand)
    .command(brokerCommand)
    .command(bridgeCommand)
    .command(tenantCommand)
    .command(machineCommand)
    .command(credentialsCommand)
    .command(stackCommand)
    .demandCommand(1, "Name a command; `floorsense --help` lists them.")
    .strict()
    .recommendCommands()
    .version(VERSION)
    .alias("h", "help")
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((message, error, instance) => {
      if (error) throw error;
      instance.showHelp("error");
      console.error(`\n${message}`);
      process.exit(2);
    });
  try {
    await cli.parseAsync();
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message) console.error(error.message);
      process.exit(error.exitCode);
    }
    if (error instanceof ConfigError) {
      console.error(`floorsense: invalid configuration\n${error.message}`);
      process.exit(2);
    }
    console.error(`floorsense: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}

await main(hideBin(process.argv));
