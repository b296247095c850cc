/**
 * Turns the 16-bit words a Modbus device returns into numbers (or text) as a profile describes them.
 *
 * Word and byte order use the letters most meter manuals use for a 32-bit value whose big-endian
 * bytes are A B C D: `ABCD` is big-endian throughout, `CDAB` swaps the words (the common "Modicon"
 * float layout), `BADC` swaps the bytes inside each word, `DCBA` is fully little-endian. For 64-bit
 * values the same rule applies per word: `CDAB` and `DCBA` reverse the order of all four words.
 */

export const REGISTER_TYPES = [
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "bit",
  "string",
] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

export const WORD_ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

/** How many 16-bit registers a value of this type occupies (strings and bits say so themselves). */
export function registerCount(type: RegisterType, stringLength = 0): number {
  switch (type) {
    case "int16":
    case "uint16":
    case "bit":
      return 1;
    case "int32":
    case "uint32":
    case "float32":
      return 2;
    case "int64":
    case "uint64":
    case "float64":
      return 4;
    case "string":
      return Math.ceil(stringLength / 2);
  }
}

/**
 * Reorders the raw bytes of `count` registers (as they came on the wire, big-endian per word)
 * into plain big-endian byte order.
 */
export function toBigEndian(raw: Uint8Array, order: WordOrder): Buffer {
  const words = raw.length / 2;
  const out = Buffer.alloc(raw.length);
  const swapWords = order === "CDAB" || order === "DCBA";
  const swapBytes = order === "BADC" || order === "DCBA";
  for (let i = 0; i < words; i++) {
    const from = swapWords ? words - 1 - i : i;
    const hi = raw[from * 2]!;
    const lo = raw[from * 2 + 1]!;
    out[i * 2] = swapBytes ? lo : hi;
    out[i * 2 + 1] = swapBytes ? hi : lo;
  }
  return out;
}

export interface DecodeSpec {
  type: RegisterType;
  order: WordOrder;
  /** For `bit` read from a register (function 3/4): which bit, 0 = least significant. */
  bit?: number;
  /** For `string`: length in characters (bytes). */
  length?: number;
  scale: number;
  offset: number;
}

/**
 * Decodes the raw bytes of one value: the exact register span the value occupies, in wire order.
 * Numbers come back scaled (`raw × scale + offset`); strings come back trimmed of NULs and spaces.
 */
export function decodeValue(raw: Uint8Array, spec: DecodeSpec): number | string {
  const expected = spec.type === "string" ? registerCount("string", spec.length ?? 0) * 2 : 0;
  const need = spec.type === "string" ? expected : registerCount(spec.type) * 2;
  if (raw.length !== need) {
    throw new Error(`${spec.type} needs ${need} bytes, got ${raw.length}`);
  }
  const bytes = toBigEndian(raw, spec.order);
  if (spec.type === "string") {
    return bytes
      .subarray(0, spec.length)
      .toString("latin1")
      .replace(/[\0\s]+$/u, "")
      .replace(/^[\0\s]+/u, "");
  }
  return numberOf(bytes, spec) * spec.scale + spec.offset;
}

function numberOf(bytes: Buffer, spec: DecodeSpec): number {
  switch (spec.type) {
    case "int16":
      return bytes.readInt16BE(0);
    case "uint16":
      return bytes.readUInt16BE(0);
    case "bit":
      return (bytes.readUInt16BE(0) >> (spec.bit ?? 0)) & 1;
    case "int32":
      return bytes.readInt32BE(0);
    case "uint32":
      return bytes.readUInt32BE(0);
    case "float32":
      return bytes.readFloatBE(0);
    case "int64":
      return Number(bytes.readBigInt64BE(0));
    case "uint64":
      return Number(bytes.readBigUInt64BE(0));
    case "float64":
      return bytes.readDoubleBE(0);
    case "string":
      throw new Error("strings are not numbers");
  }
}

/** Inverse of `decodeValue` for numbers: what a device would send for `value` (the simulator uses it). */
export function encodeValue(value: number, spec: Omit<DecodeSpec, "bit" | "length">): Buffer {
  const raw = (value - spec.offset) / spec.scale;
  const size = registerCount(spec.type) * 2;
  const big = Buffer.alloc(size);
  switch (spec.type) {
    case "int16":
      big.writeInt16BE(clampInt(raw, -0x8000, 0x7fff), 0);
      break;
    case "uint16":
    case "bit":
      big.writeUInt16BE(clampInt(raw, 0, 0xffff), 0);
      break;
    case "int32":
      big.writeInt32BE(clampInt(raw, -0x80000000, 0x7fffffff), 0);
      break;
    case "uint32":
      big.writeUInt32BE(clampInt(raw, 0, 0xffffffff), 0);
      break;
    case "float32":
      big.writeFloatBE(raw, 0);
      break;
    case "int64":
      big.writeBigInt64BE(BigInt(Math.round(raw)), 0);
      break;
    case "uint64":
      big.writeBigUInt64BE(BigInt(Math.max(0, Math.round(raw))), 0);
      break;
    case "float64":
      big.writeDoubleBE(raw, 0);
      break;
    case "string":
      throw new Error("encodeValue does not encode strings");
  }
  // Every order is its own inverse, so reordering big-endian bytes gives the wire bytes.
  return toBigEndian(big, spec.order);
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}
