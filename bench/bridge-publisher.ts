/**
 * Publisher process of the bridge benchmark: DEVICES devices × CYCLES readings at QoS 1, as fast as
 * the broker acknowledges them (at most WINDOW unacknowledged), then prints one JSON line with the
 * wall-clock start and end. A separate process so it never shares an event loop with a consumer.
 *
 *   tsx bench/bridge-publisher.ts URL DEVICES CYCLES om|json [TOPIC_PREFIX]
 *
 * TOPIC_PREFIX keeps consumers that stay subscribed between rounds from taking each other's rounds.
 */
import mqtt from "mqtt";
import { sdm630Json, sdm630Reading } from "./bridge-payload.js";

const [url, devicesText, cyclesText, format, prefix = ""] = process.argv.slice(2);
const devices = Number(devicesText);
const cycles = Number(cyclesText);
const WINDOW = 500;

const client = await mqtt.connectAsync(url!, {
  protocolVersion: format === "json" ? 4 : 5,
  clientId: `bench-pub-${process.pid}`,
});
// Later rounds of the benchmark publish later timestamps, so no sample is older than the stored one.
const now = Math.floor(Date.now() / 1000);
// Payloads prepared up front: the benchmark measures the consumer, not string building.
const payloads: Array<{ topic: string; payload: Buffer }> = [];
for (let c = 0; c < cycles; c++) {
  for (let d = 0; d < devices; d++) {
    const topic = `${prefix}${format === "json" ? `bench/json/meter${d}` : `floorsense/v1/acme/plant1/m${d}/sdm630`}`;
    const payload = format === "json" ? sdm630Json(d + c) : sdm630Reading(now - 1 + c / 1000 + 0.125, d + c);
    payloads.push({ topic, payload: Buffer.from(payload) });
  }
}
const start = Date.now();
let next = 0;
await new Promise<void>((resolve, reject) => {
  let inFlight = 0;
  let acked = 0;
  const pump = () => {
    while (inFlight < WINDOW && next < payloads.length) {
      const { topic, payload } = payloads[next++]!;
      inFlight++;
      client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) return reject(error);
        inFlight--;
        if (++acked === payloads.length) resolve();
        else pump();
      });
    }
  };
  pump();
});
const end = Date.now();
await client.endAsync();
console.log(JSON.stringify({ start, end, messages: payloads.length, bytes: payloads[0]!.payload.length }));
