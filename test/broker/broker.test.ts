import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../lib/mosquitto-password-file.js";
import { connect, publishQos1, recorder, tryConnect } from "../provisioning/mqtt-probe.js";
import { CLI_ENTRY, runCli } from "../support/cli.js";
import { freePort, waitForPort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess } from "../support/processes.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-broker-"));
const passwordFile = join(dir, "passwd");
const aclFile = join(dir, "acl");

async function startBroker(extra: string[] = []) {
  const mqttPort = await freePort();
  const webPort = await freePort();
  const process = startProcess(globalThis.process.execPath, [
    CLI_ENTRY,
    "broker",
    "--listen",
    `127.0.0.1:${mqttPort}`,
    "--web.listen-address",
    `127.0.0.1:${webPort}`,
    ...extra,
  ]);
  // The MQTT listener opens a moment before the web endpoint: wait for both.
  await Promise.all([waitForPort(mqttPort, 15_000), waitForPort(webPort, 15_000)]).catch((error) => {
    throw new Error(`broker did not start: ${String(error)}\n${process.output()}`);
  });
  return { process, url: `mqtt://127.0.0.1:${mqttPort}`, web: `http://127.0.0.1:${webPort}` };
}

async function metric(web: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${web}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

describe("floorsense broker", { timeout: 60_000 }, () => {
  let broker: { process: RunningProcess; url: string; web: string };

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    writeFileSync(passwordFile, `m1:${hashPassword("old")}\nreader:${hashPassword("r")}\n`);
    writeFileSync(aclFile, "user m1\ntopic write t/m1/#\n\nuser reader\ntopic read t/#\n");
    broker = await startBroker([
      "--password-file",
      passwordFile,
      "--acl-file",
      aclFile,
      "--log-level",
      "warn",
    ]);
  });

  afterAll(async () => {
    await broker?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /healthz, /readyz and /metrics with build info and connected clients", async () => {
    expect(await (await fetch(`${broker.web}/healthz`)).text()).toBe("ok\n");
    expect((await fetch(`${broker.web}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${broker.web}/metrics`)).text();
    expect(text).toMatch(
      /^floorsense_broker_build_info\{version="[^"]+",revision="[^"]+",nodejs="v\d+[^"]*"\} 1$/m,
    );
    const client = await connect(broker.url, { username: "reader", password: "r", protocolVersion: 4 });
    await eventually(
      async () => (await metric(broker.web, "floorsense_broker_connected_clients")) === 1,
      5_000,
      "1 client",
    );
    await client.endAsync();
    await eventually(
      async () => (await metric(broker.web, "floorsense_broker_connected_clients")) === 0,
      5_000,
      "0 clients",
    );
  });

  it("re-reads the password file on SIGHUP and disconnects logins that no longer hold", async () => {
    const old = await connect(broker.url, { username: "m1", password: "old", protocolVersion: 4 });
    const closed = new Promise<void>((resolve) => old.once("close", () => resolve()));
    writeFileSync(passwordFile, `m1:${hashPassword("new")}\nreader:${hashPassword("r")}\n`);
    broker.process.child.kill("SIGHUP");
    await closed;
    await old.endAsync(true);
    const refused = await tryConnect(broker.url, { username: "m1", password: "old", protocolVersion: 4 });
    expect(refused).toMatchObject({ ok: false, code: 5 });
    const fresh = await connect(broker.url, { username: "m1", password: "new", protocolVersion: 4 });
    await fresh.endAsync();
  });

  it("keeps enforcing the previous ACL when the new one is broken, and reports it", async () => {
    writeFileSync(aclFile, "user m1\ntopic sometimes t/#\n");
    broker.process.child.kill("SIGHUP");
    await eventually(
      async () => (await metric(broker.web, "floorsense_broker_security_last_reload_success")) === 0,
      5_000,
      "failed reload reported",
    );
    const reader = await connect(broker.url, { username: "reader", password: "r", protocolVersion: 4 });
    const seen = recorder(reader);
    await reader.subscribeAsync("t/#", { qos: 1 });
    const writer = await connect(broker.url, { username: "m1", password: "new", protocolVersion: 4 });
    expect(await publishQos1(writer, "t/other/x", "denied")).toBe("acked");
    expect(await publishQos1(writer, "t/m1/x", "allowed")).toBe("acked");
    await seen.waitFor("allowed");
    expect(seen.messages).toEqual([{ topic: "t/m1/x", payload: "allowed" }]);
    writeFileSync(aclFile, "user m1\ntopic write t/m1/#\n\nuser reader\ntopic read t/#\n");
    broker.process.child.kill("SIGHUP");
    await eventually(
      async () => (await metric(broker.web, "floorsense_broker_security_last_reload_success")) === 1,
      5_000,
      "reload succeeded",
    );
    expect(await metric(broker.web, "floorsense_broker_publishes_denied_total")).toBeGreaterThanOrEqual(1);
    await Promise.all([reader.endAsync(), writer.endAsync()]);
  });

  it("speaks MQTT 5: properties pass through, UNSUBACK has its reason codes, wills are delivered", async () => {
    const contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    const reader5 = await connect(broker.url, { username: "reader", password: "r", protocolVersion: 5 });
    const reader4 = await connect(broker.url, { username: "reader", password: "r", protocolVersion: 4 });
    const got5: Array<{ topic: string; payload: string; contentType?: string; user?: unknown }> = [];
    reader5.on("message", (topic, payload, packet) =>
      got5.push({
        topic,
        payload: payload.toString(),
        contentType: packet.properties?.contentType,
        user: packet.properties?.userProperties,
      }),
    );
    const seen4 = recorder(reader4);
    await reader5.subscribeAsync(["t/#", "u/#"], { qos: 1 });
    await reader4.subscribeAsync("t/#", { qos: 1 });
    const writer = await connect(broker.url, {
      username: "m1",
      password: "new",
      protocolVersion: 5,
      will: { topic: "t/m1/status", payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    await writer.publishAsync("t/m1/main", "1 2 3\n# EOF\n", {
      qos: 1,
      properties: { contentType, userProperties: { source: "test" } },
    });
    await seen4.waitFor("1 2 3\n# EOF\n");
    await eventually(() => got5.length === 1, 5_000, "the MQTT 5 subscriber to get the message");
    expect(got5).toEqual([
      { topic: "t/m1/main", payload: "1 2 3\n# EOF\n", contentType, user: { source: "test" } },
    ]);
    // Losing the connection without DISCONNECT publishes the will, through the ACL.
    writer.stream.destroy();
    await seen4.waitFor("offline");
    await reader5.unsubscribeAsync(["t/#", "u/#"]);
    await Promise.all([reader5.endAsync(), reader4.endAsync(), writer.endAsync(true)]);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const other = await startBroker(["--password-file", passwordFile, "--log-level", "warn"]);
    const client = await connect(other.url, { username: "reader", password: "r", protocolVersion: 4 });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    expect(await other.process.stop()).toBe(0);
    await closed;
    await client.endAsync(true);
  });

  it("lets anonymous clients in with --allow-anonymous", async () => {
    const other = await startBroker([
      "--password-file",
      passwordFile,
      "--allow-anonymous",
      "--log-level",
      "warn",
    ]);
    try {
      const anonymous = await connect(other.url, { protocolVersion: 4 });
      await anonymous.endAsync();
      expect(
        await tryConnect(other.url, { username: "m1", password: "wrong", protocolVersion: 4 }),
      ).toMatchObject({
        ok: false,
        code: 5,
      });
    } finally {
      await other.process.stop();
    }
  });

  it("refuses to start with a missing password file, saying which", async () => {
    const missing = join(dir, "missing-passwd");
    const result = await runCli(["broker", "--listen", "127.0.0.1:0", "--password-file", missing]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`floorsense broker: cannot read password file ${missing}: file not found\n`);
  });
});
