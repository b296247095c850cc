/**
 * Raised for any input that is not a valid exposition. `line` and `column` are 1-based; the column
 * counts Unicode code points, so it matches what an editor shows. `message` says what is wrong in
 * words a person can act on and never repeats the position (callers print `file:line:col: message`).
 */
export class OpenMetricsParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = "OpenMetricsParseError";
  }
}
