/**
 * Strict OpenMetrics 1.0 text parser: a hand-written scanner over the decoded string (charCodeAt,
 * no per-character regex, no line splitting) that validates the whole specification while it reads:
 * the ABNF, metadata placement, family and metric grouping, MetricPoint ordering, and every
 * per-type rule. Any violation throws OpenMetricsParseError with line, column and a message that
 * says what to change. Partial expositions are never returned (the spec treats them as invalid).
 */
import { OpenMetricsParseError } from "./errors.js";
import { scanNumber } from "./numbers.js";
import type { Exemplar, Labels, MetricFamily, MetricType, Sample } from "./types.js";
import { decodeUtf8 } from "./utf8.js";

const LF = 10;
const CR = 13;
const SP = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQ = 61;
const BS = 92;
const LBRACE = 123;
const RBRACE = 125;

/** What a sample is within its family, decided from its name's suffix. */
const R_VALUE = 0; // the bare family name: gauge, unknown, stateset, summary quantile
const R_TOTAL = 1;
const R_CREATED = 2;
const R_BUCKET = 3;
const R_COUNT = 4;
const R_SUM = 5;
const R_GCOUNT = 6;
const R_GSUM = 7;
const R_INFO = 8;

const TYPE_SUFFIXES: Record<MetricType, ReadonlyArray<readonly [string, number]>> = {
  counter: [
    ["_total", R_TOTAL],
    ["_created", R_CREATED],
  ],
  gauge: [["", R_VALUE]],
  histogram: [
    ["_bucket", R_BUCKET],
    ["_count", R_COUNT],
    ["_sum", R_SUM],
    ["_created", R_CREATED],
  ],
  gaugehistogram: [
    ["_bucket", R_BUCKET],
    ["_gcount", R_GCOUNT],
    ["_gsum", R_GSUM],
  ],
  summary: [
    ["", R_VALUE],
    ["_count", R_COUNT],
    ["_sum", R_SUM],
    ["_created", R_CREATED],
  ],
  stateset: [["", R_VALUE]],
  info: [["_info", R_INFO]],
  unknown: [["", R_VALUE]],
};

/** Per type: its sample suffixes and their roles as plain arrays (the hot paths avoid iterators). */
const SUFFIX_TEXT = {} as Record<MetricType, string[]>;
const SUFFIX_ROLE = {} as Record<MetricType, number[]>;
/** Per type: every sample name suffix the type claims, always including the bare name. */
const CLAIMS = {} as Record<MetricType, string[]>;
for (const type of Object.keys(TYPE_SUFFIXES) as MetricType[]) {
  SUFFIX_TEXT[type] = TYPE_SUFFIXES[type].map(([suffix]) => suffix);
  SUFFIX_ROLE[type] = TYPE_SUFFIXES[type].map(([, role]) => role);
  CLAIMS[type] = SUFFIX_TEXT[type].includes("") ? SUFFIX_TEXT[type] : ["", ...SUFFIX_TEXT[type]];
}
const TYPE_LIST = "counter, gauge, histogram, gaugehistogram, summary, stateset, info, unknown";

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || (c >= 48 && c <= 57);
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/**
 * Names repeat from payload to payload (a device publishes the same families every cycle), so
 * metric and label names are interned across calls: a name found again costs one comparison with
 * the cached string instead of a new slice, and the cached strings are internalized, so later
 * `===`, Map lookups and property stores on them need no hashing or character comparison. The
 * table is a fixed-size direct-mapped cache keyed by a hash computed while the name is scanned;
 * a collision only evicts, so memory stays bounded whatever names arrive.
 */
const INTERN_SLOTS = 4096;

/**
 * Whether `text` occurs in `src` at `pos`, as src.startsWith(text, pos), which was the top entry of
 * the profile. Measured on Node 20: for long texts a slice compared with `===` (a native memory
 * comparison; the slice is a small view, not a copy) is about 4× faster than any character loop;
 * for short ones the loop wins.
 */
function textAt(src: string, pos: number, text: string): boolean {
  const n = text.length;
  if (pos + n > src.length) return false;
  if (n > 12) return src.slice(pos, pos + n) === text;
  for (let i = n - 1; i >= 0; i--) {
    if (src.charCodeAt(pos + i) !== text.charCodeAt(i)) return false;
  }
  return true;
}
const internTable: Array<string | undefined> = new Array(INTERN_SLOTS);

/** A flat, internalized copy: property keys are internalized, and a slice may pin the whole input. */
function internalize(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}

/** Longer texts are not cached, so the table holds at most INTERN_SLOTS × INTERN_MAX_LENGTH characters. */
const INTERN_MAX_LENGTH = 256;

function intern(src: string, start: number, end: number, hash: number): string {
  if (end - start > INTERN_MAX_LENGTH) return src.slice(start, end);
  const slot = hash & (INTERN_SLOTS - 1);
  const cached = internTable[slot];
  if (cached !== undefined && cached.length === end - start && textAt(src, start, cached)) return cached;
  const text = internalize(src.slice(start, end));
  internTable[slot] = text;
  return text;
}

/** Per interned family name and type: the sample names the family claims (see Parser.register). */
const claimCache = new Map<string, Partial<Record<MetricType, string[]>>>();
const CLAIM_CACHE_LIMIT = 20_000;

function claimedNames(family: string, type: MetricType): string[] {
  let byType = claimCache.get(family);
  if (byType === undefined) {
    if (claimCache.size >= CLAIM_CACHE_LIMIT) claimCache.clear();
    byType = {};
    claimCache.set(family, byType);
  }
  let names = byType[type];
  if (names === undefined) {
    names = CLAIMS[type].map((suffix) => internalize(family + suffix));
    byType[type] = names;
  }
  return names;
}

/** Label names of the previous sample lines, by position in the label set (shared across calls). */
const labelNameCache: string[] = [];

/** Family names in the order the previous exposition gave them: the likely names of the next one. */
let previousFamilyOrder: string[] = [];

const TYPE_NAMES = Object.keys(TYPE_SUFFIXES) as MetricType[];

/** Renders a character for an error message so that invisible ones become visible. */
function describeChar(src: string, pos: number): string {
  if (pos >= src.length) return "end of input";
  const c = src.codePointAt(pos)!;
  if (c === LF) return "end of line";
  if (c === SP) return "a space";
  if (c === 9) return "a tab";
  if (c === CR) return "a carriage return";
  if (c < 32 || c === 127) return `control character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  return `"${String.fromCodePoint(c)}"`;
}

function formatLabels(labels: Labels, exclude: string | null = null): string {
  const parts: string[] = [];
  for (const name in labels) {
    if (name === exclude) continue;
    const v = labels[name]!.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
    parts.push(`${name}="${v}"`);
  }
  return `{${parts.join(",")}}`;
}

/** The label text as a canonical writer would produce it: names sorted, minimal escapes, `special` left out. */
function canonicalKey(labels: Labels, special: string | null): string {
  let key = "";
  for (const name of Object.keys(labels).sort()) {
    if (name === special) continue;
    const value = labels[name]!.replace(/[\\\n"]/g, (c) =>
      c === "\\" ? "\\\\" : c === "\n" ? "\\n" : '\\"',
    );
    key += key === "" ? `${name}="${value}"` : `,${name}="${value}"`;
  }
  return key;
}

function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--;
  }
  return n;
}

/** Where a sample name is registered, so later clashes can name the family that owns it. */
interface NameOwner {
  family: string;
  type: MetricType;
  line: number;
}

/** Receives families and samples as they are validated; see `scanOpenMetrics`. */
export interface OpenMetricsVisitor {
  /**
   * A family starts on `line`. Its `type`, `help` and `unit` are final once its first sample
   * arrives (or at its end).
   */
  family?(family: MetricFamily, line: number): void;
  /** A valid sample of the family last announced. */
  sample(sample: Sample, family: MetricFamily): void;
}

class Parser {
  private readonly src: string;
  private readonly len: number;
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  private readonly names = new Map<string, NameOwner>();

  // The family being read.
  private fam: MetricFamily | null = null;
  private famLine = 0;
  private typed = false;
  private registered = false;
  private hasSamples = false;
  private seenHelp = false;
  private seenUnit = false;
  /** Keys of the family's metrics so far: a short list, moved into a Set once it grows. */
  private readonly groupList: string[] = [];
  private groupSet: Set<string> | null = null;
  private familyCount = 0;
  private readonly familyOrder: string[] = [];
  private lastName = "";
  private lastRole = -1;

  // The metric (labelset without le/quantile/state label) and MetricPoint being read.
  private groupKey = "";
  private groupTs: number | undefined = undefined;
  private pointLine = 0;
  private pointLabels: Labels = {};
  private pointSpecial: string | null = null;
  private pointRoles = 0;
  private pointSpecials: Set<string> | null = null;
  private hasTotal = false;
  private total = 0;
  private created = Number.NaN;
  /** The previous MetricPoint of the same counter metric (NaN total: none yet). */
  private previousTotal = Number.NaN;
  private previousCreated = Number.NaN;
  private hasInf = false;
  private infValue = 0;
  private hasCount = false;
  private countValue = 0;
  private hasSum = false;
  private hasNegativeBucket = false;
  private gsumNegative = false;
  private lastLe = Number.NEGATIVE_INFINITY;
  private hasBucket = false;
  private lastBucketValue = 0;

  // Set by parseLabels for the sample being read.
  private labelKey = "";
  private sawEscape = false;
  private special: string | undefined = undefined;
  private specialPos = 0;
  private labelsPos = 0;

  constructor(
    src: string,
    private readonly visitor: OpenMetricsVisitor,
  ) {
    this.src = src;
    this.len = src.length;
  }

  run(): void {
    const src = this.src;
    if (this.len > 0 && src.charCodeAt(0) === 0xfeff) {
      this.fail(0, "the exposition starts with a byte order mark (BOM); OpenMetrics forbids BOMs");
    }
    for (;;) {
      if (this.pos >= this.len) {
        this.fail(this.pos, 'the exposition must end with a "# EOF" line');
      }
      const c = src.charCodeAt(this.pos);
      if (c === HASH) {
        if (this.hashLine()) break;
      } else if (c === LF) {
        this.fail(this.pos, "blank line; OpenMetrics does not allow empty lines");
      } else {
        this.sampleLine();
      }
    }
    this.closeFamily();
    this.familyOrder.length = this.familyCount;
    previousFamilyOrder = this.familyOrder;
  }

  // ---- errors -------------------------------------------------------------------------------

  private fail(pos: number, message: string): never {
    let column = 1;
    for (let i = this.lineStart; i < pos && i < this.len; i++) {
      const c = this.src.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff) column++;
    }
    throw new OpenMetricsParseError(message, this.line, column);
  }

  private failAt(line: number, column: number, message: string): never {
    throw new OpenMetricsParseError(message, line, column);
  }

  // ---- lines --------------------------------------------------------------------------------

  private endLine(): void {
    const pos = this.pos;
    if (pos >= this.len) {
      this.fail(pos, 'the line has no newline at its end; the exposition must end with a "# EOF" line');
    }
    const c = this.src.charCodeAt(pos);
    if (c === LF) {
      this.pos = pos + 1;
      this.line++;
      this.lineStart = pos + 1;
      return;
    }
    if (c === CR) this.fail(pos, "carriage return before the newline; lines must end with \\n alone");
    if (c === SP) this.fail(pos, "unexpected space at the end of the line");
    this.fail(pos, `unexpected ${describeChar(this.src, pos)}; expected the end of the line`);
  }

  /** End of a token: the next space, newline or carriage return. */
  private tokenEnd(from: number): number {
    const src = this.src;
    let i = from;
    while (i < this.len) {
      const c = src.charCodeAt(i);
      if (c === SP || c === LF || c === CR) break;
      i++;
    }
    return i;
  }

  private failEmptyToken(pos: number, what: string): never {
    const c = pos < this.len ? this.src.charCodeAt(pos) : LF;
    if (c === SP) this.fail(pos, `two spaces before the ${what}; fields are separated by exactly one space`);
    if (c === LF) {
      this.fail(
        pos - 1,
        what === "value"
          ? "the value is missing (the line ends with a space)"
          : "unexpected space at the end of the line",
      );
    }
    this.fail(pos, `expected the ${what}, found ${describeChar(this.src, pos)}`);
  }

  /** Whether the metric name at this.pos is exactly `name` (a name already validated); consumes it. */
  private matchName(name: string | undefined): boolean {
    if (name === undefined || name === "") return false;
    const pos = this.pos;
    const src = this.src;
    const end = pos + name.length;
    // The cheap tests first: most misses differ in length or in their last character.
    if (isNameChar(src.charCodeAt(end))) return false;
    if (src.charCodeAt(end - 1) !== name.charCodeAt(name.length - 1)) return false;
    if (!textAt(src, pos, name)) return false;
    this.pos = end;
    return true;
  }

  /** The metric name at this.pos, trying the current family's and the expected next family's names first. */
  private metricName(): string {
    const fam = this.fam;
    if (fam !== null && this.matchName(fam.name)) return fam.name;
    const expected = previousFamilyOrder[this.familyCount];
    if (this.matchName(expected)) return expected!;
    return this.scanMetricName();
  }

  private scanMetricName(): string {
    const src = this.src;
    const start = this.pos;
    let i = start;
    let hash = 0;
    let c = src.charCodeAt(i);
    if (i < this.len && isNameStart(c)) {
      hash = c;
      i++;
      while (i < this.len && isNameChar((c = src.charCodeAt(i)))) {
        hash = (Math.imul(hash, 31) + c) | 0;
        i++;
      }
    }
    if (i === start) {
      const c = src.charCodeAt(i);
      if (c === SP || c === 9) this.fail(i, "lines must not start with whitespace");
      this.fail(
        i,
        `expected a metric name (a letter, "_" or ":" followed by letters, digits, "_" or ":"), found ${describeChar(src, i)}`,
      );
    }
    if (src.charCodeAt(start) === 95) {
      this.fail(start, `metric name "${src.slice(start, i)}" starts with "_"; such names are reserved`);
    }
    this.pos = i;
    return intern(src, start, i, hash);
  }

  /** Returns true at `# EOF`. */
  private hashLine(): boolean {
    const src = this.src;
    const start = this.pos;
    if (src.charCodeAt(start + 1) !== SP) {
      this.fail(
        start,
        'a line starting with "#" must be "# TYPE", "# HELP", "# UNIT" or "# EOF"; comments are not allowed',
      );
    }
    const kwStart = start + 2;
    let i = kwStart;
    let keyword: string;
    // The three metadata keywords followed by their space take no slice; anything else is read out.
    if (textAt(src, kwStart, "TYPE ")) keyword = "TYPE";
    else if (textAt(src, kwStart, "HELP ")) keyword = "HELP";
    else if (textAt(src, kwStart, "UNIT ")) keyword = "UNIT";
    else {
      while (i < this.len) {
        const c = src.charCodeAt(i);
        if (c < 65 || c > 90) break;
        i++;
      }
      keyword = src.slice(kwStart, i);
    }
    i = kwStart + keyword.length;
    this.pos = i;
    if (keyword === "EOF") {
      if (i === this.len) return true;
      if (src.charCodeAt(i) === LF) {
        if (i + 1 === this.len) return true;
        this.line++;
        this.lineStart = i + 1;
        this.fail(i + 1, 'text after "# EOF"; "# EOF" must be the last line');
      }
      this.fail(
        i,
        `unexpected ${describeChar(src, i)} after "# EOF"; "# EOF" must be alone on the last line`,
      );
    }
    if (keyword !== "TYPE" && keyword !== "HELP" && keyword !== "UNIT") {
      this.fail(
        kwStart,
        `unknown line "# ${src.slice(kwStart, this.tokenEnd(kwStart))}"; only "# TYPE", "# HELP", "# UNIT" and "# EOF" are allowed (OpenMetrics has no comments)`,
      );
    }
    if (src.charCodeAt(i) !== SP) {
      this.fail(i, `expected a space and a metric name after "# ${keyword}"`);
    }
    this.pos = i + 1;
    const nameLine = this.line;
    const name = this.metricName();
    if (this.pos >= this.len || src.charCodeAt(this.pos) !== SP) {
      const c = src.charCodeAt(this.pos);
      if (this.pos >= this.len || c === LF) {
        this.fail(
          this.pos,
          `"# ${keyword} ${name}" must be followed by a space and the ${keyword.toLowerCase()}`,
        );
      }
      this.fail(this.pos, `unexpected ${describeChar(src, this.pos)} after metric name "${name}"`);
    }
    this.pos++;
    const valueStart = this.pos;
    if (keyword === "TYPE") {
      const end = this.tokenEnd(valueStart);
      let type: MetricType | undefined;
      for (let t = 0; t < TYPE_NAMES.length; t++) {
        const candidate = TYPE_NAMES[t]!;
        if (candidate.length === end - valueStart && textAt(src, valueStart, candidate)) {
          type = candidate;
          break;
        }
      }
      if (type === undefined) {
        this.fail(
          valueStart,
          `unknown metric type "${src.slice(valueStart, end)}"; expected one of ${TYPE_LIST}`,
        );
      }
      this.pos = end;
      this.endLine();
      this.metadataType(name, type, nameLine, valueStart);
    } else if (keyword === "HELP") {
      const help = this.scanHelp();
      this.endLine();
      this.metadataHelp(name, help, nameLine);
    } else {
      let j = valueStart;
      let hash = 0;
      let c = 0;
      while (j < this.len && isNameChar((c = src.charCodeAt(j)))) {
        hash = (Math.imul(hash, 31) + c) | 0;
        j++;
      }
      this.pos = j;
      if (j < this.len && src.charCodeAt(j) !== LF) {
        if (src.charCodeAt(j) !== SP && src.charCodeAt(j) !== CR) {
          this.fail(j, `unexpected ${describeChar(src, j)} in unit; units use letters, digits, "_" and ":"`);
        }
      }
      const unit = intern(src, valueStart, j, hash);
      this.endLine();
      this.metadataUnit(name, unit, nameLine, valueStart);
    }
    return false;
  }

  private scanHelp(): string {
    const src = this.src;
    const start = this.pos;
    let i = start;
    let out = "";
    let chunk = start;
    let hash = 0;
    while (i < this.len) {
      const c = src.charCodeAt(i);
      if (c === LF) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      if (c === BS) {
        const n = i + 1 < this.len ? src.charCodeAt(i + 1) : LF;
        if (n === LF) this.fail(i, "HELP text ends with a lone backslash; write \\\\ for a backslash");
        out += src.slice(chunk, i);
        if (n === 110) out += "\n";
        else if (n === BS) out += "\\";
        else if (n === QUOTE) out += '"';
        else {
          // An undefined escape keeps its backslash, as the spec's `\a` == `\\a` example says.
          out += "\\";
          chunk = i + 1;
          i++;
          continue;
        }
        i += 2;
        chunk = i;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) i = this.checkSurrogate(i);
      i++;
    }
    this.pos = i;
    if (i > 0 && src.charCodeAt(i - 1) === CR && i < this.len) {
      this.fail(i - 1, "carriage return before the newline; lines must end with \\n alone");
    }
    // HELP texts repeat from payload to payload too; interned, they also keep no slice of the input alive.
    return chunk === start ? intern(src, start, i, hash) : out + src.slice(chunk, i);
  }

  /** Validates the surrogate pair at i (strings given as JS text may hold lone halves); returns its last index. */
  private checkSurrogate(i: number): number {
    const c = this.src.charCodeAt(i);
    if (c <= 0xdbff && i + 1 < this.len) {
      const d = this.src.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return i + 1;
    }
    this.fail(i, "lone UTF-16 surrogate; the text is not valid Unicode");
  }

  // ---- metadata -----------------------------------------------------------------------------

  /** Returns the family a metadata line for `name` belongs to, opening a new one when needed. */
  private familyForMetadata(name: string, keyword: string, line: number): MetricFamily {
    const fam = this.fam;
    if (fam !== null && fam.name === name) {
      if (this.hasSamples) {
        this.failAt(
          line,
          1,
          `"# ${keyword} ${name}" comes after samples of "${name}"; metadata must come before a family's samples`,
        );
      }
      return fam;
    }
    this.closeFamily();
    return this.openFamily(name, line);
  }

  private metadataType(name: string, type: MetricType, line: number, valuePos: number): void {
    const fam = this.familyForMetadata(name, "TYPE", line);
    if (this.typed) this.failAt(line, 1, `second "# TYPE" line for "${name}"; each family has at most one`);
    fam.type = type;
    this.typed = true;
    if (fam.unit !== undefined && (type === "info" || type === "stateset")) {
      this.failAt(line, valuePos - this.lineStartOf(valuePos) + 1, `${type} "${name}" must not have a unit`);
    }
    this.register(line, 1);
  }

  private metadataHelp(name: string, help: string, line: number): void {
    const fam = this.familyForMetadata(name, "HELP", line);
    if (this.seenHelp)
      this.failAt(line, 1, `second "# HELP" line for "${name}"; each family has at most one`);
    this.seenHelp = true;
    // An empty HELP counts as no HELP, but still as the family's one HELP line.
    if (help !== "") fam.help = help;
  }

  private metadataUnit(name: string, unit: string, line: number, valuePos: number): void {
    const fam = this.familyForMetadata(name, "UNIT", line);
    if (this.seenUnit)
      this.failAt(line, 1, `second "# UNIT" line for "${name}"; each family has at most one`);
    this.seenUnit = true;
    if (unit === "") return;
    const suffixAt = name.length - unit.length - 1;
    if (suffixAt < 0 || name.charCodeAt(suffixAt) !== 95 || !name.endsWith(unit)) {
      this.failAt(
        line,
        valuePos - this.lineStartOf(valuePos) + 1,
        `unit "${unit}" is not a suffix of "${name}"; the family name must end in "_${unit}"`,
      );
    }
    if (this.typed && (fam.type === "info" || fam.type === "stateset")) {
      this.failAt(
        line,
        valuePos - this.lineStartOf(valuePos) + 1,
        `${fam.type} "${name}" must not have a unit`,
      );
    }
    fam.unit = unit;
  }

  /** Start of the (already finished) line holding `pos`, for columns of metadata errors. */
  private lineStartOf(pos: number): number {
    const i = this.src.lastIndexOf("\n", pos - 1);
    return i + 1;
  }

  // ---- families -----------------------------------------------------------------------------

  private openFamily(name: string, line: number): MetricFamily {
    const fam: MetricFamily = { name, type: "unknown", samples: [] };
    this.fam = fam;
    this.famLine = line;
    this.typed = false;
    this.registered = false;
    this.hasSamples = false;
    this.seenHelp = false;
    this.seenUnit = false;
    this.groupList.length = 0;
    this.groupSet = null;
    this.familyOrder[this.familyCount++] = name;
    this.lastName = "";
    this.lastRole = -1;
    this.visitor.family?.(fam, line);
    return fam;
  }

  /** Claims every sample name the family's type can produce; two families must never share one. */
  private register(line: number, column: number): void {
    const fam = this.fam!;
    this.registered = true;
    const claims = CLAIMS[fam.type];
    const claimed = claimedNames(fam.name, fam.type);
    for (let i = 0; i < claims.length; i++) {
      const suffix = claims[i]!;
      const sampleName = claimed[i]!;
      const owner = this.names.get(sampleName);
      if (owner === undefined) continue;
      if (owner.family === fam.name) {
        this.failAt(
          line,
          column,
          `family "${fam.name}" appears again (first at line ${owner.line}); a family's lines must be contiguous`,
        );
      }
      const mine =
        suffix === "" ? `family "${fam.name}"` : `${fam.type} "${fam.name}" (sample name "${sampleName}")`;
      this.failAt(
        line,
        column,
        `${mine} clashes with ${owner.type} "${owner.family}" from line ${owner.line}; sample names of different families must not collide`,
      );
    }
    const owner: NameOwner = { family: fam.name, type: fam.type, line: this.famLine };
    for (let i = 0; i < claimed.length; i++) this.names.set(claimed[i]!, owner);
  }

  private closeFamily(): void {
    const fam = this.fam;
    if (fam === null) return;
    if (this.hasSamples) this.finishPoint();
    if (!this.registered) this.register(this.famLine, 1);
    this.fam = null;
  }

  /** Decides what the sample called `name` is, opening a new (unknown-type) family when it belongs to none. */
  private roleFor(name: string, namePos: number): number {
    if (name === this.lastName) return this.lastRole;
    const fam = this.fam;
    if (fam !== null && (name === fam.name || name.startsWith(fam.name))) {
      const rest = name.length - fam.name.length;
      const suffixes = SUFFIX_TEXT[fam.type];
      for (let i = 0; i < suffixes.length; i++) {
        const suffix = suffixes[i]!;
        if (suffix.length === rest && name.endsWith(suffix)) {
          const role = SUFFIX_ROLE[fam.type][i]!;
          if (!this.registered) this.register(this.line, 1);
          this.lastName = name;
          this.lastRole = role;
          return role;
        }
      }
    }
    const previous = fam;
    this.closeFamily();
    const owner = this.names.get(name);
    if (owner !== undefined && previous !== null && owner.family === previous.name && this.typed) {
      const expected = TYPE_SUFFIXES[previous.type].map(([s]) => `"${previous.name}${s}"`).join(", ");
      this.fail(
        namePos,
        `${previous.type} "${previous.name}" has no sample named "${name}"; its samples are ${expected}`,
      );
    }
    this.openFamily(name, this.line);
    this.register(this.line, 1);
    this.lastName = name;
    this.lastRole = R_VALUE;
    return R_VALUE;
  }

  // ---- samples ------------------------------------------------------------------------------

  private sampleLine(): void {
    const src = this.src;
    const namePos = this.pos;
    // Consecutive samples mostly share their name: reuse the string instead of slicing a new one.
    const last = this.lastName;
    let name: string;
    let role: number;
    if (this.matchName(last)) {
      name = last;
      role = this.lastRole;
    } else {
      name = this.metricName();
      role = this.roleFor(name, namePos);
    }
    const fam = this.fam!;
    const type = fam.type;
    let specialLabel: string | null = null;
    if (role === R_BUCKET) specialLabel = "le";
    else if (role === R_VALUE) {
      if (type === "summary") specialLabel = "quantile";
      else if (type === "stateset") specialLabel = fam.name;
    }

    let c = src.charCodeAt(this.pos);
    let labels: Labels;
    this.special = undefined;
    this.labelsPos = this.pos;
    if (c === LBRACE) {
      labels = this.parseLabels(specialLabel, false);
      c = src.charCodeAt(this.pos);
    } else {
      labels = {};
      this.labelKey = "";
    }
    const labelKey = this.labelKey;
    const specialValue = this.special;
    const specialPos = this.specialPos;
    const labelsPos = this.labelsPos;

    if (c !== SP || this.pos >= this.len) {
      if (this.pos >= this.len || c === LF) this.fail(this.pos, `sample "${name}" has no value`);
      if (this.pos === namePos + name.length && c !== LBRACE) {
        this.fail(this.pos, `unexpected ${describeChar(src, this.pos)} in metric name "${name}"`);
      }
      this.fail(
        this.pos,
        `expected a space before the value of "${name}", found ${describeChar(src, this.pos)}`,
      );
    }
    const valuePos = ++this.pos;
    const valueEnd = this.tokenEnd(valuePos);
    if (valueEnd === valuePos) this.failEmptyToken(valuePos, "value");
    const value = scanNumber(src, valuePos, valueEnd, true);
    if (value === undefined) {
      this.fail(
        valuePos,
        `invalid value "${src.slice(valuePos, valueEnd)}"; values are decimal numbers (e.g. 12, -3.5, 1e-3), NaN, +Inf or -Inf`,
      );
    }
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
      this.checkOverflow(valuePos, valueEnd, "value");
    }
    this.pos = valueEnd;

    let timestamp: number | undefined;
    let tsPos = 0;
    let exemplar: Exemplar | undefined;
    let exemplarPos = 0;
    if (src.charCodeAt(this.pos) === SP && this.pos < this.len) {
      this.pos++;
      if (src.charCodeAt(this.pos) === HASH) {
        exemplarPos = this.pos;
        exemplar = this.parseExemplar();
      } else {
        tsPos = this.pos;
        const tsEnd = this.tokenEnd(tsPos);
        if (tsEnd === tsPos) this.failEmptyToken(tsPos, "timestamp");
        timestamp = scanNumber(src, tsPos, tsEnd, false);
        if (timestamp === undefined) {
          this.fail(
            tsPos,
            `invalid timestamp "${src.slice(tsPos, tsEnd)}"; timestamps are decimal seconds since the epoch (NaN and Inf are not allowed)`,
          );
        }
        if (!Number.isFinite(timestamp)) this.checkOverflow(tsPos, tsEnd, "timestamp");
        this.pos = tsEnd;
        if (src.charCodeAt(this.pos) === SP && this.pos < this.len) {
          this.pos++;
          if (src.charCodeAt(this.pos) !== HASH) {
            if (this.pos >= this.len || src.charCodeAt(this.pos) === LF) {
              this.fail(this.pos - 1, "unexpected space at the end of the line");
            }
            this.fail(
              this.pos,
              `unexpected ${describeChar(src, this.pos)} after the timestamp; only an exemplar ("# {...} value") may follow`,
            );
          }
          exemplarPos = this.pos;
          exemplar = this.parseExemplar();
        }
      }
    }

    const sample: Sample = { name, labels, value };
    if (timestamp !== undefined) sample.timestamp = timestamp;
    if (exemplar !== undefined) sample.exemplar = exemplar;

    this.group(sample, labelKey, specialValue, specialLabel, role, tsPos, valuePos);
    this.checkSample(sample, role, specialValue, specialPos, labelsPos, valuePos, valueEnd, exemplarPos);
    this.endLine();
    fam.samples.push(sample);
    this.visitor.sample(sample, fam);
  }

  /** A decimal literal that rounds to ±Infinity does not fit a float64, which the spec requires. */
  private checkOverflow(start: number, end: number, what: string): void {
    let i = start;
    const c = this.src.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    const d = this.src.charCodeAt(i);
    if ((d >= 48 && d <= 57) || d === 46) {
      this.fail(start, `${what} "${this.src.slice(start, end)}" is outside the range of a 64-bit float`);
    }
  }

  private parseExemplar(): Exemplar {
    const src = this.src;
    const hashPos = this.pos;
    if (src.charCodeAt(hashPos + 1) !== SP || hashPos + 1 >= this.len) {
      this.fail(hashPos + 1, 'expected a space after "#" that starts an exemplar');
    }
    this.pos = hashPos + 2;
    if (src.charCodeAt(this.pos) !== LBRACE || this.pos >= this.len) {
      this.fail(this.pos, 'an exemplar starts with a label set in braces, e.g. # {trace_id="abc"} 0.5');
    }
    const labels = this.parseLabels(null, true);
    if (src.charCodeAt(this.pos) !== SP || this.pos >= this.len) {
      if (this.pos >= this.len || src.charCodeAt(this.pos) === LF)
        this.fail(this.pos, "the exemplar has no value");
      this.fail(
        this.pos,
        `expected a space after the exemplar's labels, found ${describeChar(src, this.pos)}`,
      );
    }
    const valuePos = ++this.pos;
    const valueEnd = this.tokenEnd(valuePos);
    if (valueEnd === valuePos) this.failEmptyToken(valuePos, "exemplar value");
    const value = scanNumber(src, valuePos, valueEnd, true);
    if (value === undefined) {
      this.fail(valuePos, `invalid exemplar value "${src.slice(valuePos, valueEnd)}"`);
    }
    if (!Number.isFinite(value) && !Number.isNaN(value))
      this.checkOverflow(valuePos, valueEnd, "exemplar value");
    this.pos = valueEnd;
    const exemplar: Exemplar = { labels, value };
    if (src.charCodeAt(this.pos) === SP && this.pos < this.len) {
      const tsPos = ++this.pos;
      const tsEnd = this.tokenEnd(tsPos);
      if (tsEnd === tsPos) this.failEmptyToken(tsPos, "exemplar timestamp");
      const ts = scanNumber(src, tsPos, tsEnd, false);
      if (ts === undefined) {
        this.fail(
          tsPos,
          `invalid exemplar timestamp "${src.slice(tsPos, tsEnd)}"; timestamps are decimal seconds (NaN and Inf are not allowed)`,
        );
      }
      if (!Number.isFinite(ts)) this.checkOverflow(tsPos, tsEnd, "exemplar timestamp");
      this.pos = tsEnd;
      exemplar.timestamp = ts;
    }
    return exemplar;
  }

  /**
   * Reads `{name="value",...}` at this.pos. Builds `labelKey`, an unambiguous key of the labels other
   * than `special` in name order (so `{a,b}` and `{b,a}` are the same metric), and records the
   * special label's value and position.
   */
  private parseLabels(special: string | null, exemplar: boolean): Labels {
    const src = this.src;
    const open = this.pos;
    this.pos++;
    const labels: Labels = {};
    let sorted = true;
    let previous = "";
    let codePoints = 0;
    let specialStart = -1;
    let specialLast = false;
    this.sawEscape = false;
    if (src.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      this.labelKey = "";
      return labels;
    }
    const cache = labelNameCache;
    for (let index = 0; ; index++) {
      const nameStart = this.pos;
      let name = cache[index];
      let i: number;
      // Label names repeat from line to line; reuse the cached string when the text matches.
      if (
        name !== undefined &&
        textAt(src, nameStart, name) &&
        src.charCodeAt(nameStart + name.length) === EQ
      ) {
        i = nameStart + name.length;
      } else {
        i = nameStart;
        let hash = 0;
        let c = src.charCodeAt(i);
        if (i < this.len && isLabelStart(c)) {
          hash = c;
          i++;
          while (i < this.len && isLabelChar((c = src.charCodeAt(i)))) {
            hash = (Math.imul(hash, 31) + c) | 0;
            i++;
          }
        }
        if (i === nameStart) {
          const c = src.charCodeAt(i);
          if (c === RBRACE && nameStart > open + 1) this.fail(i, 'trailing "," before "}" in a label set');
          if (c === COMMA) this.fail(i, 'empty label between two ","');
          this.fail(
            i,
            `expected a label name (a letter or "_" followed by letters, digits or "_"), found ${describeChar(src, i)}`,
          );
        }
        name = intern(src, nameStart, i, hash);
        if (name.charCodeAt(0) === 95) {
          this.fail(nameStart, `label name "${name}" starts with "_"; such names are reserved`);
        }
        if (src.charCodeAt(i) !== EQ || i >= this.len) {
          const c = src.charCodeAt(i);
          if (c === QUOTE || c === COMMA || c === RBRACE || c === SP || i >= this.len || c === LF) {
            this.fail(i, `expected "=" after label name "${name}"`);
          }
          this.fail(i, `unexpected ${describeChar(src, i)} in label name "${name}"`);
        }
        if (!exemplar) cache[index] = name;
      }
      i++;
      if (src.charCodeAt(i) !== QUOTE || i >= this.len) {
        this.fail(i, `the value of label "${name}" must be in double quotes`);
      }
      this.pos = i + 1;
      const valuePos = this.pos;
      const value = this.scanQuoted(name);
      if (Object.hasOwn(labels, name)) this.fail(nameStart, `label "${name}" appears twice in one label set`);
      labels[name] = value;
      if (name === special) {
        this.special = value;
        this.specialPos = valuePos;
        specialStart = nameStart;
      } else {
        if (name < previous) sorted = false;
        previous = name;
      }
      if (exemplar) codePoints += name.length + codePointLength(value);
      const c = src.charCodeAt(this.pos);
      if (c === COMMA && this.pos < this.len) {
        this.pos++;
        continue;
      }
      if (c === RBRACE && this.pos < this.len) {
        specialLast = specialStart === nameStart;
        this.pos++;
        break;
      }
      if (this.pos >= this.len || c === LF) this.fail(this.pos, 'the label set is missing its closing "}"');
      this.fail(
        this.pos,
        `expected "," or "}" after the value of label "${name}", found ${describeChar(src, this.pos)}`,
      );
    }
    if (exemplar) {
      if (codePoints > 128) {
        this.fail(
          open,
          `exemplar labels are ${codePoints} code points long (names plus values); at most 128 are allowed`,
        );
      }
      return labels;
    }
    // The metric key is the label text itself when that text is already canonical (names in order,
    // no escapes): a slice of the input, no string building. Otherwise it is rebuilt canonically.
    if (sorted && !this.sawEscape && (specialStart < 0 || specialLast)) {
      const end = specialStart < 0 ? this.pos - 1 : specialStart - 1;
      this.labelKey = end > open + 1 ? src.slice(open + 1, end) : "";
    } else {
      this.labelKey = canonicalKey(labels, special);
    }
    return labels;
  }

  /** Reads an escaped label value up to its closing quote (consumed). */
  private scanQuoted(labelName: string): string {
    const src = this.src;
    const start = this.pos;
    let i = start;
    for (;;) {
      if (i >= this.len) this.fail(start - 1, `the value of label "${labelName}" has no closing quote`);
      const c = src.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return src.slice(start, i);
      }
      if (c === BS) break;
      if (c === LF) this.fail(start - 1, `the value of label "${labelName}" has no closing quote`);
      if (c >= 0xd800 && c <= 0xdfff) i = this.checkSurrogate(i);
      i++;
    }
    this.sawEscape = true;
    let out = src.slice(start, i);
    for (;;) {
      if (i >= this.len) this.fail(start - 1, `the value of label "${labelName}" has no closing quote`);
      const c = src.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return out;
      }
      if (c === LF) this.fail(start - 1, `the value of label "${labelName}" has no closing quote`);
      if (c === BS) {
        const n = i + 1 < this.len ? src.charCodeAt(i + 1) : LF;
        if (n === 110) out += "\n";
        else if (n === BS) out += "\\";
        else if (n === QUOTE) out += '"';
        else if (n === LF) this.fail(i, `the value of label "${labelName}" has no closing quote`);
        else {
          out += "\\";
          i++;
          continue;
        }
        i += 2;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const end = this.checkSurrogate(i);
        out += src.slice(i, end + 1);
        i = end + 1;
        continue;
      }
      out += src[i];
      i++;
    }
  }

  // ---- grouping and MetricPoints ------------------------------------------------------------

  /**
   * Enforces the layout rules: a metric's samples are contiguous, MetricPoints of one metric have
   * all or no timestamps and never go back in time, and a sample never repeats within a MetricPoint.
   */
  private group(
    sample: Sample,
    key: string,
    special: string | undefined,
    specialName: string | null,
    role: number,
    tsPos: number,
    valuePos: number,
  ): void {
    const ts = sample.timestamp;
    if (this.hasSamples && key === this.groupKey) {
      const prev = this.groupTs;
      if ((ts === undefined) !== (prev === undefined)) {
        this.fail(
          ts === undefined ? valuePos : tsPos,
          `metric ${formatLabels(this.pointLabels, this.pointSpecial)} of "${this.fam!.name}" mixes samples with and without timestamps`,
        );
      }
      if (ts !== undefined && prev !== undefined) {
        if (ts < prev) {
          this.fail(
            tsPos,
            `timestamp goes backwards (${ts} after ${prev}) within metric ${formatLabels(this.pointLabels, this.pointSpecial)} of "${this.fam!.name}"; MetricPoints must be in increasing time order and not interleaved`,
          );
        }
        if (ts > prev) {
          this.finishPoint();
          this.startPoint(sample, specialName);
          this.groupTs = ts;
          return;
        }
        return;
      }
      // No timestamps: the metric has a single MetricPoint, so any repeated sample is a duplicate.
      this.noteSeries(sample, role, special);
      return;
    }
    if (this.hasSamples) this.finishPoint();
    if (this.seenGroup(key)) {
      this.fail(
        this.labelsPos,
        `metric ${formatLabels(sample.labels, specialName)} of "${this.fam!.name}" appears again after other metrics; a metric's samples must be contiguous`,
      );
    }
    this.groupKey = key;
    this.groupTs = ts;
    this.hasSamples = true;
    this.previousTotal = Number.NaN;
    this.previousCreated = Number.NaN;
    this.startPoint(sample, specialName);
    if (ts === undefined) this.noteSeries(sample, role, special);
  }

  /** Records a metric key of the family; true when it was already there. */
  private seenGroup(key: string): boolean {
    const set = this.groupSet;
    if (set !== null) {
      // One hash operation instead of has() then add(): a set that does not grow already had the key.
      const seen = set.size;
      set.add(key);
      return set.size === seen;
    }
    const list = this.groupList;
    for (let i = 0; i < list.length; i++) if (list[i] === key) return true;
    list.push(key);
    if (list.length > 16) this.groupSet = new Set(list);
    return false;
  }

  /**
   * Remembers which samples the current MetricPoint has. Plain samples are told apart by their role;
   * quantiles and states by their label value. Repeated buckets need no bookkeeping: their "le"
   * must strictly increase, which rejects a repeat.
   */
  private noteSeries(sample: Sample, role: number, special: string | undefined): void {
    if (role === R_BUCKET) return;
    if (special === undefined) {
      const bit = 1 << role;
      if ((this.pointRoles & bit) !== 0) this.duplicate(sample);
      this.pointRoles |= bit;
      return;
    }
    if (this.pointSpecials === null) this.pointSpecials = new Set();
    else if (this.pointSpecials.has(special)) this.duplicate(sample);
    this.pointSpecials.add(special);
  }

  private duplicate(sample: Sample): never {
    this.fail(
      this.lineStart,
      `duplicate sample ${sample.name}${formatLabels(sample.labels)}; without timestamps each sample may appear only once`,
    );
  }

  private startPoint(sample: Sample, special: string | null): void {
    this.pointLine = this.line;
    this.pointLabels = sample.labels;
    this.pointSpecial = special;
    this.pointRoles = 0;
    this.pointSpecials = null;
    this.hasTotal = false;
    this.created = Number.NaN;
    this.hasInf = false;
    this.infValue = 0;
    this.hasCount = false;
    this.countValue = 0;
    this.hasSum = false;
    this.hasNegativeBucket = false;
    this.gsumNegative = false;
    this.lastLe = Number.NEGATIVE_INFINITY;
    this.hasBucket = false;
    this.lastBucketValue = 0;
  }

  /** MetricPoint-wide rules, checked when the point is complete. */
  private finishPoint(): void {
    const fam = this.fam!;
    const type = fam.type;
    if (type === "counter") {
      if (!this.hasTotal)
        this.failAt(this.pointLine, 1, `${this.pointWhere()} has no "${fam.name}_total" sample`);
      // Across MetricPoints a total only goes down when the counter was reset, which a new _created marks.
      if (
        this.total < this.previousTotal &&
        (Number.isNaN(this.created) || this.created === this.previousCreated)
      ) {
        this.failAt(
          this.pointLine,
          1,
          `${this.pointWhere()}: ${fam.name}_total went down from ${this.previousTotal} to ${this.total} without a new ${fam.name}_created; counters only decrease when reset`,
        );
      }
      this.previousTotal = this.total;
      this.previousCreated = this.created;
      return;
    }
    if (type !== "histogram" && type !== "gaugehistogram") return;
    const gauge = type === "gaugehistogram";
    const count = gauge ? "_gcount" : "_count";
    const sum = gauge ? "_gsum" : "_sum";
    if (!this.hasInf) this.failAt(this.pointLine, 1, `${this.pointWhere()} has no le="+Inf" bucket`);
    if (this.hasCount && this.countValue !== this.infValue) {
      this.failAt(
        this.pointLine,
        1,
        `${this.pointWhere()}: ${fam.name}${count} is ${this.countValue} but the le="+Inf" bucket is ${this.infValue}; they must be equal`,
      );
    }
    if (this.hasSum && !this.hasCount) {
      this.failAt(
        this.pointLine,
        1,
        `${this.pointWhere()} has ${fam.name}${sum} but no ${fam.name}${count}; give both or neither`,
      );
    }
    if (this.hasCount && !this.hasSum) {
      this.failAt(
        this.pointLine,
        1,
        `${this.pointWhere()} has ${fam.name}${count} but no ${fam.name}${sum}; give both or neither`,
      );
    }
    if (!gauge && this.hasSum && this.hasNegativeBucket) {
      this.failAt(
        this.pointLine,
        1,
        `${this.pointWhere()} has buckets with negative "le" and a sum (${fam.name}_sum); a histogram with negative buckets must not have a sum`,
      );
    }
    if (gauge && this.gsumNegative && !this.hasNegativeBucket) {
      this.failAt(
        this.pointLine,
        1,
        `${this.pointWhere()} has a negative ${fam.name}_gsum but no bucket with negative "le"`,
      );
    }
  }

  private pointWhere(): string {
    const fam = this.fam!;
    return `${fam.type} "${fam.name}" metric ${formatLabels(this.pointLabels, this.pointSpecial)}`;
  }

  // ---- per-type rules -----------------------------------------------------------------------

  private checkSample(
    sample: Sample,
    role: number,
    special: string | undefined,
    specialPos: number,
    labelsPos: number,
    valuePos: number,
    valueEnd: number,
    exemplarPos: number,
  ): void {
    const type = this.fam!.type;
    const value = sample.value;
    let leValue = Number.NaN;

    switch (role) {
      case R_VALUE:
        if (type === "summary")
          this.checkQuantile(sample, special, specialPos, labelsPos, valuePos, valueEnd);
        else if (type === "stateset") this.checkState(sample, special, labelsPos, valuePos, valueEnd);
        break;
      case R_TOTAL:
        this.counterLike(sample, valuePos, valueEnd, false);
        this.hasTotal = true;
        this.total = value;
        break;
      case R_CREATED:
        if (!Number.isFinite(value)) {
          this.fail(
            valuePos,
            `${this.what(sample)} has value ${this.src.slice(valuePos, valueEnd)}; a creation time must be a finite number of seconds`,
          );
        }
        if (type === "histogram") this.noLabel(sample, "le", labelsPos);
        else if (type === "summary") this.noLabel(sample, "quantile", labelsPos);
        this.created = value;
        break;
      case R_BUCKET:
        leValue = this.checkBucket(sample, special, specialPos, labelsPos, valuePos, valueEnd);
        break;
      case R_COUNT:
      case R_GCOUNT:
        this.noLabel(sample, type === "summary" ? "quantile" : "le", labelsPos);
        this.counterLike(sample, valuePos, valueEnd, true);
        this.hasCount = true;
        this.countValue = value;
        break;
      case R_SUM:
        this.noLabel(sample, type === "summary" ? "quantile" : "le", labelsPos);
        this.counterLike(sample, valuePos, valueEnd, false);
        this.hasSum = true;
        break;
      case R_GSUM:
        this.noLabel(sample, "le", labelsPos);
        if (Number.isNaN(value)) {
          this.fail(valuePos, `${this.what(sample)} has value NaN; a gauge histogram's sum must be a number`);
        }
        if (value < 0) this.gsumNegative = true;
        this.hasSum = true;
        break;
      case R_INFO:
        if (value !== 1) {
          this.fail(
            valuePos,
            `${this.what(sample)} has value ${this.src.slice(valuePos, valueEnd)}; info samples must have the value 1`,
          );
        }
        break;
    }

    const exemplar = sample.exemplar;
    if (exemplar !== undefined) {
      if (!(role === R_TOTAL || role === R_BUCKET)) {
        this.fail(
          exemplarPos,
          `${this.what(sample)} has an exemplar; exemplars are allowed only on counter _total and histogram/gaugehistogram _bucket samples`,
        );
      }
      if (role === R_BUCKET && !(exemplar.value <= leValue)) {
        this.fail(
          exemplarPos,
          `${this.what(sample)} le="${special}" has an exemplar with value ${exemplar.value}, outside the bucket; it must be at most ${special}`,
        );
      }
    }
  }

  private what(sample: Sample): string {
    const fam = this.fam!;
    return `${fam.type} "${fam.name}" sample "${sample.name}"`;
  }

  /** Counts and sums: never NaN or negative; counts also whole numbers. */
  private counterLike(sample: Sample, valuePos: number, valueEnd: number, integer: boolean): void {
    const value = sample.value;
    if (value >= 0) {
      if (integer && !Number.isInteger(value)) {
        this.fail(
          valuePos,
          `${this.what(sample)} has value ${this.src.slice(valuePos, valueEnd)}; it must be an integer`,
        );
      }
      return;
    }
    if (Number.isNaN(value)) {
      this.fail(valuePos, `${this.what(sample)} has value NaN; it counts events and must be a number`);
    }
    this.fail(valuePos, `${this.what(sample)} has negative value ${this.src.slice(valuePos, valueEnd)}`);
  }

  private noLabel(sample: Sample, label: string, labelsPos: number): void {
    if (Object.hasOwn(sample.labels, label)) {
      this.fail(
        labelsPos,
        `${this.what(sample)} must not have a "${label}" label; only ${label === "le" ? "_bucket" : "quantile"} samples carry it`,
      );
    }
  }

  /** Returns the bucket's upper bound. */
  private checkBucket(
    sample: Sample,
    special: string | undefined,
    specialPos: number,
    labelsPos: number,
    valuePos: number,
    valueEnd: number,
  ): number {
    if (special === undefined) {
      this.fail(
        labelsPos,
        `${this.what(sample)} has no "le" label; every bucket needs its upper bound, e.g. le="0.5"`,
      );
    }
    let le: number | undefined;
    if (special === "+Inf") le = Number.POSITIVE_INFINITY;
    else if (special === "-Inf") le = Number.NEGATIVE_INFINITY;
    else {
      le = scanNumber(special, 0, special.length, false);
      // A literal too large for a float64 would silently become +Inf.
      if (le !== undefined && !Number.isFinite(le)) le = undefined;
    }
    if (le === undefined) {
      this.fail(
        specialPos,
        `${this.what(sample)} has le="${special}"; "le" must be a number, or "+Inf" for the last bucket`,
      );
    }
    const value = sample.value;
    this.counterLike(sample, valuePos, valueEnd, true);
    if (this.hasBucket && le <= this.lastLe) {
      this.fail(
        specialPos,
        `${this.what(sample)} le="${special}" is not above the previous bucket's le; buckets must be sorted by increasing "le" without repeats`,
      );
    }
    if (this.hasBucket && value < this.lastBucketValue) {
      this.fail(
        valuePos,
        `${this.what(sample)} le="${special}" has ${this.src.slice(valuePos, valueEnd)}, less than the previous bucket's ${this.lastBucketValue}; buckets are cumulative`,
      );
    }
    this.hasBucket = true;
    this.lastLe = le;
    this.lastBucketValue = value;
    if (le < 0) this.hasNegativeBucket = true;
    if (le === Number.POSITIVE_INFINITY) {
      this.hasInf = true;
      this.infValue = value;
    }
    return le;
  }

  private checkQuantile(
    sample: Sample,
    special: string | undefined,
    specialPos: number,
    labelsPos: number,
    valuePos: number,
    valueEnd: number,
  ): void {
    const fam = this.fam!;
    if (special === undefined) {
      this.fail(
        labelsPos,
        `${this.what(sample)} has no "quantile" label; a summary's own samples are quantiles (use "${fam.name}_sum"/"${fam.name}_count" for the rest)`,
      );
    }
    const q = scanNumber(special, 0, special.length, false);
    if (q === undefined || !(q >= 0 && q <= 1)) {
      this.fail(
        specialPos,
        `${this.what(sample)} has quantile="${special}"; a quantile must be a number from 0 to 1`,
      );
    }
    if (sample.value < 0) {
      this.fail(
        valuePos,
        `${this.what(sample)} has negative value ${this.src.slice(valuePos, valueEnd)}; quantile values must not be negative`,
      );
    }
  }

  private checkState(
    sample: Sample,
    special: string | undefined,
    labelsPos: number,
    valuePos: number,
    valueEnd: number,
  ): void {
    const fam = this.fam!;
    if (special === undefined) {
      this.fail(
        labelsPos,
        `${this.what(sample)} has no "${fam.name}" label; each stateset sample names its state in a label named like the family`,
      );
    }
    if (sample.value !== 0 && sample.value !== 1) {
      this.fail(
        valuePos,
        `${this.what(sample)} has value ${this.src.slice(valuePos, valueEnd)}; a state is 1 (true) or 0 (false)`,
      );
    }
  }
}

/** Keeps the families; a class rather than closures, so a call allocates no functions. */
class FamilyCollector implements OpenMetricsVisitor {
  readonly families: MetricFamily[] = [];
  family(family: MetricFamily): void {
    this.families.push(family);
  }
  sample(): void {}
}

/**
 * Parses and validates an OpenMetrics 1.0 text exposition. Bytes are decoded as strict UTF-8.
 * Throws OpenMetricsParseError on the first problem; never returns a partial result.
 */
export function parseOpenMetrics(input: string | Uint8Array): MetricFamily[] {
  const collector = new FamilyCollector();
  new Parser(decodeUtf8(input), collector).run();
  return collector.families;
}

/**
 * Streams an exposition through `visitor` while validating it: families as they start, samples as
 * they pass their checks. Nothing already delivered is taken back, so a caller that must not act on
 * invalid expositions should buffer until this returns (the whole input is still validated; an
 * error is thrown as by parseOpenMetrics).
 */
export function scanOpenMetrics(input: string | Uint8Array, visitor: OpenMetricsVisitor): void {
  new Parser(decodeUtf8(input), visitor).run();
}
