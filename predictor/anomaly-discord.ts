/**
 * How far the latest stretch of a stream lies from everything the stream did before: the mean
 * Euclidean distance from the last `window` values to their `neighbours` nearest stretches among
 * the previous `history` rows (stretches overlapping the current one excluded). A repeating
 * pattern has a near twin somewhere in the history and scores low; a shape the stream never made
 * scores high. Causal: row t uses rows ≤ t only. Cost per row O(history × window) at worst; the
 * distance loop stops as soon as a candidate cannot be among the nearest, and the previous row's
 * nearest offsets are measured first, so that bound is tight from the start: the nearest twin of
 * a stretch is usually the twin of the stretch one row earlier, shifted by that row. The result is
 * the exact k nearest, whatever the seed (same distances, summed in the same order).
 */
export class DiscordDistance {
  private readonly buffer: Float64Array;
  private readonly best: Float64Array;
  /** Offsets (rows back) of the previous row's nearest stretches, best first; 0 = none. */
  private readonly bestBack: Int32Array;
  private readonly seedBack: Int32Array;
  private rows = 0;

  constructor(
    private readonly window: number,
    private readonly history: number,
    private readonly neighbours: number,
  ) {
    if (!(window >= 1 && history >= 1 && neighbours >= 1))
      throw new Error(
        `discord window ${window}, history ${history}, neighbours ${neighbours} must all be ≥ 1`,
      );
    this.buffer = new Float64Array(2 * (history + 2 * window));
    this.best = new Float64Array(neighbours);
    this.bestBack = new Int32Array(neighbours);
    this.seedBack = new Int32Array(neighbours);
  }

  /** Adds a value and returns the distance of the stretch ending at it (0 until 2 × window rows were seen). */
  update(value: number): number {
    // Every value is stored twice, capacity apart, so any stretch of the last `capacity` rows is
    // contiguous and the inner loop needs no modulo.
    const capacity = this.buffer.length / 2;
    const i = this.rows++;
    const at = (i % capacity) + capacity;
    const buffer = this.buffer;
    buffer[at] = value;
    buffer[at - capacity] = value;
    const w = this.window;
    if (i < 2 * w) return 0;
    const k = this.neighbours;
    const farthest = Math.min(i - w + 1, w + this.history);
    const bound = this.seedBound(at, farthest);
    const best = this.best.fill(Number.POSITIVE_INFINITY);
    const bestBack = this.bestBack.fill(0);
    for (let back = w; back <= farthest; back++) {
      const limit = Math.min(best[k - 1]!, bound);
      const other = at - back;
      let d = 0;
      for (let m = 0; m < w && d < limit; m++) {
        const e = buffer[at - m]! - buffer[other - m]!;
        d += e * e;
      }
      if (d >= limit) continue;
      let p = k - 1;
      while (p > 0 && best[p - 1]! > d) {
        best[p] = best[p - 1]!;
        bestBack[p] = bestBack[p - 1]!;
        p--;
      }
      best[p] = d;
      bestBack[p] = back;
    }
    let sum = 0;
    let count = 0;
    for (let m = 0; m < k; m++) {
      if (!Number.isFinite(best[m]!)) continue;
      sum += Math.sqrt(best[m]!);
      count++;
    }
    return count > 0 ? sum / count / Math.sqrt(w) : 0;
  }

  /**
   * A distance that the k-th nearest stretch cannot exceed: the largest distance of the previous
   * row's k nearest offsets, measured now, made a hair larger so that ties with it are still
   * admitted. Infinity when there are not k of them to measure.
   */
  private seedBound(at: number, farthest: number): number {
    const k = this.neighbours;
    const w = this.window;
    const buffer = this.buffer;
    const seeds = this.seedBack;
    let count = 0;
    for (let n = 0; n < k; n++) {
      const back = this.bestBack[n]!;
      if (back >= w && back <= farthest) seeds[count++] = back;
    }
    if (count < k) return Number.POSITIVE_INFINITY;
    let worst = 0;
    for (let n = 0; n < k; n++) {
      const other = at - seeds[n]!;
      let d = 0;
      for (let m = 0; m < w; m++) {
        const e = buffer[at - m]! - buffer[other - m]!;
        d += e * e;
      }
      if (d > worst) worst = d;
    }
    return worst * (1 + 2 ** -40) + Number.MIN_VALUE;
  }
}
