import { readFileSync } from "node:fs";
import { fillShortGaps, type GridSeries } from "./series-preparation.js";

/** Splits one CSV line, honouring double quotes ("" inside quotes is a quote). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/** Epoch seconds or milliseconds, or an ISO-like date; a date without zone is taken as UTC. */
export function parseTime(text: string): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    return n > 1e11 ? n : n * 1000;
  }
  const iso = trimmed.replace(" ", "T");
  const withZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
  return Date.parse(withZone);
}

export interface CsvTable {
  header: string[];
  rows: string[][];
}

export function readCsv(file: string): CsvTable {
  const lines = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
  if (lines.length < 2) throw new Error(`${file}: expected a header line and data lines`);
  return { header: splitCsvLine(lines[0]!).map((h) => h.trim()), rows: lines.slice(1).map(splitCsvLine) };
}

export function columnIndex(table: CsvTable, file: string, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) throw new Error(`${file}: no column "${name}" (columns: ${table.header.join(", ")})`);
  return index;
}

export interface CsvSeries {
  series: GridSeries;
  /** Grid index of every CSV row, in row order. */
  rowIndex: number[];
  times: number[];
}

/**
 * One CSV column on a regular grid. The step is the most common interval between rows unless
 * given; missing rows become gaps (short ones interpolated, long ones kept missing).
 */
export function csvToSeries(
  table: CsvTable,
  file: string,
  timeColumn: string,
  valueColumn: string,
  options: { stepMs?: number; maxGapSteps?: number } = {},
): CsvSeries {
  const ti = columnIndex(table, file, timeColumn);
  const vi = columnIndex(table, file, valueColumn);
  const times: number[] = [];
  const values: number[] = [];
  table.rows.forEach((row, r) => {
    const t = parseTime(row[ti] ?? "");
    if (Number.isNaN(t))
      throw new Error(`${file}:${r + 2}: column ${timeColumn}: not a time: ${JSON.stringify(row[ti])}`);
    const raw = (row[vi] ?? "").trim();
    const v = raw === "" ? Number.NaN : Number(raw);
    if (raw !== "" && Number.isNaN(v) && raw.toLowerCase() !== "nan") {
      throw new Error(`${file}:${r + 2}: column ${valueColumn}: not a number: ${JSON.stringify(row[vi])}`);
    }
    times.push(t);
    values.push(v);
  });
  const stepMs = options.stepMs ?? mostCommonInterval(times);
  if (!(stepMs > 0)) throw new Error(`${file}: cannot infer a step: timestamps do not increase`);
  const start = times[0]!;
  const length = Math.round((times.at(-1)! - start) / stepMs) + 1;
  const grid = new Float64Array(length).fill(Number.NaN);
  const rowIndex = times.map((t, i) => {
    const index = Math.round((t - start) / stepMs);
    if (index >= 0 && index < length) grid[index] = values[i]!;
    return index;
  });
  const filled = fillShortGaps(grid, options.maxGapSteps ?? 3);
  let missing = 0;
  for (const v of filled.values) if (Number.isNaN(v)) missing++;
  return {
    series: {
      key: valueColumn,
      labels: { series: valueColumn },
      startMs: start,
      stepMs,
      values: filled.values,
      interpolated: filled.interpolated,
      missing,
    },
    rowIndex,
    times,
  };
}

export function mostCommonInterval(times: number[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const d = times[i]! - times[i - 1]!;
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = 0;
  for (const [d, c] of counts) if (c > bestCount || (c === bestCount && d < best)) [best, bestCount] = [d, c];
  return best;
}
