import { readFileSync } from "node:fs";
import {
  type AclClient,
  type AclFile,
  type AclOperation,
  aclAllows,
  parseAclFile,
} from "../lib/mosquitto-acl.js";
import {
  type PasswordFile,
  type PasswordFileWarning,
  parsePasswordFile,
  verifyPassword,
} from "../lib/mosquitto-password-file.js";

export interface SecurityFiles {
  passwordFile?: string;
  aclFile?: string;
  allowAnonymous: boolean;
}

/** Why a CONNECT was refused; Mosquitto answers all of them with "not authorized". */
export type LoginRefusal = "anonymous" | "unknown_user" | "missing_password" | "bad_password";

export type LoginVerdict = { ok: true } | { ok: false; reason: LoginRefusal };

export class SecurityFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecurityFileError";
  }
}

interface Loaded {
  passwords?: PasswordFile;
  acl?: AclFile;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SecurityFileError(
      `cannot read ${what} ${path}: ${code === "ENOENT" ? "file not found" : String(error)}`,
    );
  }
}

function load(files: SecurityFiles): Loaded {
  const loaded: Loaded = {};
  if (files.passwordFile !== undefined) {
    loaded.passwords = parsePasswordFile(readText(files.passwordFile, "password file"));
  }
  if (files.aclFile !== undefined) {
    try {
      loaded.acl = parseAclFile(readText(files.aclFile, "ACL file"), files.aclFile);
    } catch (error) {
      if (error instanceof SecurityFileError) throw error;
      throw new SecurityFileError(`invalid ACL file ${(error as Error).message}`);
    }
  }
  return loaded;
}

/**
 * Who may connect and what they may do, from the same password and ACL files Mosquitto reads,
 * with Mosquitto 2.0's answers: a user name not in the password file is refused, clients without
 * a user name only get in with allow_anonymous, and with an ACL file everything not granted is denied.
 */
export class BrokerSecurity {
  private current: Loaded;

  constructor(readonly files: SecurityFiles) {
    this.current = load(files);
  }

  /** Problems Mosquitto would log for the password file (those users cannot log in). */
  get passwordWarnings(): PasswordFileWarning[] {
    return this.current.passwords?.warnings ?? [];
  }

  /** Reads both files again; on any error the previous rules stay in force and the error is thrown. */
  reload(): void {
    this.current = load(this.files);
  }

  checkLogin(username: string | undefined, password: Buffer | undefined): LoginVerdict {
    const passwords = this.current.passwords;
    if (passwords === undefined) return { ok: true };
    if (username === undefined) {
      return this.files.allowAnonymous ? { ok: true } : { ok: false, reason: "anonymous" };
    }
    const entry = passwords.entries.get(username);
    if (entry === undefined) return { ok: false, reason: "unknown_user" };
    if (password === undefined) return { ok: false, reason: "missing_password" };
    return verifyPassword(password, entry.hash) ? { ok: true } : { ok: false, reason: "bad_password" };
  }

  allows(client: AclClient, topic: string, operation: AclOperation): boolean {
    return aclAllows(this.current.acl, client, topic, operation);
  }
}
