import { createHash } from "node:crypto";
import { scanNumber } from "./numbers.js";
import type { MetricFamily } from "./types.js";

/**
 * An edge device sends the same exposition over and over with new numbers: the same families,
 * HELP, labels and order, byte for byte, only sample values and timestamps differ. A template
 * remembers one payload the strict parser accepted and checks the next one against it: every byte
 * outside the value and timestamp tokens must be identical, and each token must be a number the
 * parser would accept in that place. Such a payload is valid exactly when the parser would say so,
 * and yields the same values, at a fraction of the cost of parsing: no UTF-8 decoding, no labels
 * to read, no objects built. Anything else (a new series, another HELP, an exemplar, a bad number)
 * makes `match` return false, and the caller parses the payload in full, which reports the error
 * or yields the new layout to build the next template from.
 *
 * Only families whose rules depend on nothing but each value alone are templated: gauge and
 * unknown (any number), counter with `_total` samples only (not negative, not NaN) and info (1).
 * Each series appears once, so no rule relates two samples. Anything else gets no template.
 */

const SP = 0x20;
const LF = 0x0a;
const HASH = 0x23;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What a value token must be, from its family's type. */
const ValueRule = { AnyNumber: 0, NotNegative: 1, One: 2 } as const;
type ValueRule = (typeof ValueRule)[keyof typeof ValueRule];

export class PayloadTemplate {
  /** Number of samples, in the parser's order (families in order, samples in line order). */
  readonly samples: number;
  /** Digest of everything but the numbers: equal for payloads any one template matches. */
  readonly shape: string;
  /** Bytes the template keeps. */
  readonly byteLength: number;

  private readonly skeletonView: DataView;

  private constructor(
    /** The payload without its number tokens. */
    private readonly skeleton: Uint8Array,
    /** Byte ranges in the skeleton: segment k precedes token k; the last one ends the payload. */
    private readonly segmentStart: Int32Array,
    private readonly segmentEnd: Int32Array,
    /** Per token: the index of its sample, and whether it is the sample's timestamp. */
    private readonly tokenSample: Int32Array,
    private readonly tokenIsTimestamp: Uint8Array,
    private readonly valueRules: Uint8Array,
    /** Per sample: 1 when it carries a timestamp. */
    private readonly timestamped: Uint8Array,
  ) {
    this.samples = valueRules.length;
    this.skeletonView = new DataView(skeleton.buffer, skeleton.byteOffset, skeleton.byteLength);
    this.shape = createHash("sha1").update(skeleton).update(tokenIsTimestamp).digest("base64");
    this.byteLength = skeleton.byteLength + 13 * segmentStart.length + 2 * valueRules.length;
  }

  /**
   * The template of `payload`, which `parseOpenMetrics` turned into `families` without error; or
   * undefined when the payload has something a template does not cover.
   */
  static build(payload: Uint8Array, families: readonly MetricFamily[]): PayloadTemplate | undefined {
    const rules: number[] = [];
    const seen = new Set<string>();
    for (const family of families) {
      for (const sample of family.samples) {
        const rule = ruleFor(family, sample.name);
        if (rule === undefined || sample.exemplar !== undefined) return undefined;
        // The same series twice would be two points, which must go forward in time: no template.
        const names = Object.keys(sample.labels);
        if (names.length > 1) names.sort();
        let key = sample.name;
        for (const name of names) key += `\u0000${name}\u0000${sample.labels[name]}`;
        if (seen.has(key)) return undefined;
        seen.add(key);
        rules.push(rule);
      }
    }

    const bytes = payload;
    const segmentStart: number[] = [];
    const segmentEnd: number[] = [];
    const tokenSample: number[] = [];
    const tokenIsTimestamp: number[] = [];
    const timestamped = new Uint8Array(rules.length);
    let segment = 0;
    let sample = 0;
    const n = bytes.length;
    let pos = 0;
    while (pos < n) {
      if (bytes[pos] === HASH) {
        pos = lineEnd(bytes, pos) + 1;
        continue;
      }
      pos = endOfSeriesName(bytes, pos);
      if (pos >= n || bytes[pos] !== SP) return undefined;
      pos++;
      segmentStart.push(segment);
      segmentEnd.push(pos);
      tokenSample.push(sample);
      tokenIsTimestamp.push(0);
      pos = tokenEnd(bytes, pos);
      segment = pos;
      if (bytes[pos] === SP) {
        pos++;
        if (bytes[pos] === HASH) return undefined; // exemplar
        segmentStart.push(segment);
        segmentEnd.push(pos);
        tokenSample.push(sample);
        tokenIsTimestamp.push(1);
        timestamped[sample] = 1;
        pos = tokenEnd(bytes, pos);
        segment = pos;
      }
      if (bytes[pos] !== LF) return undefined;
      sample++;
      pos++;
    }
    if (sample !== rules.length) return undefined;
    segmentStart.push(segment);
    segmentEnd.push(n);

    let skeletonLength = 0;
    for (let k = 0; k < segmentStart.length; k++) skeletonLength += segmentEnd[k]! - segmentStart[k]!;
    const skeleton = new Uint8Array(skeletonLength);
    let at = 0;
    for (let k = 0; k < segmentStart.length; k++) {
      skeleton.set(bytes.subarray(segmentStart[k], segmentEnd[k]), at);
      segmentEnd[k] = at + segmentEnd[k]! - segmentStart[k]!;
      segmentStart[k] = at;
      at = segmentEnd[k]!;
    }
    return new PayloadTemplate(
      skeleton,
      Int32Array.from(segmentStart),
      Int32Array.from(segmentEnd),
      Int32Array.from(tokenSample),
      Uint8Array.from(tokenIsTimestamp),
      Uint8Array.from(rules),
      timestamped,
    );
  }

  /** True when both match exactly the same payloads (a shape digest alone could collide). */
  sameShape(other: PayloadTemplate): boolean {
    return (
      equalBytes(this.skeleton, other.skeleton) &&
      equalBytes(this.tokenIsTimestamp, other.tokenIsTimestamp) &&
      equalBytes(this.segmentEnd, other.segmentEnd) &&
      equalBytes(this.valueRules, other.valueRules)
    );
  }

  /**
   * Checks `payload` against the template. On a match, `values[i]` and `timestamps[i]` (seconds;
   * NaN where the sample has none) hold sample i and true is returned; on false their content is
   * unspecified.
   */
  match(input: Uint8Array, values: Float64Array, timestamps: Float64Array): boolean {
    const skeleton = this.skeletonView;
    const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    // A plain Uint8Array view: indexing a Buffer (a subclass) is several times slower in V8.
    const payload = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const starts = this.segmentStart;
    const ends = this.segmentEnd;
    const n = payload.length;
    const tokens = this.tokenSample.length;
    let pos = 0;
    for (let k = 0; k <= tokens; k++) {
      const start = starts[k]!;
      const length = ends[k]! - start;
      if (pos + length > n || !sameBytes(view, pos, skeleton, start, length)) return false;
      pos += length;
      if (k === tokens) break;
      const end = readToken(payload, pos, n);
      if (end <= pos) return false;
      const sample = this.tokenSample[k]!;
      let number = plainValue;
      if (this.tokenIsTimestamp[k] === 1) {
        if (Number.isNaN(number)) {
          const ts = scanNumber(latin1(payload, pos, end), 0, end - pos, false);
          if (ts === undefined || !Number.isFinite(ts)) return false;
          number = ts;
        }
        timestamps[sample] = number;
      } else {
        if (Number.isNaN(number)) {
          const text = latin1(payload, pos, end);
          const value = scanNumber(text, 0, text.length, true);
          if (value === undefined || !spellsInfinityRight(value, text)) return false;
          number = value;
        }
        if (!this.allowed(number, sample)) return false;
        values[sample] = number;
        if (this.timestamped[sample] === 0) timestamps[sample] = Number.NaN;
      }
      pos = end;
    }
    return pos === n;
  }

  private allowed(value: number, sample: number): boolean {
    switch (this.valueRules[sample]) {
      case ValueRule.NotNegative:
        return value >= 0;
      case ValueRule.One:
        return value === 1;
      default:
        return true;
    }
  }
}

/** A decimal literal too large for a float64 reads as ±Infinity; the parser refuses it. */
function spellsInfinityRight(value: number, text: string): boolean {
  if (value !== Number.POSITIVE_INFINITY && value !== Number.NEGATIVE_INFINITY) return true;
  const last = text.charCodeAt(text.length - 1) | 0x20;
  return last === 0x66 || last === 0x79; // "inf" or "infinity"
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Set by readToken: the token's value when it has the common shape, NaN when it must be read in full. */
let plainValue = Number.NaN;

/**
 * Finds the end of the token at `from` (a space, a newline or the end of the payload) and, in the
 * same pass, reads the common token shape `[-]digits[.digits]` with at most 15 digits into
 * `plainValue`, with the codec's own fast-path arithmetic (exact digits, one correctly rounded
 * division), so the result is the float64 `scanNumber` gives. Any other token leaves NaN there
 * for the full grammar. Returns -1 for a byte no token may hold.
 */
function readToken(bytes: Uint8Array, from: number, n: number): number {
  let i = from;
  const negative = i < n && bytes[i] === 0x2d;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  let plain = true;
  for (; i < n; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x2e && point < 0) {
      point = i;
    } else if (c === SP || c === LF) {
      break;
    } else if (c > 0x7e || c < 0x21) {
      return -1;
    } else {
      plain = false;
    }
  }
  if (plain && digits > 0 && digits <= 15) {
    const fractionDigits = point < 0 ? 0 : i - point - 1;
    const value = fractionDigits === 0 ? mantissa : mantissa / POW10[fractionDigits]!;
    plainValue = negative ? -value : value;
  } else {
    plainValue = Number.NaN;
  }
  return i;
}

function ruleFor(family: MetricFamily, sampleName: string): ValueRule | undefined {
  switch (family.type) {
    case "gauge":
    case "unknown":
      return ValueRule.AnyNumber;
    case "counter":
      return sampleName === `${family.name}_total` ? ValueRule.NotNegative : undefined;
    case "info":
      return ValueRule.One;
    default:
      return undefined;
  }
}

/** Four bytes at a time: DataView reads at any offset compile to plain loads, byte indexing does not. */
function sameBytes(a: DataView, aStart: number, b: DataView, bStart: number, length: number): boolean {
  let i = 0;
  // Little-endian reads: no byte swap, and equality does not care about the order.
  for (; i + 8 <= length; i += 8) {
    if (
      a.getUint32(aStart + i, true) !== b.getUint32(bStart + i, true) ||
      a.getUint32(aStart + i + 4, true) !== b.getUint32(bStart + i + 4, true)
    )
      return false;
  }
  for (; i < length; i++) if (a.getUint8(aStart + i) !== b.getUint8(bStart + i)) return false;
  return true;
}

function equalBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    Buffer.compare(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

function lineEnd(bytes: Uint8Array, from: number): number {
  const at = bytes.indexOf(LF, from);
  return at < 0 ? bytes.length : at;
}

/** End of `name` or `name{labels}`: label values are quoted and may hold spaces, braces and escapes. */
function endOfSeriesName(bytes: Uint8Array, from: number): number {
  let pos = from;
  const n = bytes.length;
  while (pos < n && bytes[pos] !== SP && bytes[pos] !== LBRACE && bytes[pos] !== LF) pos++;
  if (bytes[pos] !== LBRACE) return pos;
  let quoted = false;
  for (pos++; pos < n; pos++) {
    const c = bytes[pos];
    if (quoted) {
      if (c === BACKSLASH) pos++;
      else if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) quoted = true;
    else if (c === RBRACE) return pos + 1;
  }
  return pos;
}

function tokenEnd(bytes: Uint8Array, from: number): number {
  let pos = from;
  while (pos < bytes.length && bytes[pos] !== SP && bytes[pos] !== LF) pos++;
  return pos;
}

/** Tokens are short printable ASCII: building the string by code units beats a decoder call. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
