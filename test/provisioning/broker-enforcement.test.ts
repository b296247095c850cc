import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY, runCli } from "../support/cli.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort, waitForPort } from "../support/ports.js";
import { type RunningProcess, startProcess } from "../support/processes.js";
import { connect, publishQos1, recorder, tryConnect } from "./mqtt-probe.js";

/**
 * The files `floorsense machine add` generates, enforced by the real Mosquitto and by
 * `floorsense broker`: one table of cases, run against both, must give the same answers.
 */

type Who = "press07" | "press08" | "mill01" | "bridge";

const USERS: Record<Who, { username: string; secretFile: string }> = {
  press07: { username: "acme.plant-1.press-07", secretFile: "acme-plant-1-press-07.txt" },
  press08: { username: "acme.plant-1.press-08", secretFile: "acme-plant-1-press-08.txt" },
  mill01: { username: "globex.site-a.mill-01", secretFile: "globex-site-a-mill-01.txt" },
  bridge: { username: "floorsense-bridge", secretFile: "mqtt-bridge.txt" },
};

const OWN = "floorsense/v1/acme/plant-1/press-07";

/** A publish: does the bridge (subscribed to floorsense/v1/#) see it? */
interface PublishCase {
  name: string;
  as: Who;
  topic: string;
  delivered: boolean;
}

const PUBLISH_CASES: PublishCase[] = [
  {
    name: "a machine publishes its readings on its own path",
    as: "press07",
    topic: `${OWN}/main`,
    delivered: true,
  },
  {
    name: "a machine publishes its status on its own path",
    as: "press07",
    topic: `${OWN}/status`,
    delivered: true,
  },
  { name: "deeper levels under its own path", as: "press07", topic: `${OWN}/main/extra`, delivered: true },
  {
    name: "a machine cannot publish on another machine's path",
    as: "press07",
    topic: "floorsense/v1/acme/plant-1/press-08/main",
    delivered: false,
  },
  {
    name: "a machine cannot publish on a machine whose name extends its own",
    as: "press07",
    topic: "floorsense/v1/acme/plant-1/press-070/main",
    delivered: false,
  },
  {
    name: "a machine cannot publish on another tenant's path",
    as: "press07",
    topic: "floorsense/v1/globex/site-a/mill-01/main",
    delivered: false,
  },
  {
    name: "a machine cannot publish on its site's path",
    as: "press07",
    topic: "floorsense/v1/acme/plant-1",
    delivered: false,
  },
  {
    name: "the other tenant's machine cannot publish on acme's path",
    as: "mill01",
    topic: `${OWN}/main`,
    delivered: false,
  },
  { name: "the bridge cannot publish", as: "bridge", topic: `${OWN}/main`, delivered: false },
];

/** A subscription: SUBACK as granted, and does the subscriber receive what `publisher` sends? */
interface SubscribeCase {
  name: string;
  as: Who;
  filter: string;
  publisher: Who;
  topic: string;
  receives: boolean;
}

const SUBSCRIBE_CASES: SubscribeCase[] = [
  {
    name: "a machine subscribing to another machine's path receives nothing",
    as: "press08",
    filter: `${OWN}/#`,
    publisher: "press07",
    topic: `${OWN}/main`,
    receives: false,
  },
  {
    name: "a machine subscribing to everything receives nothing",
    as: "mill01",
    filter: "#",
    publisher: "press07",
    topic: `${OWN}/main`,
    receives: false,
  },
  {
    name: "a machine cannot read even its own path (write only)",
    as: "press07",
    filter: `${OWN}/#`,
    publisher: "press07",
    topic: `${OWN}/main`,
    receives: false,
  },
  {
    name: "the bridge receives every tenant's readings",
    as: "bridge",
    filter: "floorsense/v1/+/+/+/+",
    publisher: "mill01",
    topic: "floorsense/v1/globex/site-a/mill-01/main",
    receives: true,
  },
];

interface LoginCase {
  name: string;
  username?: string;
  password?: (secrets: Record<Who, string>) => string;
  accepted: boolean;
}

const LOGIN_CASES: LoginCase[] = [
  {
    name: "the machine's own credentials",
    username: USERS.press07.username,
    password: (s) => s.press07,
    accepted: true,
  },
  {
    name: "a wrong password",
    username: USERS.press07.username,
    password: (s) => `${s.press07}x`,
    accepted: false,
  },
  {
    name: "another machine's password",
    username: USERS.press07.username,
    password: (s) => s.press08,
    accepted: false,
  },
  { name: "an unknown user", username: "acme.plant-1.press-99", password: (s) => s.press07, accepted: false },
  { name: "a user name without a password", username: USERS.press07.username, accepted: false },
  { name: "no user name at all (anonymous)", accepted: false },
];

function secretOf(file: string): string {
  return /^FLOORSENSE_MQTT_PASSWORD=(.+)$/m.exec(readFileSync(file, "utf8"))![1]!;
}

describe.skipIf(!needs("mosquitto"))("generated password and ACL files, enforced by both brokers", () => {
  const dir = mkdtempSync(join(tmpdir(), "floorsense-enforce-"));
  const out = join(dir, "floorsense", "generated");
  const secrets = {} as Record<Who, string>;
  let mosquitto: Mosquitto | undefined;
  let embedded: RunningProcess | undefined;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    // Mosquitto drops to its own user before it reads the files: the folder must be traversable.
    chmodSync(dir, 0o755);
    const steps: string[][] = [
      ["tenant", "add", "acme"],
      ["tenant", "add", "globex"],
      [
        "machine",
        "add",
        "--tenant",
        "acme",
        "--site",
        "plant-1",
        "--machine",
        "press-07",
        "--device",
        "main=sdm630@tcp:127.0.0.1:5020:1",
      ],
      [
        "machine",
        "add",
        "--tenant",
        "acme",
        "--site",
        "plant-1",
        "--machine",
        "press-08",
        "--device",
        "main=sdm120@tcp:127.0.0.1:5020:2",
      ],
      [
        "machine",
        "add",
        "--tenant",
        "globex",
        "--site",
        "site-a",
        "--machine",
        "mill-01",
        "--device",
        "main=generic@rtu:/dev/ttyUSB0:1",
      ],
    ];
    for (const args of steps) {
      const result = await runCli(args, { cwd: dir });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    }
    for (const who of Object.keys(USERS) as Who[])
      secrets[who] = secretOf(join(out, "secrets", USERS[who].secretFile));

    const passwordFile = join(out, "mosquitto", "passwd");
    const aclFile = join(out, "mosquitto", "acl");
    mosquitto = await startMosquitto({ passwordFile, aclFile });
    urls.mosquitto = mosquitto.url;

    const port = await freePort();
    embedded = startProcess(process.execPath, [
      CLI_ENTRY,
      "broker",
      "--listen",
      `127.0.0.1:${port}`,
      "--web.listen-address",
      "127.0.0.1:0",
      "--password-file",
      passwordFile,
      "--acl-file",
      aclFile,
      "--log-level",
      "warn",
    ]);
    await waitForPort(port, 15_000).catch((error) => {
      throw new Error(`floorsense broker did not start: ${String(error)}\n${embedded?.output()}`);
    });
    urls["floorsense broker"] = `mqtt://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await mosquitto?.stop();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const brokers: Array<{ broker: string; protocolVersion: 4 | 5 }> = [
    { broker: "mosquitto", protocolVersion: 4 },
    { broker: "mosquitto", protocolVersion: 5 },
    { broker: "floorsense broker", protocolVersion: 4 },
    { broker: "floorsense broker", protocolVersion: 5 },
  ];

  describe.each(brokers)("$broker, MQTT protocol version $protocolVersion", ({ broker, protocolVersion }) => {
    const clients: MqttClient[] = [];
    const as = async (who: Who) => {
      const client = await connect(urls[broker]!, {
        username: USERS[who].username,
        password: secrets[who],
        protocolVersion,
        clientId: `${who}-${Math.random().toString(16).slice(2, 10)}`,
      });
      clients.push(client);
      return client;
    };
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    });

    it.each(LOGIN_CASES)("login with $name: accepted=$accepted", async ({ username, password, accepted }) => {
      const result = await tryConnect(urls[broker]!, {
        username,
        password: password?.(secrets),
        protocolVersion,
      });
      if (result.ok) await result.client.endAsync(true);
      expect(result.ok).toBe(accepted);
      // Mosquitto refuses every bad login with "not authorized": 5 in MQTT 3.1.1, 0x87 in MQTT 5.
      if (!result.ok) expect(result.code).toBe(protocolVersion === 5 ? 0x87 : 5);
    });

    it.each(PUBLISH_CASES)("$name", async ({ as: who, topic, delivered }) => {
      const bridge = await as("bridge");
      const seen = recorder(bridge);
      await bridge.subscribeAsync("floorsense/v1/#", { qos: 1 });
      const publisher = await as(who);
      const payload = `probe-${Math.random().toString(16).slice(2)}`;
      const answer = await publishQos1(publisher, topic, payload);
      // MQTT 3.1.1 has no way to refuse a publish: Mosquitto acknowledges and drops it.
      // MQTT 5 brokers answer a denied publish with reason code 0x87 (not authorized).
      expect(answer).toBe(delivered || protocolVersion === 4 ? "acked" : 0x87);
      // A marker from an allowed publisher, after the probe: once it arrives, the probe would have too.
      const marker = `marker-${payload}`;
      const markerFrom = await as("press07");
      expect(await publishQos1(markerFrom, `${OWN}/marker`, marker)).toBe("acked");
      await seen.waitFor(marker);
      expect(seen.messages.some((m) => m.payload === payload && m.topic === topic)).toBe(delivered);
      // A denied publish does not cost the client its connection.
      expect(publisher.connected).toBe(true);
    });

    it.each(SUBSCRIBE_CASES)("$name", async ({ as: who, filter, publisher: from, topic, receives }) => {
      const subscriber = await as(who);
      const seen = recorder(subscriber);
      const granted = await subscriber.subscribeAsync(filter, { qos: 1 });
      // Mosquitto 2.0 grants every subscription and checks read access on each delivery.
      expect(granted.map((g) => g.qos)).toEqual([1]);
      const bridge = await as("bridge");
      const bridgeSeen = recorder(bridge);
      await bridge.subscribeAsync("floorsense/v1/#", { qos: 1 });
      const publisher = await as(from);
      const payload = `sub-${Math.random().toString(16).slice(2)}`;
      expect(await publishQos1(publisher, topic, payload)).toBe("acked");
      // Delivered to the bridge proves the broker routed it; then the subscriber has had its chance.
      await bridgeSeen.waitFor(payload);
      if (receives) await seen.waitFor(payload);
      else {
        const marker = `marker-${payload}`;
        expect(await publishQos1(await as("press07"), `${OWN}/x`, marker)).toBe("acked");
        await bridgeSeen.waitFor(marker);
        expect(seen.messages).toEqual([]);
      }
    });
  });
});
