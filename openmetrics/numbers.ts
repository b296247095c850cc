/**
 * Number syntax and rendering shared by the parsers and serializers.
 *
 * OpenMetrics numbers follow its ABNF exactly, which is much narrower than JS `Number()`:
 *   realnumber = [sign] digits [ "." *digit ] [ ("e"/"E") [sign] digits ]  |  [sign] *digit "." digits [exponent]
 *   number     = realnumber | [sign] ("inf" / "infinity") | "nan"          (the words case-insensitive)
 * `Number()` also accepts "" (as 0), " 1", "0x10", "0b1" and "Infinity" but not "inf", so the text is
 * validated against the grammar first and only then converted.
 */

const C_0 = 48;
const C_9 = 57;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/** Case-insensitive comparison of src[start, start+word.length) with a lowercase ASCII word. */
function matchesWord(src: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((src.charCodeAt(start + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses src[start, end) as an OpenMetrics `realnumber` (or, with `allowSpecial`, a `number`, which
 * adds NaN and ±Inf). Returns undefined when the text does not follow the grammar. The caller decides
 * what to do with values that overflow to ±Infinity.
 */
export function scanNumber(
  src: string,
  start: number,
  end: number,
  allowSpecial: boolean,
): number | undefined {
  if (start >= end) return undefined;
  let i = start;
  let c = src.charCodeAt(i);
  let negative = false;
  if (c === C_PLUS || c === C_MINUS) {
    negative = c === C_MINUS;
    i++;
    if (i >= end) return undefined;
    c = src.charCodeAt(i);
  }
  if (!isDigit(c) && c !== C_DOT) {
    if (!allowSpecial) return undefined;
    if (matchesWord(src, i, end, "inf") || matchesWord(src, i, end, "infinity")) {
      return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    // "nan" takes no sign: -NaN and +NaN are not OpenMetrics numbers.
    if (i === start && matchesWord(src, i, end, "nan")) return Number.NaN;
    return undefined;
  }
  // Fast path: a short run of plain digits is by far the most common value and needs no Number().
  let intValue = 0;
  const digitsStart = i;
  while (i < end && isDigit((c = src.charCodeAt(i)))) {
    intValue = intValue * 10 + (c - C_0);
    i++;
  }
  const intDigits = i - digitsStart;
  if (i === end) {
    if (intDigits <= 15) return negative ? -intValue : intValue;
    return Number(src.slice(start, end));
  }
  let fracDigits = 0;
  let mantissa = intValue;
  if (c === C_DOT) {
    i++;
    while (i < end && isDigit((c = src.charCodeAt(i)))) {
      mantissa = mantissa * 10 + (c - C_0);
      i++;
      fracDigits++;
    }
  }
  if (intDigits === 0 && fracDigits === 0) return undefined;
  if (i === end && intDigits + fracDigits <= 15) {
    // Both the digits (< 2^53) and 10^fracDigits are exact doubles, so one division is correctly
    // rounded: the same result Number() gives, without building a substring.
    const value = mantissa / POW10[fracDigits]!;
    return negative ? -value : value;
  }
  if (i < end) {
    c = src.charCodeAt(i);
    if (c !== 101 && c !== 69) return undefined; // e / E
    i++;
    if (i < end) {
      c = src.charCodeAt(i);
      if (c === C_PLUS || c === C_MINUS) i++;
    }
    const expStart = i;
    while (i < end && isDigit(src.charCodeAt(i))) i++;
    if (i === expStart || i !== end) return undefined;
  }
  // The text is now known to be a decimal literal that Number() reads exactly as the grammar means it.
  return Number(src.slice(start, end));
}

/** Parses a whole string as an OpenMetrics number (`allowSpecial`: NaN/±Inf allowed). */
export function parseOpenMetricsNumber(text: string, allowSpecial = true): number | undefined {
  return scanNumber(text, 0, text.length, allowSpecial);
}

/**
 * Renders a sample value or timestamp: the shortest text that reads back as the same float64
 * (JS's own algorithm), with the spellings OpenMetrics and text 0.0.4 use for the special values.
 */
export function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  if (value === 0 && 1 / value < 0) return "-0";
  return String(value);
}

/**
 * Renders a number the way the OpenMetrics "Canonical Numbers" section asks for `le` and `quantile`
 * label values: Go's `%g` with shortest precision (exponent form below 1e-4 and from 1e+06, exponent
 * at least two digits), with ".0" appended when there is neither a point nor an exponent.
 */
export function formatCanonicalNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  if (value === 0) return 1 / value < 0 ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const exp = value.toExponential(); // shortest round-trip digits, e.g. "1.5e-7"
  const ePos = exp.indexOf("e");
  const mantissa = exp.slice(value < 0 ? 1 : 0, ePos);
  const exponent = Number(exp.slice(ePos + 1));
  const digits = mantissa.replace(".", "");
  if (exponent < -4 || exponent >= 6) {
    const expSign = exponent < 0 ? "-" : "+";
    const expAbs = Math.abs(exponent);
    return `${sign}${mantissa}e${expSign}${expAbs < 10 ? "0" : ""}${expAbs}`;
  }
  let fixed: string;
  if (exponent < 0) {
    fixed = `0.${"0".repeat(-exponent - 1)}${digits}`;
  } else if (digits.length > exponent + 1) {
    fixed = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  } else {
    fixed = `${digits}${"0".repeat(exponent + 1 - digits.length)}.0`;
  }
  return sign + fixed;
}
