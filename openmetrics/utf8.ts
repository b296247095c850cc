import { Buffer, isAscii } from "node:buffer";
import { OpenMetricsParseError } from "./errors.js";

const LF = 10;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Finds the byte offset of the first invalid UTF-8 sequence (or -1). */
function findInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else return i;
    if (i + need > n - 1) return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes an exposition as strict UTF-8 (a BOM is kept, so the parser can reject it); invalid bytes
 * raise OpenMetricsParseError at the line and column of the first bad byte.
 */
export function decodeUtf8(input: string | Uint8Array): string {
  if (typeof input === "string") return input;
  // Expositions are nearly always pure ASCII: a native check, then a one-byte string, which is also
  // the representation the parser reads fastest. Anything else goes through the strict decoder.
  if (isAscii(input)) return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
  try {
    return utf8.decode(input);
  } catch {
    const offset = Math.max(0, findInvalidUtf8(input));
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (input[i] === LF) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = [...utf8.decode(input.subarray(lineStart, Math.max(offset, lineStart)))].length + 1;
    const byte = input[offset] ?? 0;
    throw new OpenMetricsParseError(
      `invalid UTF-8 (byte 0x${byte.toString(16).padStart(2, "0")}); expositions must be UTF-8 text`,
      line,
      column,
    );
  }
}
