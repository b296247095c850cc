import type { Labels } from "../openmetrics/types.js";

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(value: string): string {
  return value.replace(/[\\\n"]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : '\\"'));
}

/**
 * The store's key of a series: `name{a="x",b="y",` (labels sorted by name, so one label set is one
 * key whatever order the payload wrote it in; values escaped as exposed), or `name{` without labels.
 * The device's identity labels and `}` complete it into an exposition line.
 */
export function seriesKey(name: string, labels: Labels): string {
  let key = `${name}{`;
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  for (const label of names) {
    const value = labels[label]!;
    key += `${label}="${NEEDS_ESCAPE.test(value) ? escapeLabelValue(value) : value}",`;
  }
  return key;
}

const OPEN_BRACE = 123;
const EQUALS = 61;
const QUOTE = 34;
const COMMA = 44;
const BACKSLASH = 92;
const NEWLINE = 10;
const LOWER_N = 110;

/** Compares `text`, escaped as a label value, with `key` from `position`; returns the end or -1. */
function matchEscaped(key: string, position: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH || c === QUOTE || c === NEWLINE) {
      if (key.charCodeAt(position++) !== BACKSLASH) return -1;
      if (key.charCodeAt(position++) !== (c === NEWLINE ? LOWER_N : c)) return -1;
    } else if (key.charCodeAt(position++) !== c) return -1;
  }
  return position;
}

const labelNames: string[] = [];

/**
 * Whether `key` (from a slot of family `familyName`) is the key of this sample, without building
 * the key: the hot path compares every sample of every message with its stored slot, and
 * comparing strings the parser sliced out of the payload costs far more than reading characters.
 *
 * Only the part of the sample name after the family name is compared: a slot of a family holds keys
 * built from that family's samples, so its key starts with the family name already.
 */
export function keyMatches(key: string, familyName: string, name: string, labels: Labels): boolean {
  let position = name.length;
  if (key.charCodeAt(position) !== OPEN_BRACE) return false;
  for (let i = familyName.length; i < position; i++) {
    if (key.charCodeAt(i) !== name.charCodeAt(i)) return false;
  }
  position++;
  let count = 0;
  let sorted = true;
  for (const label in labels) {
    if (count > 0 && label < labelNames[count - 1]!) sorted = false;
    labelNames[count++] = label;
  }
  // Payloads usually write labels sorted; only the others pay for a sorted copy.
  const names = sorted ? labelNames : labelNames.slice(0, count).sort();
  for (let l = 0; l < count; l++) {
    const label = names[l]!;
    position = matchEscaped(key, position, label);
    if (position < 0 || key.charCodeAt(position) !== EQUALS || key.charCodeAt(position + 1) !== QUOTE)
      return false;
    position = matchEscaped(key, position + 2, labels[label]!);
    if (position < 0 || key.charCodeAt(position) !== QUOTE || key.charCodeAt(position + 1) !== COMMA)
      return false;
    position += 2;
  }
  return position === key.length;
}
