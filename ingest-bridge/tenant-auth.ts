import { createHash, timingSafeEqual } from "node:crypto";
import type { TenantCredentials } from "./config.js";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Equal-length digests make the comparison time independent of where the inputs differ. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether an Authorization header carries the tenant's credentials. */
export function authorized(credentials: TenantCredentials | undefined, header: string | undefined): boolean {
  if (!credentials || !header) return false;
  const space = header.indexOf(" ");
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (credentials.kind === "bearer") return scheme === "bearer" && sameSecret(value, credentials.token);
  if (scheme !== "basic") return false;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return false;
  // Both halves are always compared, so a wrong user name takes as long as a wrong password.
  const userOk = sameSecret(decoded.slice(0, colon), credentials.username);
  const passwordOk = sameSecret(decoded.slice(colon + 1), credentials.password);
  return userOk && passwordOk;
}

export function challenge(credentials: TenantCredentials | undefined, tenant: string): string {
  const realm = `floorsense tenant ${tenant.replace(/"/g, "")}`;
  return credentials?.kind === "basic"
    ? `Basic realm="${realm}", charset="UTF-8"`
    : `Bearer realm="${realm}"`;
}
