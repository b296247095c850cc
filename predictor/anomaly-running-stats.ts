/** Running statistics the streaming anomaly detector keeps per series, each O(1) amortised per value. */

/**
 * Smallest and largest value seen so far. Never narrowed: a range that shrank would make values
 * seen before look extreme again.
 */
export class RunningRange {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  observe(value: number): void {
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** max − min; for a constant stream a tiny positive width, so any change stands out. */
  get span(): number {
    const span = this.max - this.min;
    return span > 0 ? span : Math.max(1e-9, Math.abs(this.max) * 1e-9);
  }
}

/** Largest of the last `length` values added (before the current one), in O(1) amortised per update. */
export class SlidingMax {
  private readonly indexes: number[] = [];
  private readonly values: number[] = [];
  private head = 0;
  private rows = 0;

  constructor(private readonly length: number) {}

  /** Largest value among the last `length` ones added; −∞ when none. */
  get max(): number {
    while (this.head < this.indexes.length && this.indexes[this.head]! < this.rows - this.length) this.head++;
    return this.head < this.values.length ? this.values[this.head]! : Number.NEGATIVE_INFINITY;
  }

  push(value: number): void {
    while (this.values.length > this.head && this.values[this.values.length - 1]! <= value) {
      this.values.pop();
      this.indexes.pop();
    }
    this.values.push(value);
    this.indexes.push(this.rows++);
    if (this.head > 1024 && this.head * 2 > this.values.length) {
      this.values.splice(0, this.head);
      this.indexes.splice(0, this.head);
      this.head = 0;
    }
  }
}
