import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Mosquitto password files, as `mosquitto_passwd` (2.x) writes them and the broker reads them:
 * one `user:$7$<iterations>$<base64 salt>$<base64 hash>` line per user (PBKDF2-HMAC-SHA512),
 * or the older `user:$6$<base64 salt>$<base64 hash>` (SHA-512 of password then salt).
 * The provisioning CLI writes these files and `floorsense broker` reads them, so both must
 * agree byte for byte with what Mosquitto accepts.
 */

/** What `mosquitto_passwd` 2.x uses: 101 rounds, a 12-byte salt, a 64-byte SHA-512 output. */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101;
export const MOSQUITTO_SALT_BYTES = 12;
export const MOSQUITTO_HASH_BYTES = 64;

export type PasswordHash =
  | { type: "sha512-pbkdf2"; iterations: number; salt: Buffer; hash: Buffer }
  | { type: "sha512"; salt: Buffer; hash: Buffer };

export interface PasswordEntry {
  username: string;
  /** The text after the first colon, exactly as in the file (what gets written back). */
  encoded: string;
  hash: PasswordHash;
  /** 1-based line in the file. */
  line: number;
}

/** A line Mosquitto would skip or drop, with the reason it gives; the user on it cannot log in. */
export interface PasswordFileWarning {
  line: number;
  username?: string;
  message: string;
}

export interface PasswordFile {
  entries: Map<string, PasswordEntry>;
  warnings: PasswordFileWarning[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

/**
 * Decodes the part after `user:`. Returns a reason instead of a hash when Mosquitto 2 would
 * drop the entry: it insists on a 12-byte salt and a 64-byte hash for both types.
 */
export function decodePasswordHash(encoded: string): PasswordHash | string {
  // Mosquitto splits with strtok on "$", so empty fields collapse; a well-formed line has none.
  const fields = encoded.split("$").filter((field) => field !== "");
  const type = fields[0];
  if (type !== "6" && type !== "7") return "invalid password hash type (expected $6$ or $7$)";
  let rest = fields.slice(1);
  let iterations = 0;
  if (type === "7") {
    if (!/^\d+$/.test(rest[0] ?? "")) return "invalid hash iterations";
    iterations = Number.parseInt(rest[0]!, 10);
    if (iterations < 1) return "invalid hash iterations";
    rest = rest.slice(1);
  }
  if (rest.length !== 2) return "invalid password hash (expected salt and hash fields)";
  const salt = decodeBase64(rest[0]!);
  if (!salt || salt.length !== MOSQUITTO_SALT_BYTES) return "unable to decode password salt (12 bytes)";
  const hash = decodeBase64(rest[1]!);
  if (!hash || hash.length !== MOSQUITTO_HASH_BYTES) return "unable to decode password hash (64 bytes)";
  return type === "7" ? { type: "sha512-pbkdf2", iterations, salt, hash } : { type: "sha512", salt, hash };
}

/**
 * Parses a password file the way Mosquitto 2 does: `#` lines and lines without a colon are
 * skipped, names and hashes are trimmed, and for a user listed twice the later line wins (its
 * hash table puts the newer entry in front of the older one).
 */
export function parsePasswordFile(text: string): PasswordFile {
  const entries = new Map<string, PasswordEntry>();
  const warnings: PasswordFileWarning[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, "");
    if (content.startsWith("#") || !content.includes(":")) return;
    // strtok(":") skips leading colons and stops at the next one: "a:b:c" is user a, hash b.
    const fields = content.split(":").filter((field) => field !== "");
    const username = fields[0]?.trim();
    if (!username) return;
    const encoded = fields[1]?.trim();
    if (!encoded) {
      warnings.push({ line, username, message: "missing password hash, entry ignored" });
      return;
    }
    const hash = decodePasswordHash(encoded);
    if (typeof hash === "string") {
      warnings.push({ line, username, message: `${hash}, entry ignored` });
      return;
    }
    const earlier = entries.get(username);
    if (earlier) {
      warnings.push({
        line: earlier.line,
        username,
        message: `duplicate user, line ${line} is used instead`,
      });
      entries.delete(username);
    }
    entries.set(username, { username, encoded, hash, line });
  });
  return { entries, warnings };
}

function digest(password: string | Buffer, hash: PasswordHash): Buffer {
  if (hash.type === "sha512-pbkdf2") {
    return pbkdf2Sync(password, hash.salt, hash.iterations, MOSQUITTO_HASH_BYTES, "sha512");
  }
  return createHash("sha512").update(password).update(hash.salt).digest();
}

/** Constant-time check of a password against one stored hash. */
export function verifyPassword(password: string | Buffer, hash: PasswordHash): boolean {
  const computed = digest(password, hash);
  return computed.length === hash.hash.length && timingSafeEqual(computed, hash.hash);
}

/** Hashes a password the way `mosquitto_passwd` 2.x does by default; returns the part after `user:`. */
export function hashPassword(password: string, options: { salt?: Buffer; iterations?: number } = {}): string {
  const salt = options.salt ?? randomBytes(MOSQUITTO_SALT_BYTES);
  if (salt.length !== MOSQUITTO_SALT_BYTES) throw new Error("Mosquitto requires a 12-byte salt");
  const iterations = options.iterations ?? MOSQUITTO_PBKDF2_ITERATIONS;
  const hash = pbkdf2Sync(password, salt, iterations, MOSQUITTO_HASH_BYTES, "sha512");
  return `$7$${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** The characters a password-file user name may not contain (the field separator and line breaks). */
export function checkPasswordFileUsername(username: string): string | undefined {
  if (username === "") return "user name is empty";
  if (/[:\r\n]/.test(username)) return "user name must not contain ':' or line breaks";
  if (username.startsWith("#")) return "user name must not start with '#'";
  if (username.trim() !== username) return "user name must not start or end with blanks";
  return undefined;
}

/**
 * Sets (or, with `encoded` undefined, removes) one user's line in a password file's text,
 * keeping every other line as it was, so files people also edit by hand stay reviewable.
 */
export function upsertPasswordLine(text: string, username: string, encoded: string | undefined): string {
  const problem = checkPasswordFileUsername(username);
  if (problem) throw new Error(`cannot write password file entry "${username}": ${problem}`);
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let written = false;
  for (const line of lines) {
    const isUser = !line.startsWith("#") && line.includes(":") && line.split(":")[0]!.trim() === username;
    if (isUser) {
      if (encoded !== undefined && !written) out.push(`${username}:${encoded}`);
      written = true;
      continue;
    }
    out.push(line);
  }
  if (!written && encoded !== undefined) out.push(`${username}:${encoded}`);
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
