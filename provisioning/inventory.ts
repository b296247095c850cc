import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { ConfigError, loadYamlText } from "../lib/config-loader.js";
import {
  canonicalMachine,
  type MachineDescription,
  machineDescriptionSchema,
  machineYaml,
} from "./machine-description.js";
import { NAME_PATTERN, NAME_RULE } from "./names.js";

/**
 * The inventory: plain YAML files, one per tenant and one per machine, so changes go through
 * code review like any other configuration. Everything floorsense generates is derived from it.
 *
 *   <inventory>/settings.yaml                         how generated files reach the services
 *   <inventory>/tenants/<tenant>.yaml
 *   <inventory>/machines/<tenant>/<site>/<machine>.yaml
 */

export const settingsSchema = z.strictObject({
  /** The broker as the edge boxes reach it. */
  mqtt_url: z
    .string()
    .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/, "expected mqtt://host:port or mqtts://host:port")
    .default("mqtt://localhost:1883"),
  /** The bridge's MQTT user (read access to floorsense/v1/#). */
  bridge_username: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, "lower case letters, digits, - and _")
    .default("floorsense-bridge"),
  /** host:port of the bridge as Prometheus reaches it. */
  bridge_scrape_address: z.string().min(1).default("localhost:9465"),
  /**
   * How the bridge and Prometheus see the secrets folder (e.g. /etc/floorsense/secrets in a
   * container); empty means the absolute path of <out>/secrets on this machine.
   */
  secrets_path: z.string().default(""),
  /** More folders with device profiles, looked at before the shipped exporter/profiles. */
  profile_dirs: z.array(z.string()).default([]),
});

export type Settings = z.output<typeof settingsSchema>;

const tenantSchema = z.strictObject({
  tenant: z.string().regex(NAME_PATTERN, NAME_RULE),
  /** The name as typed, when it differed in case (shown in summaries and dashboards). */
  display_name: z.string().optional(),
});

export type Tenant = z.output<typeof tenantSchema>;

export interface Inventory {
  dir: string;
  settings: Settings;
  /** Whether settings.yaml exists; it is written with the defaults on the first change. */
  settingsFileExists: boolean;
  tenants: Map<string, Tenant>;
  /** Keyed by `tenant/site/machine`. */
  machines: Map<string, MachineDescription>;
}

export function machineKey(tenant: string, site: string, machine: string): string {
  return `${tenant}/${site}/${machine}`;
}

export function machineFile(
  inventoryDir: string,
  m: { tenant: string; site: string; machine: string },
): string {
  return join(inventoryDir, "machines", m.tenant, m.site, `${m.machine}.yaml`);
}

export function tenantFile(inventoryDir: string, tenant: string): string {
  return join(inventoryDir, "tenants", `${tenant}.yaml`);
}

export function settingsFile(inventoryDir: string): string {
  return join(inventoryDir, "settings.yaml");
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".yaml"))
    .map((entry) => entry.name)
    .sort();
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Reads and validates every inventory file; a problem names the file, line, path and value. */
export function loadInventory(dir: string): Inventory {
  const settingsPath = settingsFile(dir);
  const settingsFileExists = existsSync(settingsPath);
  const settings = settingsFileExists
    ? loadYamlText(settingsPath, readFileSync(settingsPath, "utf8"), settingsSchema)
    : settingsSchema.parse({});
  const tenants = new Map<string, Tenant>();
  for (const name of yamlFiles(join(dir, "tenants"))) {
    const file = join(dir, "tenants", name);
    const tenant = loadYamlText(file, readFileSync(file, "utf8"), tenantSchema);
    if (`${tenant.tenant}.yaml` !== name) {
      throw new ConfigError(file, [
        { path: "tenant", message: `does not match the file name ${name}`, value: tenant.tenant },
      ]);
    }
    tenants.set(tenant.tenant, tenant);
  }
  const machines = new Map<string, MachineDescription>();
  for (const tenant of subdirs(join(dir, "machines"))) {
    for (const site of subdirs(join(dir, "machines", tenant))) {
      for (const name of yamlFiles(join(dir, "machines", tenant, site))) {
        const file = join(dir, "machines", tenant, site, name);
        const machine = loadYamlText(file, readFileSync(file, "utf8"), machineDescriptionSchema);
        const expected = relative(dir, machineFile(dir, machine));
        if (expected !== relative(dir, file)) {
          throw new ConfigError(file, [
            {
              path: "",
              message: `tenant/site/machine say ${machineKey(machine.tenant, machine.site, machine.machine)}, so the file belongs at ${expected}`,
              value: undefined,
            },
          ]);
        }
        machines.set(machineKey(machine.tenant, machine.site, machine.machine), canonicalMachine(machine));
      }
    }
  }
  return { dir, settings, settingsFileExists, tenants, machines };
}

const HEADER =
  "# floorsense inventory: reviewed like code, turned into configuration by `floorsense machine add`.\n";

export function tenantYaml(tenant: Tenant): string {
  return `${HEADER}${stringify(tenant, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

export function machineFileYaml(machine: MachineDescription): string {
  return `${HEADER}${machineYaml(machine)}`;
}

export function settingsYaml(settings: Settings): string {
  return [
    "# How floorsense's generated files reach the services. Edit, then re-run any",
    "# `floorsense tenant|machine` command to regenerate everything from the inventory.",
    stringify(settings, { lineWidth: 0, aliasDuplicateObjects: false }),
  ].join("\n");
}
