/**
 * How far the actual value lies from the forecast made for it, in half-widths of the interval made
 * for it: 0 on the forecast, 1 on the interval's edge, above 1 outside. Alert rules use `> 1`.
 */
export function anomalyScore(actual: number, forecast: number, halfWidth: number): number {
  if (Number.isNaN(actual) || Number.isNaN(forecast) || !(halfWidth > 0)) return Number.NaN;
  return Math.abs(actual - forecast) / halfWidth;
}

/**
 * How unusual the recent scores of a stream are against its own score history: the normal tail
 * probability of the mean of the last `shortLength` scores under a normal fit of the last
 * `historyLength` ones, reported as 1 − tail on a log scale (0.5 ≈ tail 1e-5, 1 ≈ 1e-10), so a
 * single threshold works for quiet and noisy series alike and very rare values stay distinct.
 */
export class AnomalyLikelihood {
  private readonly history: number[] = [];
  private readonly recent: number[] = [];
  private sum = 0;
  private sumSq = 0;
  private recentSum = 0;

  constructor(
    private readonly historyLength = 8_640,
    private readonly shortLength = 10,
    private readonly warmup = 288,
  ) {}

  update(score: number): number {
    if (Number.isNaN(score)) return 0;
    this.recent.push(score);
    this.recentSum += score;
    if (this.recent.length > this.shortLength) this.recentSum -= this.recent.shift()!;
    let likelihood = 0;
    const n = this.history.length;
    if (n >= this.warmup) {
      const mean = this.sum / n;
      const std = Math.sqrt(Math.max(0, this.sumSq / n - mean * mean)) || 1e-6;
      const z = (this.recentSum / this.recent.length - mean) / std;
      likelihood = Math.min(1, -Math.log10(normalTail(z)) / 10);
    }
    this.history.push(score);
    this.sum += score;
    this.sumSq += score * score;
    if (this.history.length > this.historyLength) {
      const old = this.history.shift()!;
      this.sum -= old;
      this.sumSq -= old * old;
    }
    return likelihood;
  }
}

/** P(Z > z) for a standard normal Z, with relative accuracy kept far into the tail (A&S 7.1.26 on erfc). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
    t *
    Math.exp(-x * x);
  return z >= 0 ? 0.5 * erfc : 1 - 0.5 * erfc;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 1 - normalTail(z);
}
