import { describe, expect, it } from "vitest";
import {
  type AclFile,
  aclAllows,
  formatAclFile,
  isValidSubscriptionFilter,
  parseAclFile,
  topicMatches,
} from "../../lib/mosquitto-acl.js";

describe("topicMatches (Mosquitto's mosquitto_topic_matches_sub)", () => {
  it.each([
    ["a/b/c", "a/b/c", true],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a//c", true],
    ["a/+", "a", false],
    ["a/+", "a/", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["a/b/#", "a", false],
    ["#", "a/b", true],
    ["#", "/a", true],
    ["+/+", "/a", true],
    ["+", "$SYS", false],
    ["#", "$SYS/broker/uptime", false],
    ["+/broker/uptime", "$SYS/broker/uptime", false],
    ["$SYS/#", "$SYS/broker/uptime", true],
    ["$SYS/+/uptime", "$SYS/broker/uptime", true],
    ["a/b", "a/b/", false],
    ["A/b", "a/b", false],
    ["a/b/c", "a/b", false],
    ["a/#", "a/+", false],
    ["a/b#", "a/b#", false],
    ["floorsense/v1/acme/plant-1/press-07/#", "floorsense/v1/acme/plant-1/press-07/status", true],
    ["floorsense/v1/acme/plant-1/press-07/#", "floorsense/v1/acme/plant-1/press-070/main", false],
  ])("%s matches %s: %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each([
    ["a/#", true],
    ["#", true],
    ["+", true],
    ["a/#/b", false],
    ["a/b#", false],
    ["a+/b", false],
    ["", false],
  ])("filter %j is valid: %s", (filter, valid) => {
    expect(isValidSubscriptionFilter(filter)).toBe(valid);
  });
});

const FILE = `# general section: clients without a user name
topic read public/#

user machine-a
topic write floorsense/v1/acme/p1/m-a/#
topic deny floorsense/v1/acme/p1/m-a/secret

user bridge
topic read floorsense/v1/#
topic $SYS/#

user  spaced name
topic readwrite x/y

pattern write clients/%c/#
pattern read users/%u/inbox
`;

describe("parseAclFile", () => {
  it("reads the general section, user sections and patterns", () => {
    const acl = parseAclFile(FILE, "acl");
    expect(acl.anonymous).toEqual([{ kind: "topic", access: "read", filter: "public/#", line: 2 }]);
    expect([...acl.users.keys()]).toEqual(["machine-a", "bridge", "spaced name"]);
    expect(acl.users.get("bridge")).toEqual([
      { kind: "topic", access: "read", filter: "floorsense/v1/#", line: 9 },
      { kind: "topic", access: "readwrite", filter: "$SYS/#", line: 10 },
    ]);
    expect(acl.patterns.map((p) => [p.access, p.filter])).toEqual([
      ["write", "clients/%c/#"],
      ["read", "users/%u/inbox"],
    ]);
  });

  it.each([
    [
      "topic sometimes a/b",
      'acl:1: invalid access type "sometimes": expected read, write, readwrite or deny',
    ],
    ["topic read a/#/b", 'acl:1: invalid ACL topic "a/#/b": + and # must be whole levels, # only last'],
    ["user", "acl:1: missing user name after `user`"],
    ["topic", "acl:1: empty topic after `topic`"],
    ["\ntopics read a", 'acl:2: invalid line "topics read a": expected "user", "topic" or "pattern"'],
  ])("refuses %j", (text, message) => {
    expect(() => parseAclFile(text, "acl")).toThrow(message);
  });
});

describe("aclAllows (Mosquitto 2.0 default ACL check)", () => {
  const acl: AclFile = parseAclFile(FILE);
  const machine = { username: "machine-a", clientId: "edge-1" };
  const bridge = { username: "bridge", clientId: "bridge-1" };
  const anonymous = { clientId: "anon" };

  it.each([
    [machine, "floorsense/v1/acme/p1/m-a/main", "write", true],
    [machine, "floorsense/v1/acme/p1/m-a/status", "write", true],
    [machine, "floorsense/v1/acme/p1/m-a/main", "read", false],
    [machine, "floorsense/v1/acme/p1/m-a/secret", "write", false],
    [machine, "floorsense/v1/acme/p1/m-b/main", "write", false],
    [machine, "floorsense/v1/other/p1/m-a/main", "write", false],
    [machine, "public/news", "read", false],
    [machine, "clients/edge-1/x", "write", true],
    [machine, "clients/edge-2/x", "write", false],
    [machine, "users/machine-a/inbox", "read", true],
    [machine, "anything/at/all", "subscribe", true],
    [bridge, "floorsense/v1/acme/p1/m-a/main", "read", true],
    [bridge, "floorsense/v1/acme/p1/m-a/main", "write", false],
    [bridge, "$SYS/broker/uptime", "read", true],
    [bridge, "$SYS/broker/uptime", "write", false],
    [anonymous, "public/news", "read", true],
    [anonymous, "public/news", "write", false],
    [anonymous, "users/%u/inbox", "read", false],
    [anonymous, "clients/anon/x", "write", true],
    [{ username: "stranger", clientId: "s" }, "public/news", "read", false],
    [{ username: "stranger", clientId: "s" }, "clients/s/1", "write", true],
    [{ username: "evil+", clientId: "e" }, "clients/e/1", "write", false],
    [{ username: "machine-a", clientId: "e#" }, "floorsense/v1/acme/p1/m-a/main", "write", true],
    [{ username: "machine-a", clientId: "e#" }, "clients/e#/1", "write", false],
  ] as const)("%o on %s (%s): %s", (client, topic, operation, expected) => {
    expect(aclAllows(acl, client, topic, operation)).toBe(expected);
  });

  it("without an ACL file everything is allowed except writing to $SYS", () => {
    expect(aclAllows(undefined, machine, "any/topic", "write")).toBe(true);
    expect(aclAllows(undefined, machine, "$SYS/broker/x", "write")).toBe(false);
    expect(aclAllows(undefined, machine, "$SYS/broker/connection/b1/state", "write")).toBe(true);
  });

  it("a user without a section and no patterns is denied", () => {
    const only = parseAclFile("user a\ntopic a/#\n");
    expect(aclAllows(only, { username: "b", clientId: "b" }, "a/x", "read")).toBe(false);
    expect(aclAllows(only, { username: "a", clientId: "b" }, "a/x", "read")).toBe(true);
  });
});

describe("formatAclFile", () => {
  it("writes a file that parses back to the same rules", () => {
    const text = formatAclFile({
      header: ["generated by floorsense"],
      sections: [
        { username: "m1", comment: "machine m1", rules: [{ access: "write", filter: "a/b/#" }] },
        { username: "bridge", rules: [{ access: "read", filter: "a/#" }] },
      ],
    });
    expect(text).toBe(
      "# generated by floorsense\n\n# machine m1\nuser m1\ntopic write a/b/#\n\nuser bridge\ntopic read a/#\n",
    );
    const acl = parseAclFile(text);
    expect(acl.users.get("m1")).toEqual([{ kind: "topic", access: "write", filter: "a/b/#", line: 5 }]);
  });

  it("refuses filters Mosquitto would refuse", () => {
    expect(() =>
      formatAclFile({ sections: [{ username: "m", rules: [{ access: "read", filter: "a/#/b" }] }] }),
    ).toThrow('invalid ACL topic "a/#/b"');
  });
});
