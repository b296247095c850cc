import { readFile } from "node:fs/promises";
import type { Argv, CommandModule } from "yargs";
import { CliExit } from "../../lib/cli-exit.js";
import { convertExposition, type ExpositionFormat, lintExposition } from "../../openmetrics/tools.js";

async function readInput(file: string | undefined): Promise<{ data: Buffer; name: string }> {
  // yargs hands a lone "-" over as an empty string.
  if (file === undefined || file === "-" || file === "") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), name: "<stdin>" };
  }
  try {
    return { data: await readFile(file), name: file };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliExit(`floorsense openmetrics: cannot read ${file}: ${reason}`, 2);
  }
}

interface LintArgs {
  file?: string;
  format: ExpositionFormat;
  "strict-names": boolean;
}

const lintCommand: CommandModule<object, LintArgs> = {
  command: "lint [file]",
  describe:
    "Check an exposition: exit 0 when valid, else print file:line:col: message for the first problem and exit 1",
  builder: (y: Argv) =>
    y
      .positional("file", {
        type: "string",
        describe: "file to check; - reads standard input",
        defaultDescription: "standard input",
      })
      .option("format", {
        choices: ["openmetrics", "text"] as const,
        default: "openmetrics" as const,
        describe: "format to check against: OpenMetrics 1.0 or Prometheus text 0.0.4",
      })
      .option("strict-names", {
        type: "boolean",
        default: false,
        describe: "also report naming-convention problems (snake_case, HELP, _total, base units) as findings",
      }) as unknown as Argv<LintArgs>,
  handler: async (args) => {
    const input = await readInput(args.file);
    const result = lintExposition(input.data, input.name, args.format, { strictNames: args["strict-names"] });
    if (result.ok) {
      process.stderr.write(`${input.name}: ok (${result.families} families, ${result.samples} samples)\n`);
      return;
    }
    process.stdout.write(`${result.findings.join("\n")}\n`);
    process.exitCode = 1;
  },
};

interface ConvertArgs {
  file?: string;
  to: ExpositionFormat;
  from: ExpositionFormat | "auto";
}

const convertCommand: CommandModule<object, ConvertArgs> = {
  command: "convert [file]",
  describe: "Convert between OpenMetrics 1.0 and Prometheus text 0.0.4 (output on stdout)",
  builder: (y: Argv) =>
    y
      .positional("file", {
        type: "string",
        describe: "file to convert; - reads standard input",
        defaultDescription: "standard input",
      })
      .option("to", {
        choices: ["text", "openmetrics"] as const,
        demandOption: true,
        describe: "output format: text (0.0.4) or openmetrics (1.0)",
      })
      .option("from", {
        choices: ["auto", "openmetrics", "text"] as const,
        default: "auto" as const,
        describe: "input format; auto means OpenMetrics when the input ends with # EOF, else text 0.0.4",
      }) as unknown as Argv<ConvertArgs>,
  handler: async (args) => {
    const input = await readInput(args.file);
    const result = convertExposition(input.data, input.name, args.from, args.to);
    if (result.ok) {
      process.stdout.write(result.output);
      return;
    }
    process.stderr.write(`${result.error}\n`);
    process.exitCode = 1;
  },
};

export const openmetricsCommand: CommandModule = {
  command: "openmetrics <command>",
  describe: "Check and convert OpenMetrics / Prometheus text expositions",
  builder: (y) =>
    y
      .command(lintCommand as unknown as CommandModule)
      .command(convertCommand as unknown as CommandModule)
      .demandCommand(1, "Name a subcommand: lint or convert."),
  handler: () => {},
};
