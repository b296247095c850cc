/**
 * How far the latest stretch of a stream lies from everything the stream did before: the mean
 * Euclidean distance from the last `window` values to their `neighbours` nearest stretches among
 * the previous `history` rows (stretches overlapping the current one excluded). A repeating
 * pattern has a near twin somewhere in the history and scores low; a shape the stream never made
 * scores high. Causal: row t uses rows ≤ t only. Cost per row O(history × window) at worst; the
 * distance loop stops as soon as a candidate cannot be among the nearest.
 */
export class DiscordDistance {
  private readonly buffer: Float64Array;
  private readonly best: Float64Array;
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
    const best = this.best.fill(Number.POSITIVE_INFINITY);
    const k = this.neighbours;
    const farthest = Math.min(i - w + 1, w + this.history);
    for (let back = w; back <= farthest; back++) {
      const limit = best[k - 1]!;
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
        p--;
      }
      best[p] = d;
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
}
