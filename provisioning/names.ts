/**
 * Tenant, site, machine and device names end up in MQTT topics, Prometheus label values, file
 * names and broker user names, so they are held to the one pattern that is safe in all of them.
 */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export type NameKind = "tenant" | "site" | "machine" | "device";

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

export const NAME_RULE =
  'use lower case letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters ' +
  '(no spaces, "/", "+", "#", "." or control characters)';

/** Why `name` is not allowed, or undefined when it is. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  if (kind === "device" && name === "status") return undefined;
  return `invalid ${kind} name ${JSON.stringify(name)}: ${NAME_RULE}`;
}

/**
 * Checks a name typed on the command line. Upper case is folded to lower case (the topic and
 * label value would otherwise differ from what people typed only in case); anything else that
 * is not allowed is an error, never silently rewritten.
 */
export function normaliseName(kind: NameKind, typed: string): { name: string; note?: string } {
  const lower = typed.toLowerCase();
  const problem = nameProblem(kind, lower);
  if (problem) throw new ValidationError(`invalid ${kind} name ${JSON.stringify(typed)}: ${NAME_RULE}`);
  if (kind === "device" && lower === "status") {
    throw new ValidationError(
      'invalid device name "status": floorsense/v1/{tenant}/{site}/{machine}/status is the liveness topic, pick another name',
    );
  }
  return lower === typed
    ? { name: lower }
    : {
        name: lower,
        note: `${kind} ${JSON.stringify(typed)} is written as ${JSON.stringify(lower)} (names are lower case)`,
      };
}

/** The MQTT user of a machine: dots cannot occur in names, so the three parts stay unambiguous. */
export function machineUsername(tenant: string, site: string, machine: string): string {
  return `${tenant}.${site}.${machine}`;
}

export const MACHINE_USERNAME = /^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*$/;

export function machineTopicPrefix(tenant: string, site: string, machine: string): string {
  return `floorsense/v1/${tenant}/${site}/${machine}`;
}
