export interface PlotInput {
  title: string;
  times: number[];
  actual: number[];
  forecast: number[];
  lower: number[];
  upper: number[];
}

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Actual vs forecast with the interval as a band; plain SVG, readable in any browser. */
export function renderPlot(input: PlotInput, width = 1000, height = 360): string {
  const pad = { left: 60, right: 20, top: 30, bottom: 40 };
  const finite = [...input.actual, ...input.lower, ...input.upper, ...input.forecast].filter(Number.isFinite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const t0 = input.times[0] ?? 0;
  const t1 = input.times.at(-1) ?? 1;
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0 || 1)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - min) / (max - min || 1)) * (height - pad.top - pad.bottom);
  const path = (values: number[]) => {
    let d = "";
    let pen = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(input.times[i]!).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const band: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length > 1) {
      const top = run.map((i) => `${x(input.times[i]!).toFixed(1)},${y(input.upper[i]!).toFixed(1)}`);
      const bottom = [...run]
        .reverse()
        .map((i) => `${x(input.times[i]!).toFixed(1)},${y(input.lower[i]!).toFixed(1)}`);
      band.push(
        `<polygon points="${[...top, ...bottom].join(" ")}" fill="#9ecae1" fill-opacity="0.5" stroke="none"/>`,
      );
    }
    run = [];
  };
  input.times.forEach((_, i) => {
    if (Number.isFinite(input.lower[i]!) && Number.isFinite(input.upper[i]!)) run.push(i);
    else flush();
  });
  flush();
  const ticks = [min, (min + max) / 2, max]
    .map(
      (v) =>
        `<text x="${pad.left - 6}" y="${y(v).toFixed(1)}" text-anchor="end" font-size="11">${v.toPrecision(4)}</text>`,
    )
    .join("");
  const date = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.left}" y="18" font-size="14">${esc(input.title)}</text>
${band.join("\n")}
<path d="${path(input.actual)}" fill="none" stroke="#222" stroke-width="1"/>
<path d="${path(input.forecast)}" fill="none" stroke="#e6550d" stroke-width="1.2"/>
${ticks}
<text x="${pad.left}" y="${height - 12}" font-size="11">${date(t0)}</text>
<text x="${width - pad.right}" y="${height - 12}" font-size="11" text-anchor="end">${date(t1)}</text>
<text x="${width - pad.right}" y="18" font-size="11" text-anchor="end">black: actual · orange: forecast · band: interval</text>
</svg>
`;
}
