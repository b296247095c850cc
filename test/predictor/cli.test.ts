import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { gaussian } from "./synthetic.js";

describe("floorsense predictor backtest / detect", () => {
  let dir: string;
  let csv: string;
  const rows = 30 * 24;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "floorsense-predictor-cli-"));
    csv = join(dir, "load.csv");
    const normal = gaussian(5);
    const lines = ["timestamp,value"];
    for (let i = 0; i < rows; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().replace("T", " ").slice(0, 19);
      lines.push(`${t},${(100 + 30 * Math.sin((2 * Math.PI * i) / 24) + 2 * normal()).toFixed(3)}`);
    }
    writeFileSync(csv, `${lines.join("\n")}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints every model's metrics next to the baselines and writes the plot", async () => {
    const plot = join(dir, "plot.svg");
    const small = ["--window", "12", "--units", "4", "--epochs", "1", "--ensemble", "2", "--backend", "cpu"];
    const result = await runCli(
      ["predictor", "backtest", "--csv", csv, "--horizon", "6h", "--plot", plot, ...small],
      {
        timeoutMs: 120_000,
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(
      `backtest of ${csv} column value: 720 points, step 3600s, horizon 6h (6 horizons of 1..6 steps of 3600s)`,
    );
    expect(lines[1]).toBe("split: train [0, 504), validation [504, 612), test [612, 720); backend cpu");
    expect(lines[4]).toMatch(/^model\s+MAE\s+RMSE\s+sMAPE%\s+MASE\s+coverage\(90%\)\s+n$/);
    const models = lines.slice(5, 12).map((line) => line.split(/\s+/)[0]);
    expect(models.sort()).toEqual([
      "holt_winters",
      "lstm",
      "lstm_blend",
      "naive",
      "predict_linear",
      "seasonal_naive_1d",
      "seasonal_naive_1w",
    ]);
    // 108 test points, origins 611..713: 103 origins × 6 horizons.
    for (const line of lines.slice(5, 12)) expect(line).toMatch(/ 618$/);
    expect(result.stdout).toMatch(/\nserved: [a-z_0-9]+ \(.+\)\nplot: /);
    const svg = readFileSync(plot, "utf8");
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain("<polygon");
  }, 150_000);

  it("names the file and column when the column is missing", async () => {
    const result = await runCli(["predictor", "backtest", "--csv", csv, "--value-column", "watts"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `floorsense predictor: ${csv}: no column "watts" (columns: timestamp, value)\n`,
    );
  });

  it("names the flag when a model setting is out of range", async () => {
    const result = await runCli(["predictor", "backtest", "--csv", csv, "--ensemble", "9"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("floorsense predictor: --ensemble: Too big: expected number to be <=8\n");
  });

  it("detect writes one scored line per row, marked with its part", async () => {
    const result = await runCli(["predictor", "detect", "--csv", csv, "--baselines-only"], {
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("timestamp,value,forecast,lower,upper,anomaly_score,anomaly_alarm,part");
    expect(lines).toHaveLength(rows + 1);
    expect(lines[1]).toMatch(/^2026-01-01T00:00:00.000Z,[0-9.]+,,,,,0,train$/);
    expect(lines.at(-1)).toMatch(
      /^2026-01-30T23:00:00.000Z,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,test$/,
    );
  }, 90_000);
});
