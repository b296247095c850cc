import type { Client, ConnectPacket } from "aedes";
import mqttPacket from "mqtt-packet";

/**
 * MQTT 5 clients on aedes 1.2, which speaks MQTT 3.1.1 on the wire.
 *
 * The exporter and the bridge connect with MQTT 5, and aedes refuses protocol level 5 with
 * "unacceptable protocol version". aedes' packet parser (mqtt-packet) reads MQTT 5 fine and its
 * packet objects carry MQTT 5 properties through the broker; only the CONNECT check and the
 * encoder's protocol version stand in the way. So for a client that connects with level 5:
 *
 * - preConnect keeps the connection's parser in MQTT 5 mode and presents the CONNECT to aedes as
 *   3.1.1, so aedes runs its usual session logic;
 * - every packet aedes writes to that connection is encoded as MQTT 5: CONNACK return codes become
 *   reason codes, UNSUBACK gets its per-topic reason codes, publish properties (content type,
 *   user properties, correlation data) pass through, and a publish the ACL denied is answered
 *   with reason code 0x87 (not authorized), as Mosquitto does.
 *
 * aedes writes through `mqttPacket.writeToStream(packet, client.conn)` on the shared module
 * object, which is where the encoding is switched for marked connections; everything else is
 * untouched, and MQTT 3.1.1 connections never reach this code.
 */

interface Mqtt5Session {
  /** QoS 1 messages the ACL denied, to be acknowledged with 0x87. */
  deniedAcks: Set<number>;
  /** UNSUBSCRIBE topic counts by message id: an MQTT 5 UNSUBACK has one reason code per topic. */
  unsubscribeCounts: Map<number, number>;
}

const sessions = new WeakMap<object, Mqtt5Session>();

/** CONNACK: MQTT 3.1.1 return code to MQTT 5 reason code. */
const CONNACK_REASON: Record<number, number> = { 0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };

type AnyPacket = { cmd: string; messageId?: number; [key: string]: unknown };

function toMqtt5(packet: AnyPacket, session: Mqtt5Session): AnyPacket {
  switch (packet.cmd) {
    case "connack":
      return {
        cmd: "connack",
        sessionPresent: packet.sessionPresent,
        reasonCode: CONNACK_REASON[packet.returnCode as number] ?? 0x80,
      };
    case "publish": {
      const properties = packet.properties as Record<string, unknown> | undefined;
      if (properties === undefined) return packet;
      // The publisher's topic alias and subscription ids mean nothing to this subscriber.
      const { topicAlias: _alias, subscriptionIdentifier: _id, ...kept } = properties;
      return { ...packet, properties: kept };
    }
    case "puback":
      if (packet.messageId !== undefined && session.deniedAcks.delete(packet.messageId)) {
        return { ...packet, reasonCode: 0x87 };
      }
      return packet;
    case "unsuback": {
      const count = session.unsubscribeCounts.get(packet.messageId ?? -1) ?? 1;
      session.unsubscribeCounts.delete(packet.messageId ?? -1);
      return { ...packet, granted: new Array<number>(count).fill(0) };
    }
    default:
      return packet;
  }
}

let installed = false;

function installEncoder(): void {
  if (installed) return;
  installed = true;
  const module = mqttPacket as unknown as {
    writeToStream: (packet: AnyPacket, stream: object, options?: { protocolVersion?: number }) => boolean;
  };
  const original = module.writeToStream;
  const wrapped = function (
    this: unknown,
    packet: AnyPacket,
    stream: object,
    options?: { protocolVersion?: number },
  ) {
    const session = sessions.get(stream);
    if (session === undefined || options?.protocolVersion !== undefined) {
      return original.call(this, packet, stream, options);
    }
    return original.call(this, toMqtt5(packet, session), stream, { ...options, protocolVersion: 5 });
  };
  Object.assign(wrapped, original);
  module.writeToStream = wrapped;
}

/** Called from preConnect: lets an MQTT 5 client in as described above. */
export function acceptMqtt5(client: Client, packet: ConnectPacket): void {
  installEncoder();
  const parser = (
    client as unknown as { _parser: NodeJS.EventEmitter & { settings: { protocolVersion: number } } }
  )._parser;
  // The parser took the CONNECT packet itself as its settings; keep it reading MQTT 5.
  parser.settings = { protocolVersion: 5 };
  const session: Mqtt5Session = { deniedAcks: new Set(), unsubscribeCounts: new Map() };
  sessions.set(client.conn, session);
  parser.prependListener("packet", (incoming: AnyPacket) => {
    if (incoming.cmd === "unsubscribe" && incoming.messageId !== undefined) {
      session.unsubscribeCounts.set(incoming.messageId, (incoming.unsubscriptions as string[]).length);
    }
  });
  (packet as { protocolVersion: number }).protocolVersion = 4;
}

export function isMqtt5(client: Client): boolean {
  return sessions.has(client.conn);
}

/** A QoS 1 publish the ACL denied: its PUBACK will say 0x87 (not authorized). */
export function markDenied(client: Client, messageId: number | undefined): void {
  if (messageId !== undefined) sessions.get(client.conn)?.deniedAcks.add(messageId);
}
