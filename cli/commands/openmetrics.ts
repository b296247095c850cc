import type { CommandModule } from "yargs";

// Filled by the OpenMetrics codec work: `lint` and `convert`.
export const openmetricsCommand: CommandModule = {
  command: "openmetrics <command>",
  describe: "Check and convert OpenMetrics / Prometheus text expositions",
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
