import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadBrokerConfig } from "../../broker/config.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-broker-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadBrokerConfig", () => {
  it("has defaults for a laptop", () => {
    expect(loadBrokerConfig(undefined, [], {})).toEqual({
      listen: "127.0.0.1:1883",
      allow_anonymous: false,
      web: { listen_address: "127.0.0.1:9466" },
      log_level: "info",
    });
  });

  it("takes flags over the environment over the file", () => {
    const file = join(dir, "broker.yaml");
    writeFileSync(
      file,
      "listen: 0.0.0.0:1883\npassword_file: /etc/mosquitto/passwd\nacl_file: /etc/mosquitto/acl\n",
    );
    const config = loadBrokerConfig(
      file,
      [{ path: "listen", value: "127.0.0.1:11883", source: "--listen" }],
      {
        FLOORSENSE_BROKER_ALLOW_ANONYMOUS: "true",
        FLOORSENSE_BROKER_ACL_FILE: "/srv/acl",
      },
    );
    expect(config).toMatchObject({
      listen: "127.0.0.1:11883",
      password_file: "/etc/mosquitto/passwd",
      acl_file: "/srv/acl",
      allow_anonymous: true,
    });
  });

  it("names the flag that carried a bad value", () => {
    expect(() =>
      loadBrokerConfig(undefined, [{ path: "listen", value: "1883", source: "--listen" }], {}),
    ).toThrow('--listen (listen): expected host:port, e.g. 127.0.0.1:1883, got "1883"');
  });

  it("names file, line, path and value for a bad file", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "listen: 127.0.0.1:1883\nweb:\n  listen_adress: 127.0.0.1:9466\n");
    expect(() => loadBrokerConfig(file, [], {})).toThrow(
      `${file}:3: web.listen_adress: unknown key (a typo, or not valid here), got "127.0.0.1:9466"`,
    );
  });
});
