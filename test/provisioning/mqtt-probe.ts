import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

/** Test-side MQTT helpers: connect and observe what a broker lets through, bounded in time. */

export type ConnectResult =
  | { ok: true; client: MqttClient }
  | { ok: false; code: number | undefined; message: string };

export function tryConnect(url: string, options: IClientOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    const timer = setTimeout(() => {
      client.end(true);
      resolve({ ok: false, code: undefined, message: "no CONNACK within 5 s" });
    }, 6_000);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve({ ok: true, client });
    });
    client.once("error", (error) => {
      clearTimeout(timer);
      client.end(true);
      resolve({ ok: false, code: (error as { code?: number }).code, message: error.message });
    });
  });
}

export async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  const result = await tryConnect(url, options);
  if (!result.ok) throw new Error(`cannot connect as ${options.username}: ${result.message}`);
  return result.client;
}

/** Collects every message a client receives, so tests can assert on what did (not) arrive. */
export function recorder(client: MqttClient): {
  messages: Array<{ topic: string; payload: string }>;
  waitFor(payload: string, timeoutMs?: number): Promise<void>;
} {
  const messages: Array<{ topic: string; payload: string }> = [];
  const waiters: Array<{ payload: string; resolve: () => void }> = [];
  client.on("message", (topic, payload) => {
    const text = payload.toString("utf8");
    messages.push({ topic, payload: text });
    for (const waiter of waiters.filter((w) => w.payload === text)) waiter.resolve();
  });
  return {
    messages,
    waitFor(payload, timeoutMs = 5_000) {
      if (messages.some((m) => m.payload === payload)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`message ${payload} did not arrive within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          payload,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

/**
 * Publishes at QoS 1 and reports how the broker answered: "acked" (PUBACK success, the way
 * MQTT 3.1.1 brokers answer even a denied publish) or the MQTT 5 reason code of a refusal.
 */
export async function publishQos1(
  client: MqttClient,
  topic: string,
  payload: string,
  retain = false,
): Promise<"acked" | number> {
  try {
    await client.publishAsync(topic, payload, { qos: 1, retain });
    return "acked";
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (typeof code === "number") return code;
    throw error;
  }
}
