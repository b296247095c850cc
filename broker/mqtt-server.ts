import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from "aedes";
import { Counter, Gauge, type Registry } from "prom-client";
import { parseListenAddress } from "../lib/http-server.js";
import type { Logger } from "../lib/logger.js";
import { acceptMqtt5, markDenied } from "./mqtt5.js";
import type { BrokerSecurity } from "./security.js";

export interface MqttServerOptions {
  listen: string;
  security: BrokerSecurity;
  registry: Registry;
  logger: Logger;
}

export interface MqttServer {
  readonly port: number;
  readonly address: string;
  connectedClients(): number;
  /** Re-reads the password and ACL files and disconnects clients whose login no longer holds. */
  reloadSecurity(): void;
  close(): Promise<void>;
}

/** CONNACK return code 5, what Mosquitto sends for every refused login on MQTT 3.1.1. */
const NOT_AUTHORIZED = 5;

interface Login {
  username?: string;
  password?: Buffer;
}

/**
 * An aedes broker on a TCP port with Mosquitto's authentication and ACL semantics, for MQTT 3.1.1
 * and (through mqtt5.ts) MQTT 5 clients.
 *
 * Mosquitto does not disconnect a client whose publish the ACL denies: it acknowledges it and
 * drops the message. aedes closes the connection when authorizePublish fails, so denied packets
 * are let through authorizePublish, remembered, and swallowed where aedes hands them to the
 * router. Subscriptions are always granted, and each delivery is checked for read access,
 * which is how Mosquitto 2.0 applies `topic read` lines.
 */
export async function startMqttServer(options: MqttServerOptions): Promise<MqttServer> {
  const { security, logger, registry } = options;
  const logins = new WeakMap<Client, Login>();
  const denied = new WeakSet<object>();

  const refused = new Counter({
    name: "floorsense_broker_connections_refused_total",
    help: "CONNECTs refused, by reason (anonymous, unknown_user, missing_password, bad_password).",
    labelNames: ["reason"],
    registers: [registry],
  });
  const deniedPublishes = new Counter({
    name: "floorsense_broker_publishes_denied_total",
    help: "PUBLISH packets (and wills) the ACL did not allow; acknowledged and dropped, as Mosquitto does.",
    registers: [registry],
  });
  const deniedDeliveries = new Counter({
    name: "floorsense_broker_deliveries_denied_total",
    help: "Messages not delivered to a subscriber because the ACL gives it no read access to the topic.",
    registers: [registry],
  });
  const received = new Counter({
    name: "floorsense_broker_messages_received_total",
    help: "PUBLISH packets accepted from clients.",
    registers: [registry],
  });

  const aclClient = (client: Client) => ({ username: logins.get(client)?.username, clientId: client.id });

  const broker = await Aedes.createBroker({
    preConnect(client, packet, done) {
      if (packet.protocolVersion === 5) acceptMqtt5(client, packet);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const verdict = security.checkLogin(username ?? undefined, password ?? undefined);
      if (verdict.ok) {
        logins.set(client, { username: username ?? undefined, password: password ?? undefined });
        done(null, true);
        return;
      }
      refused.inc({ reason: verdict.reason });
      logger.info({ clientId: client.id, username, reason: verdict.reason }, "login refused");
      const error = new Error("not authorized") as AuthenticateError;
      (error as { returnCode: number }).returnCode = NOT_AUTHORIZED;
      done(error, false);
    },
    authorizePublish(client, packet, done) {
      if (client === null) {
        // A will left over from an earlier broker run: nobody to check it against.
        denied.add(packet);
        done(null);
        return;
      }
      if (!security.allows(aclClient(client), packet.topic, "write")) {
        denied.add(packet);
        deniedPublishes.inc();
        // MQTT 5 can say no (PUBACK 0x87), as Mosquitto does; QoS 2 keeps aedes' usual flow.
        if (packet.qos === 1) markDenied(client, packet.messageId);
        logger.debug({ clientId: client.id, topic: packet.topic }, "publish denied by ACL");
      }
      done(null);
    },
    authorizeSubscribe(_client, subscription, done) {
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      if (!security.allows(aclClient(client), packet.topic, "read")) {
        deniedDeliveries.inc();
        return null;
      }
      return packet;
    },
  });

  const route = broker.publish.bind(broker);
  (broker as { publish: typeof route }).publish = ((
    packet: PublishPacket,
    client: Client | ((error?: Error) => void),
    done?: (error?: Error) => void,
  ) => {
    if (denied.has(packet)) {
      denied.delete(packet);
      const callback = typeof client === "function" ? client : done;
      callback?.();
      return;
    }
    if (typeof client === "object" && client !== null) received.inc();
    (route as (...args: unknown[]) => void)(packet, client, done);
  }) as typeof route;

  broker.on("clientError", (client, error) => {
    logger.debug({ clientId: client.id, err: error.message }, "client error");
  });
  broker.on("connectionError", (client, error) => {
    logger.debug({ clientId: client.id, err: error.message }, "connection error");
  });

  new Gauge({
    name: "floorsense_broker_connected_clients",
    help: "MQTT clients connected now.",
    registers: [registry],
    collect() {
      this.set(broker.connectedClients);
    },
  });

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  const { host, port } = parseListenAddress(options.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  logger.info({ address: `${host}:${boundPort}` }, "mqtt listening");

  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    address: `${host}:${boundPort}`,
    connectedClients: () => broker.connectedClients,
    reloadSecurity() {
      security.reload();
      // As Mosquitto on SIGHUP: logins that the new files no longer accept are disconnected.
      const clients = (broker as unknown as { clients: Record<string, Client> }).clients;
      for (const client of Object.values(clients)) {
        const login = logins.get(client);
        if (login === undefined) continue;
        const verdict = security.checkLogin(login.username, login.password);
        if (!verdict.ok) {
          logger.info(
            { clientId: client.id, username: login.username },
            "login no longer valid, disconnecting",
          );
          client.close();
        }
      }
    },
    close() {
      closing ??= (async () => {
        // Stop accepting first, then let aedes close its clients (which sends their wills).
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}
