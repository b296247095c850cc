/**
 * Mosquitto ACL files (`acl_file`) and MQTT topic matching, with Mosquitto 2.0's semantics:
 * the provisioning CLI writes these files and `floorsense broker` enforces them, and a client
 * must get exactly the same answers from either broker.
 *
 * File format: `topic [read|write|readwrite|deny] <filter>` lines before any `user` line apply to
 * clients without a user name; after `user <name>` they apply to that user; `pattern ...` lines
 * apply to every client, with `%u` (user name) and `%c` (client id) substituted. Without an access
 * word the access is readwrite. `deny` wins over any grant. Whatever is not granted is denied.
 */

export type AclAccess = "read" | "write" | "readwrite" | "deny";

export interface AclRule {
  kind: "topic" | "pattern";
  access: AclAccess;
  filter: string;
  /** 1-based line in the file, 0 for rules built in code. */
  line: number;
}

export interface AclFile {
  /** `topic` lines before the first `user` line: clients that connected without a user name. */
  anonymous: AclRule[];
  users: Map<string, AclRule[]>;
  patterns: AclRule[];
}

/** What a client asks to do: read = receive a message, write = publish, subscribe = SUBSCRIBE. */
export type AclOperation = "read" | "write" | "subscribe";

export interface AclClient {
  username?: string;
  clientId: string;
}

export class AclFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = "AclFileError";
  }
}

/** Mosquitto's `mosquitto_sub_topic_check`: `+` and `#` only as whole levels, `#` only last. */
export function isValidSubscriptionFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65_535 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every((level, index) => {
    if (level.includes("#")) return level === "#" && index === levels.length - 1;
    if (level.includes("+")) return level === "+";
    return true;
  });
}

/** Mosquitto's `mosquitto_pub_topic_check`: no wildcards at all. */
export function isValidPublishTopic(topic: string): boolean {
  return (
    topic.length > 0 &&
    topic.length <= 65_535 &&
    !topic.includes("+") &&
    !topic.includes("#") &&
    !topic.includes("\u0000")
  );
}

/**
 * Does `topic` match the subscription `filter`? As `mosquitto_topic_matches_sub`: `+` is one
 * level (which may be empty), `#` is the rest including none (`a/#` matches `a`), and a filter
 * that starts with a wildcard never matches a `$` topic such as `$SYS/...`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!isValidSubscriptionFilter(filter) || !isValidPublishTopic(topic)) return false;
  if (filter.startsWith("$") !== topic.startsWith("$")) return false;
  const want = filter.split("/");
  const have = topic.split("/");
  for (let i = 0; i < want.length; i++) {
    const level = want[i]!;
    if (level === "#") return true;
    if (i >= have.length) return false;
    if (level !== "+" && level !== have[i]) return false;
  }
  return want.length === have.length;
}

const ACCESS_WORDS = new Set<string>(["read", "write", "readwrite", "deny"]);

/**
 * Parses an ACL file as Mosquitto 2.0 does, including its quirks (fields split on single spaces,
 * `topic x` meaning readwrite on `x`). Lines Mosquitto would refuse to start with are errors here too.
 */
export function parseAclFile(text: string, file = "acl"): AclFile {
  const acl: AclFile = { anonymous: [], users: new Map(), patterns: [] };
  let user: string | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\s+$/, "");
    if (content.startsWith("#")) return;
    const tokens = content.split(" ").filter((token) => token !== "");
    const keyword = tokens[0];
    if (keyword === undefined) return;
    if (keyword === "user") {
      const name = content.slice(content.indexOf("user") + 4).replace(/^[ \t]+/, "");
      if (name === "") throw new AclFileError(file, line, "missing user name after `user`");
      user = name;
      if (!acl.users.has(name)) acl.users.set(name, []);
      return;
    }
    if (keyword !== "topic" && keyword !== "pattern") {
      throw new AclFileError(
        file,
        line,
        `invalid line ${JSON.stringify(content)}: expected "user", "topic" or "pattern"`,
      );
    }
    const accessWord = tokens[1];
    if (accessWord === undefined) throw new AclFileError(file, line, `empty topic after \`${keyword}\``);
    // Everything after the access word is the filter (it may contain spaces).
    const afterKeyword = content.slice(content.indexOf(keyword) + keyword.length).replace(/^ +/, "");
    const rest = afterKeyword
      .slice(accessWord.length)
      .replace(/^ +/, "")
      .replace(/^[ \t]+|[ \t]+$/g, "");
    let access: AclAccess;
    let filter: string;
    if (rest === "") {
      access = "readwrite";
      filter = accessWord;
    } else {
      if (!ACCESS_WORDS.has(accessWord)) {
        throw new AclFileError(
          file,
          line,
          `invalid access type ${JSON.stringify(accessWord)}: expected read, write, readwrite or deny`,
        );
      }
      access = accessWord as AclAccess;
      filter = rest;
    }
    if (!isValidSubscriptionFilter(filter)) {
      throw new AclFileError(
        file,
        line,
        `invalid ACL topic ${JSON.stringify(filter)}: + and # must be whole levels, # only last`,
      );
    }
    const rule: AclRule = { kind: keyword, access, filter, line };
    if (keyword === "pattern") acl.patterns.push(rule);
    else if (user === undefined) acl.anonymous.push(rule);
    else acl.users.get(user)!.push(rule);
  });
  return acl;
}

function grants(access: AclAccess, operation: "read" | "write"): boolean {
  return access === "readwrite" || access === operation;
}

/** Deny rules are looked at first, as Mosquitto keeps them at the front of each list. */
function denyFirst(rules: readonly AclRule[]): AclRule[] {
  return [...rules.filter((r) => r.access === "deny"), ...rules.filter((r) => r.access !== "deny")];
}

function substitute(filter: string, client: AclClient): string {
  let out = "";
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === "%" && i < filter.length - 1) {
      if (filter[i + 1] === "c") {
        out += client.clientId;
        i++;
        continue;
      }
      if (filter[i + 1] === "u" && client.username !== undefined) {
        out += client.username;
        i++;
        continue;
      }
    }
    out += filter[i];
  }
  return out;
}

/** `$SYS` is read-only for clients; `$share/...` is never a message topic. */
function dollarCheck(topic: string, operation: AclOperation): boolean {
  if (!topic.startsWith("$")) return true;
  if (topic.startsWith("$SYS")) {
    return operation !== "write" || topicMatches("$SYS/broker/connection/+/state", topic);
  }
  if (topic.startsWith("$share")) return operation === "subscribe";
  return true;
}

/**
 * Whether the ACL lets `client` do `operation` on `topic`, as Mosquitto 2.0's default ACL check.
 * SUBSCRIBE is always allowed (Mosquitto checks read access on each message delivered instead,
 * so a subscription to someone else's topics is granted but stays silent).
 */
export function aclAllows(
  acl: AclFile | undefined,
  client: AclClient,
  topic: string,
  operation: AclOperation,
): boolean {
  if (!dollarCheck(topic, operation)) return false;
  if (acl === undefined) return true;
  if (operation === "subscribe") return true;
  const own = client.username === undefined ? acl.anonymous : acl.users.get(client.username);
  if (own === undefined && acl.patterns.length === 0) return false;
  for (const rule of denyFirst(own ?? [])) {
    if (topic.startsWith("$") && !rule.filter.startsWith("$")) continue;
    if (!topicMatches(rule.filter, topic)) continue;
    if (rule.access === "deny") return false;
    if (grants(rule.access, operation)) return true;
  }
  if (acl.patterns.length === 0) return false;
  // A user name or client id holding a wildcard could widen a pattern to other clients' topics.
  if (client.username !== undefined && /[+#]/.test(client.username)) return false;
  if (/[+#]/.test(client.clientId)) return false;
  for (const rule of denyFirst(acl.patterns)) {
    if (rule.filter.includes("%u") && client.username === undefined) continue;
    if (!topicMatches(substitute(rule.filter, client), topic)) continue;
    if (rule.access === "deny") return false;
    if (grants(rule.access, operation)) return true;
  }
  return false;
}

export interface AclSection {
  /** Omitted for the anonymous section, which must come first. */
  username?: string;
  comment?: string;
  rules: Array<{ access: AclAccess; filter: string }>;
}

/** Writes an ACL file: a header comment, patterns, the anonymous section, then one section per user. */
export function formatAclFile(options: {
  header?: string[];
  patterns?: Array<{ access: AclAccess; filter: string }>;
  sections: AclSection[];
}): string {
  const out: string[] = (options.header ?? []).map((line) => (line === "" ? "#" : `# ${line}`));
  const anonymous = options.sections.filter((s) => s.username === undefined);
  const named = options.sections.filter((s) => s.username !== undefined);
  const rule = (keyword: string, r: { access: AclAccess; filter: string }) => {
    if (!isValidSubscriptionFilter(r.filter) || /^\s|\s$/.test(r.filter)) {
      throw new Error(`invalid ACL topic ${JSON.stringify(r.filter)}`);
    }
    return `${keyword} ${r.access} ${r.filter}`;
  };
  for (const section of anonymous) {
    if (out.length > 0) out.push("");
    if (section.comment) out.push(`# ${section.comment}`);
    for (const r of section.rules) out.push(rule("topic", r));
  }
  for (const section of named) {
    const name = section.username!;
    if (/[\r\n]/.test(name) || name.trim() !== name || name === "") {
      throw new Error(`invalid ACL user name ${JSON.stringify(name)}`);
    }
    if (out.length > 0) out.push("");
    if (section.comment) out.push(`# ${section.comment}`);
    out.push(`user ${name}`);
    for (const r of section.rules) out.push(rule("topic", r));
  }
  if ((options.patterns ?? []).length > 0) {
    out.push("");
    for (const r of options.patterns ?? []) out.push(rule("pattern", r));
  }
  return `${out.join("\n")}\n`;
}
