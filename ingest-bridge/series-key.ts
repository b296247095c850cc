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

/**
 * Whether `key` is the key of this sample, without building the key: the hot path compares every
 * sample of every message with its stored slot, and building strings there costs more in garbage
 * collection than the comparison itself.
 */
export function keyMatches(key: string, name: string, labels: Labels): boolean {
  if (!key.startsWith(name) || key.charCodeAt(name.length) !== OPEN_BRACE) return false;
  let position = name.length + 1;
  let count = 0;
  let label = "";
  for (const each in labels) {
    if (++count > 1) break;
    label = each;
  }
  if (count === 0) return position === key.length;
  const value = count === 1 ? labels[label]! : "";
  // Several labels need sorting, and an escaped value differs from its text: both are rare enough to
  // take the exact, slower way.
  if (count > 1 || NEEDS_ESCAPE.test(value)) return key === seriesKey(name, labels);
  if (!key.startsWith(label, position)) return false;
  position += label.length;
  if (key.charCodeAt(position) !== EQUALS || key.charCodeAt(position + 1) !== QUOTE) return false;
  position += 2;
  if (!key.startsWith(value, position)) return false;
  position += value.length;
  return (
    key.charCodeAt(position) === QUOTE &&
    key.charCodeAt(position + 1) === COMMA &&
    position + 2 === key.length
  );
}
