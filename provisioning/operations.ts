import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseYamlText } from "../lib/config-loader.js";
import { type DeviceSpec, parseDeviceSpec } from "./device-spec.js";
import {
  type Inventory,
  loadInventory,
  machineFile,
  machineFileYaml,
  machineKey,
  settingsFile,
  settingsYaml,
  tenantFile,
  tenantYaml,
} from "./inventory.js";
import { withInventoryLock } from "./lock.js";
import {
  canonicalMachine,
  checkMachine,
  type MachineDescription,
  machineYaml,
  parseMachineDescription,
} from "./machine-description.js";
import { machineUsername, normaliseName, ValidationError } from "./names.js";
import {
  type DesiredFile,
  type MachineDashboardRenderer,
  passwdFile,
  type ResolvedSecrets,
  renderOutputs,
} from "./outputs.js";
import { applyChanges, type Change, describeChanges, managedFiles, planChanges } from "./plan.js";
import { loadProfileCatalog } from "./profiles.js";
import {
  bridgeSecretFile,
  machineSecretFile,
  newSecret,
  readMqttPassword,
  readToken,
  tenantTokenFile,
} from "./secrets.js";
import { unifiedDiff } from "./unified-diff.js";

export interface ProvisioningContext {
  inventoryDir: string;
  outDir: string;
  dryRun: boolean;
  /** Paths in messages are shown relative to this folder. */
  cwd: string;
  /** Notes for the person (stderr): name normalisation, warnings. */
  note: (line: string) => void;
  machineDashboard?: MachineDashboardRenderer;
}

/** What to rotate on this run: these secrets get fresh values instead of the stored ones. */
interface Rotation {
  machines?: Set<string>;
  tenants?: Set<string>;
  bridge?: boolean;
}

export interface Outcome {
  changes: Change[];
  /** The text for stdout: a summary, or with --dry-run the diff. */
  report: string;
}

function shown(ctx: ProvisioningContext, path: string): string {
  return relative(ctx.cwd, path) || path;
}

function resolveSecrets(inventory: Inventory, outDir: string, rotate: Rotation): ResolvedSecrets {
  const machinePasswords = new Map<string, string>();
  for (const [key, m] of inventory.machines) {
    const stored = readMqttPassword(machineSecretFile(outDir, m.tenant, m.site, m.machine));
    machinePasswords.set(key, rotate.machines?.has(key) || stored === undefined ? newSecret() : stored);
  }
  const tenantTokens = new Map<string, string>();
  for (const tenant of inventory.tenants.keys()) {
    const stored = readToken(tenantTokenFile(outDir, tenant));
    tenantTokens.set(tenant, rotate.tenants?.has(tenant) || stored === undefined ? newSecret() : stored);
  }
  let bridgePassword: string | undefined;
  if (inventory.tenants.size > 0) {
    const stored = readMqttPassword(bridgeSecretFile(outDir));
    bridgePassword = rotate.bridge || stored === undefined ? newSecret() : stored;
  }
  return { machinePasswords, tenantTokens, bridgePassword };
}

/**
 * The one path every command takes: change the inventory in memory, render every output from
 * it, compare with the disk, then print the diff (--dry-run) or write atomically.
 */
function converge(
  ctx: ProvisioningContext,
  inventory: Inventory,
  inventoryChanges: Map<string, string | null>,
  rotate: Rotation = {},
): Outcome {
  const profiles = loadProfileCatalog(inventory.settings.profile_dirs.map((d) => resolve(inventory.dir, d)));
  const passwdPath = passwdFile(ctx.outDir);
  const outputs = renderOutputs({
    inventory,
    outDir: ctx.outDir,
    secrets: resolveSecrets(inventory, ctx.outDir, rotate),
    currentPasswd: existsSync(passwdPath) ? readFileSync(passwdPath, "utf8") : "",
    profiles,
    machineDashboard: ctx.machineDashboard,
  });
  const desired = new Map<string, DesiredFile | null>(outputs);
  if (!inventory.settingsFileExists) {
    desired.set(settingsFile(inventory.dir), {
      content: settingsYaml(inventory.settings),
      mode: 0o644,
      secret: false,
    });
  }
  for (const [path, content] of inventoryChanges) {
    desired.set(path, content === null ? null : { content, mode: 0o644, secret: false });
  }
  const changes = planChanges(desired, managedFiles(ctx.outDir));
  if (changes.length === 0) return { changes, report: "no changes\n" };
  if (ctx.dryRun) {
    return {
      changes,
      report: `${describeChanges(changes, ctx.cwd)}dry run: ${changes.length} file(s) would change, nothing written\n`,
    };
  }
  applyChanges(changes, [resolve(inventory.dir), resolve(ctx.outDir)]);
  const verbs = { create: "created", update: "updated", delete: "deleted" } as const;
  const report = changes
    .map((c) => `${verbs[c.action].padEnd(8)}${shown(ctx, c.path)}${c.secret ? " (secret, mode 0600)" : ""}`)
    .join("\n");
  return { changes, report: `${report}\n` };
}

/** Commands that write take the inventory lock; a dry run only reads. */
function locked(ctx: ProvisioningContext, fn: () => Outcome): Outcome {
  return ctx.dryRun ? fn() : withInventoryLock(ctx.inventoryDir, fn);
}

function load(ctx: ProvisioningContext): Inventory {
  return loadInventory(ctx.inventoryDir);
}

export function tenantAdd(ctx: ProvisioningContext, typed: string): Outcome {
  return locked(ctx, () => tenantAddUnlocked(ctx, typed));
}

function tenantAddUnlocked(ctx: ProvisioningContext, typed: string): Outcome {
  const { name, note } = normaliseName("tenant", typed);
  if (note) ctx.note(note);
  const inventory = load(ctx);
  const changes = new Map<string, string | null>();
  if (!inventory.tenants.has(name)) {
    const tenant = { tenant: name, ...(typed !== name ? { display_name: typed } : {}) };
    inventory.tenants.set(name, tenant);
    changes.set(tenantFile(inventory.dir, name), tenantYaml(tenant));
  }
  const outcome = converge(ctx, inventory, changes);
  if (!ctx.dryRun && outcome.changes.length > 0) {
    outcome.report +=
      `\ntenant ${name}: scrape token in ${shown(ctx, tenantTokenFile(ctx.outDir, name))} (mode 0600, not printed)\n` +
      "next: merge bridge/tenants.yaml into the bridge config and the job in prometheus/scrape-" +
      `${name}.yml into prometheus.yml, then reload both\n`;
  }
  return outcome;
}

export function tenantList(ctx: ProvisioningContext): string {
  const inventory = load(ctx);
  const lines = [...inventory.tenants.values()]
    .sort((a, b) => a.tenant.localeCompare(b.tenant))
    .map((t) => {
      const count = [...inventory.machines.values()].filter((m) => m.tenant === t.tenant).length;
      return `${t.tenant}\t${count} machine(s)${t.display_name ? `\t(${t.display_name})` : ""}`;
    });
  return lines.length === 0
    ? "no tenants (add one with `floorsense tenant add NAME`)\n"
    : `${lines.join("\n")}\n`;
}

export interface MachineAddRequest {
  /** A description file (--from); the flags below must then agree with it or be absent. */
  from?: string;
  tenant?: string;
  site?: string;
  machine?: string;
  devices: string[];
  horizons: string[];
  replace: boolean;
}

function descriptionFromRequest(ctx: ProvisioningContext, request: MachineAddRequest): MachineDescription {
  const names: Record<"tenant" | "site" | "machine", string | undefined> = {
    tenant: request.tenant,
    site: request.site,
    machine: request.machine,
  };
  for (const kind of ["tenant", "site", "machine"] as const) {
    const typed = names[kind];
    if (typed === undefined) continue;
    const { name, note } = normaliseName(kind, typed);
    if (note) ctx.note(note);
    names[kind] = name;
  }
  if (request.from !== undefined) {
    if (request.devices.length > 0 || request.horizons.length > 0) {
      throw new ValidationError("--from describes the whole machine: leave out --device and --horizon");
    }
    let text: string;
    try {
      text = readFileSync(request.from, "utf8");
    } catch {
      throw new ValidationError(`cannot read --from ${request.from}: file not found`);
    }
    const { value, lineOf } = parseYamlText(request.from, text);
    const description = parseMachineDescription(request.from, value, lineOf);
    for (const kind of ["tenant", "site", "machine"] as const) {
      if (names[kind] !== undefined && names[kind] !== description[kind]) {
        throw new ValidationError(
          `--${kind} ${names[kind]} disagrees with ${kind}: ${description[kind]} in ${request.from}: leave out --${kind} or fix the file`,
        );
      }
    }
    return description;
  }
  const missing = (["tenant", "site", "machine"] as const).filter((k) => names[k] === undefined);
  if (missing.length > 0) {
    throw new ValidationError(
      `missing ${missing.map((k) => `--${k}`).join(", ")} (or describe the machine in a file and use --from)`,
    );
  }
  if (request.devices.length === 0) {
    throw new ValidationError(
      "a machine needs at least one --device, e.g. --device main=sdm630@rtu:/dev/ttyUSB0:1",
    );
  }
  const specs: DeviceSpec[] = request.devices.map(parseDeviceSpec);
  for (const spec of specs) {
    const { name, note } = normaliseName("device", spec.name);
    if (note) ctx.note(note);
    spec.name = name;
  }
  return parseMachineDescription("(flags)", {
    tenant: names.tenant,
    site: names.site,
    machine: names.machine,
    ...(request.horizons.length > 0 ? { horizons: request.horizons } : {}),
    devices: specs.map((spec) =>
      spec.connection.transport === "rtu"
        ? {
            name: spec.name,
            profile: spec.profile,
            transport: "rtu",
            port: spec.connection.port,
            unit_id: spec.unitId,
          }
        : {
            name: spec.name,
            profile: spec.profile,
            transport: spec.connection.transport,
            host: spec.connection.host,
            port: spec.connection.port,
            unit_id: spec.unitId,
          },
    ),
  });
}

export function machineAdd(ctx: ProvisioningContext, request: MachineAddRequest): Outcome {
  return locked(ctx, () => machineAddUnlocked(ctx, request));
}

function machineAddUnlocked(ctx: ProvisioningContext, request: MachineAddRequest): Outcome {
  const description = canonicalMachine(descriptionFromRequest(ctx, request));
  const inventory = load(ctx);
  if (!inventory.tenants.has(description.tenant)) {
    throw new ValidationError(
      `tenant "${description.tenant}" does not exist: run \`floorsense tenant add ${description.tenant}\` first`,
    );
  }
  checkMachine(
    description,
    loadProfileCatalog(inventory.settings.profile_dirs.map((d) => resolve(inventory.dir, d))),
  );
  const key = machineKey(description.tenant, description.site, description.machine);
  const file = machineFile(inventory.dir, description);
  const existing = inventory.machines.get(key);
  const changes = new Map<string, string | null>();
  if (existing && machineYaml(existing) !== machineYaml(description)) {
    if (!request.replace) {
      const diff = unifiedDiff(shown(ctx, file), machineYaml(existing), machineYaml(description));
      throw new ValidationError(
        `machine ${key} already exists with a different description (${shown(ctx, file)}):\n${diff}` +
          "re-run with --replace to apply the new description, or leave the machine as it is",
      );
    }
  }
  if (!existing || machineYaml(existing) !== machineYaml(description)) {
    inventory.machines.set(key, description);
    changes.set(file, machineFileYaml(description));
  }
  const outcome = converge(ctx, inventory, changes);
  if (!ctx.dryRun && outcome.changes.length > 0) {
    const user = machineUsername(description.tenant, description.site, description.machine);
    const secret = shown(
      ctx,
      machineSecretFile(ctx.outDir, description.tenant, description.site, description.machine),
    );
    outcome.report +=
      `\nmachine ${key}: MQTT user ${user}, may publish only under floorsense/v1/${key}/#\n` +
      `its password is in ${secret} (mode 0600, written once, not printed)\n` +
      "next: copy the edge config and the secret file to the edge box; reload the broker (SIGHUP) " +
      "so it reads the new password and ACL files; add the predictor targets; reload Prometheus\n";
  }
  return outcome;
}

function findMachine(
  inventory: Inventory,
  tenantTyped: string,
  machineTyped: string,
  siteTyped?: string,
): MachineDescription {
  const tenant = normaliseName("tenant", tenantTyped).name;
  const machine = normaliseName("machine", machineTyped).name;
  const site = siteTyped === undefined ? undefined : normaliseName("site", siteTyped).name;
  const found = [...inventory.machines.values()].filter(
    (m) => m.tenant === tenant && m.machine === machine && (site === undefined || m.site === site),
  );
  if (found.length === 0) {
    const where = site === undefined ? `${tenant}/*/${machine}` : `${tenant}/${site}/${machine}`;
    throw new ValidationError(
      `machine ${where} does not exist (\`floorsense machine list\` shows the machines)`,
    );
  }
  if (found.length > 1) {
    throw new ValidationError(
      `machine ${machine} of tenant ${tenant} exists in sites ${found.map((m) => m.site).join(", ")}: add --site`,
    );
  }
  return found[0]!;
}

export function machineList(ctx: ProvisioningContext, tenant?: string): string {
  const inventory = load(ctx);
  const wanted = tenant === undefined ? undefined : normaliseName("tenant", tenant).name;
  const rows = [...inventory.machines.values()]
    .filter((m) => wanted === undefined || m.tenant === wanted)
    .sort((a, b) =>
      machineKey(a.tenant, a.site, a.machine).localeCompare(machineKey(b.tenant, b.site, b.machine)),
    )
    .map(
      (m) =>
        `${machineKey(m.tenant, m.site, m.machine)}\t${m.devices.map((d) => `${d.name}=${d.profile}`).join(",")}`,
    );
  return rows.length === 0 ? "no machines\n" : `${rows.join("\n")}\n`;
}

export function machineShow(
  ctx: ProvisioningContext,
  tenant: string,
  machine: string,
  site?: string,
): string {
  const inventory = load(ctx);
  const m = findMachine(inventory, tenant, machine, site);
  return machineYaml(m);
}

export function machineRemove(
  ctx: ProvisioningContext,
  tenant: string,
  machine: string,
  site?: string,
): Outcome {
  return locked(ctx, () => {
    const inventory = load(ctx);
    const m = findMachine(inventory, tenant, machine, site);
    inventory.machines.delete(machineKey(m.tenant, m.site, m.machine));
    return converge(ctx, inventory, new Map([[machineFile(inventory.dir, m), null]]));
  });
}

export interface RotateRequest {
  tenant?: string;
  site?: string;
  machine?: string;
  scrapeToken: boolean;
  bridge: boolean;
}

export function credentialsRotate(ctx: ProvisioningContext, request: RotateRequest): Outcome {
  return locked(ctx, () => credentialsRotateUnlocked(ctx, request));
}

function credentialsRotateUnlocked(ctx: ProvisioningContext, request: RotateRequest): Outcome {
  const inventory = load(ctx);
  const rotate: Rotation = {};
  let what: string;
  if (request.bridge) {
    if (inventory.tenants.size === 0)
      throw new ValidationError("there is no bridge user yet: add a tenant first");
    rotate.bridge = true;
    what = `the bridge's MQTT password, in ${shown(ctx, bridgeSecretFile(ctx.outDir))}`;
  } else if (request.scrapeToken) {
    if (request.tenant === undefined) throw new ValidationError("--scrape-token needs --tenant");
    const tenant = normaliseName("tenant", request.tenant).name;
    if (!inventory.tenants.has(tenant)) {
      throw new ValidationError(
        `tenant "${tenant}" does not exist (\`floorsense tenant list\` shows the tenants)`,
      );
    }
    rotate.tenants = new Set([tenant]);
    what = `the scrape token of tenant ${tenant}, in ${shown(ctx, tenantTokenFile(ctx.outDir, tenant))}`;
  } else {
    if (request.tenant === undefined || request.machine === undefined) {
      throw new ValidationError(
        "name the machine with --tenant and --machine (and --site when needed), or use --scrape-token or --bridge",
      );
    }
    const m = findMachine(inventory, request.tenant, request.machine, request.site);
    rotate.machines = new Set([machineKey(m.tenant, m.site, m.machine)]);
    what = `the MQTT password of ${machineUsername(m.tenant, m.site, m.machine)}, in ${shown(ctx, machineSecretFile(ctx.outDir, m.tenant, m.site, m.machine))}`;
  }
  const outcome = converge(ctx, inventory, new Map(), rotate);
  if (!ctx.dryRun) {
    outcome.report +=
      `\nrotated ${what} (mode 0600, not printed)\n` +
      "next: reload the broker (SIGHUP; clients still on the old password are disconnected) or Prometheus and the bridge, and hand the new secret to its user\n";
  }
  return outcome;
}
