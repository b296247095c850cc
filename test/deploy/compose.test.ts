import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dashboardFile } from "../../provisioning/outputs.js";
import { needs } from "../support/binaries.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
}
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = read("Dockerfile");
const dockerTargets = [...dockerfile.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)\s*$/gim)].map((m) => ({
  image: m[1]!,
  name: m[2]!,
}));

describe("docker-compose.yml", () => {
  it("runs the whole production shape", () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        "alertmanager",
        "bridge",
        "exporter",
        "grafana",
        "mosquitto",
        "predictor",
        "prometheus",
        "simulator",
        "webhook",
      ].sort(),
    );
  });

  it("pins every image to an explicit version tag", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, name).toMatch(/^[a-z0-9][a-z0-9./_-]*:v?\d+\.\d+\.\d+[a-z0-9.-]*$/);
      expect(service.image, name).not.toContain("latest");
    }
    for (const target of dockerTargets.filter((t) => t.image.includes(":"))) {
      expect(target.image).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim$/);
    }
  });

  it("runs every Node image on the same current LTS release", () => {
    const nodeImages = [
      ...dockerTargets.filter((t) => t.image.startsWith("node:")).map((t) => t.image),
      ...Object.values(services).flatMap((service) =>
        service.image?.startsWith("node:") ? [service.image] : [],
      ),
    ];
    expect(nodeImages).toEqual([
      "node:24.11.1-bookworm-slim",
      "node:24.11.1-bookworm-slim",
      "node:24.11.1-bookworm-slim",
    ]);
  });

  it("builds only targets the Dockerfile has, from the repository root", () => {
    const names = new Set(dockerTargets.map((target) => target.name));
    const built = Object.entries(services).filter(([, service]) => service.build);
    expect(built.map(([name]) => name).sort()).toEqual(["bridge", "exporter", "predictor", "simulator"]);
    for (const [name, service] of built) {
      expect(service.build?.context, name).toBe(".");
      expect(names.has(service.build!.target!), `${name} target ${service.build?.target}`).toBe(true);
      expect(service.image, name).toBe(`floorsense/${service.build!.target}:0.1.0`);
    }
  });

  it("gives every service a health check, its own or the image's", () => {
    for (const [name, service] of Object.entries(services)) {
      const inherited = service.build !== undefined && dockerfile.includes("HEALTHCHECK");
      expect(service.healthcheck !== undefined || inherited, name).toBe(true);
    }
  });

  it("mounts only files and folders that exist in the repository", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith("./")) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it("mounts the dashboards where the Grafana provisioning file looks for them", () => {
    const provider = parse(read("dashboards/provisioning/dashboards/floorsense.yml")) as {
      providers: Array<{ name: string; folder: string; disableDeletion: boolean; options: { path: string } }>;
    };
    expect(provider.providers.map((p) => [p.name, p.folder, p.disableDeletion, p.options.path])).toEqual([
      ["floorsense", "floorsense", true, "/etc/grafana/dashboards/floorsense"],
      ["floorsense-machines", "floorsense machines", false, "/etc/grafana/dashboards/machines"],
    ]);
    expect(services.grafana!.volumes).toContain(
      "./dashboards/generated:/etc/grafana/dashboards/floorsense:ro",
    );
    // Machine dashboards stay out of dashboards/generated/, which holds exactly the generated set.
    expect(services.grafana!.volumes).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's ${VAR:-default}, not a JS template
      "${FLOORSENSE_MACHINE_DASHBOARDS:-./floorsense/generated/dashboards}:/etc/grafana/dashboards/machines:ro",
    );
    // The default is where `floorsense machine add` writes with its default --inventory and --out.
    expect(dirname(dashboardFile("./floorsense/generated", { tenant: "t", site: "s", machine: "m" }))).toBe(
      "floorsense/generated/dashboards",
    );
    const datasources = parse(read("dashboards/provisioning/datasources/prometheus.yml")) as {
      datasources: Array<{ uid: string; url: string; type: string }>;
    };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: "prometheus", type: "prometheus", url: "http://prometheus:9090" }),
    ]);
  });

  it("scrapes the ports the services listen on, with the token the bridge checks", () => {
    const prometheus = parse(read("prometheus/prometheus.yml")) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { credentials_file: string };
        static_configs: Array<{ targets: string[] }>;
      }>;
    };
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((job) => [job.job_name, job.static_configs[0]!.targets[0]]),
    );
    const listen = (file: string) =>
      (parse(read(file)) as { web: { listen_address: string } }).web.listen_address.replace("0.0.0.0", "");
    expect(targets["floorsense-exporter"]).toBe(`exporter${listen("deploy/edge.yaml")}`);
    expect(targets["floorsense-bridge"]).toBe(`bridge${listen("deploy/bridge.yaml")}`);
    expect(targets["floorsense-tenant-demo"]).toBe(`bridge${listen("deploy/bridge.yaml")}`);
    expect(targets["floorsense-predictor"]).toBe(`predictor${listen("deploy/predictor.yaml")}`);
    for (const [target, port] of [
      ["exporter", "9464"],
      ["bridge", "9465"],
      ["predictor", "9467"],
    ]) {
      expect(dockerfile).toContain(
        `FROM runtime AS ${target}\nENV FLOORSENSE_HEALTH_PORT=${port}\nEXPOSE ${port}\n`,
      );
    }

    const tenantJob = prometheus.scrape_configs.find((job) => job.job_name === "floorsense-tenant-demo")!;
    expect(tenantJob.metrics_path).toBe("/tenants/demo/metrics");
    expect(tenantJob.authorization?.credentials_file).toBe("secrets/tenant-demo.token");
    const bridge = parse(read("deploy/bridge.yaml")) as {
      tenants: Record<string, { bearer_token_file: string }>;
    };
    expect(bridge.tenants.demo!.bearer_token_file).toBe("/etc/floorsense/secrets/tenant-demo.token");
    expect(services.bridge!.volumes).toContain("./prometheus/secrets:/etc/floorsense/secrets:ro");
    expect(services.prometheus!.volumes).toContain("./prometheus:/etc/prometheus:ro");
  });
});

describe("Dockerfile", () => {
  it("has a target per service on a shared, non-root runtime stage with a health check", () => {
    expect(dockerTargets.map((target) => target.name)).toEqual([
      "build",
      "runtime",
      "exporter",
      "bridge",
      "predictor",
    ]);
    expect(dockerfile).toContain("RUN npm ci --no-audit --no-fund\n");
    expect(dockerfile).toContain("RUN npm run build && npm prune --omit=dev\n");
    expect(dockerfile).toMatch(/^USER floorsense$/m);
    expect(dockerfile).not.toMatch(/^USER root$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/healthz.*"\]$/m);
  });

  it("keeps the build context small but with everything the build needs", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .filter((line) => line && !line.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", "dist", ".git", "test"]));
    const build = parse(read("tsconfig.build.json")) as { include: string[] };
    for (const pattern of build.include) expect(ignored, pattern).not.toContain(pattern.split("/")[0]);
    for (const needed of ["package.json", "package-lock.json", "tsconfig.json", "bin", "exporter"]) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe.skipIf(!needs("docker-compose"))("docker-compose config with the real parser", () => {
  const scratch = mkdtempSync(join(tmpdir(), "floorsense-compose-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const check = (dir: string) => {
    const result = spawnSync(
      "docker-compose",
      ["--project-directory", dir, "-f", join(dir, "docker-compose.yml"), "config", "-q"],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it("docker-compose config -q accepts docker-compose.yml", () => {
    const result = check(root);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("resolves the machine dashboards folder to the inventory's, or to FLOORSENSE_MACHINE_DASHBOARDS", () => {
    const resolved = (env: NodeJS.ProcessEnv) => {
      const result = spawnSync(
        "docker-compose",
        ["--project-directory", root, "-f", join(root, "docker-compose.yml"), "config"],
        {
          encoding: "utf8",
          timeout: 60_000,
          env,
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const config = parse(result.stdout) as { services: Record<string, { volumes: string[] }> };
      return config.services.grafana!.volumes.filter((v) =>
        v.endsWith(":/etc/grafana/dashboards/machines:ro"),
      );
    };
    const { FLOORSENSE_MACHINE_DASHBOARDS: _unset, ...env } = process.env;
    expect(resolved(env)).toEqual([
      `${join(root, "floorsense", "generated", "dashboards")}:/etc/grafana/dashboards/machines:ro`,
    ]);
    expect(
      resolved({ ...env, FLOORSENSE_MACHINE_DASHBOARDS: "/srv/floorsense/generated/dashboards" }),
    ).toEqual(["/srv/floorsense/generated/dashboards:/etc/grafana/dashboards/machines:ro"]);
  });

  it("docker-compose config -q rejects a service with an unknown key, so the check above can fail", () => {
    const copy = join(scratch, "bad");
    cpSync(join(root, "docker-compose.yml"), join(copy, "docker-compose.yml"));
    const text = read("docker-compose.yml").replace(
      "  grafana:\n",
      "  grafana:\n    restart_policy: always\n",
    );
    writeFileSync(join(copy, "docker-compose.yml"), text);
    const result = check(copy);
    expect(result.code).toBe(1);
    expect(result.output).toContain("Unsupported config option for services.grafana: 'restart_policy'");
  });
});
