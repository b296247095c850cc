import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Secrets are created once, kept in files with mode 0600 under <out>/secrets/, and read back on
 * every later run so re-running a command changes nothing. They never appear in output or logs.
 */

/** 32 random bytes as base64url: 43 characters, safe in env files, YAML and HTTP headers. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function secretsDir(outDir: string): string {
  return join(outDir, "secrets");
}

export function machineSecretFile(outDir: string, tenant: string, site: string, machine: string): string {
  return join(secretsDir(outDir), `${tenant}-${site}-${machine}.txt`);
}

export function tenantTokenFile(outDir: string, tenant: string): string {
  return join(secretsDir(outDir), `tenant-${tenant}.token`);
}

export function bridgeSecretFile(outDir: string): string {
  return join(secretsDir(outDir), "mqtt-bridge.txt");
}

/** An env file the exporter and the bridge read as is (FLOORSENSE_MQTT_USERNAME/PASSWORD). */
export function mqttCredentialsFile(comment: string, username: string, password: string): string {
  return `# ${comment}\nFLOORSENSE_MQTT_USERNAME=${username}\nFLOORSENSE_MQTT_PASSWORD=${password}\n`;
}

export function readMqttPassword(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const match = /^FLOORSENSE_MQTT_PASSWORD=(.+)$/m.exec(readFileSync(file, "utf8"));
  return match?.[1]?.trim() || undefined;
}

export function readToken(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  return readFileSync(file, "utf8").trim() || undefined;
}
