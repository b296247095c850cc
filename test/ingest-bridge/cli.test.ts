import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

describe("floorsense bridge (CLI)", () => {
  it("refuses a bad config with every problem named by file, line, path and value, exit 2", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "floorsense-bridge-cli-")), "bridge.yaml");
    writeFileSync(file, "mqtt:\n  url: http://x\ntenants:\n  acme:\n    bearer_token: short\n");
    const result = await runCli(["bridge", "--config", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "floorsense: invalid configuration\n" +
        `${file}:2: mqtt.url: expected mqtt://host:port or mqtts://host:port, got "http://x"\n` +
        `${file}:5: tenants.acme.bearer_token: a bearer token needs at least 16 characters, got "short"\n`,
    );
  });

  it("names the flag when a flag override is bad", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "floorsense-bridge-cli-")), "bridge.yaml");
    writeFileSync(file, "mqtt:\n  url: mqtt://127.0.0.1:1\ntenants: {}\n");
    const result = await runCli(["bridge", "--config", file, "--web.listen-address", "nowhere"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'floorsense: invalid configuration\n--web.listen-address (web.listen_address): expected host:port, got "nowhere"\n',
    );
  });
});
