import { PayloadTemplate } from "../openmetrics/payload-template.js";
import type { MetricFamily } from "../openmetrics/types.js";
import type { RemoteSample } from "./remote-write-encoding.js";
import type { DeviceSeries } from "./series-store.js";

/** One template per distinct payload shape, with scratch space for the numbers it reads. */
export interface SharedTemplate {
  readonly template: PayloadTemplate;
  readonly values: Float64Array;
  readonly timestamps: Float64Array;
}

/** What a topic's next payload is checked against, and where its samples go by position. */
export interface TopicTemplate {
  readonly shared: SharedTemplate;
  readonly device: DeviceSeries;
  readonly layoutVersion: number;
  /** Remote-write label sets per sample, when remote write is configured. */
  readonly remoteLabels?: RemoteSample["labels"][];
}

/**
 * Templates of the last accepted payload per topic. Devices of one profile send payloads of the same
 * shape (identity labels come from the topic, not the payload), so one template serves them all and
 * memory grows with the number of shapes, not devices. Both tables are bounded: past the limits they
 * are emptied and refill from the next payloads, which then take the full parse once.
 */
export class PayloadTemplates {
  private readonly byTopic = new Map<string, TopicTemplate>();
  private readonly byShape = new Map<string, SharedTemplate>();
  private shapeBytes = 0;

  constructor(
    private readonly maxShapeBytes = 64 * 1024 * 1024,
    private readonly maxTopics = 100_000,
  ) {}

  /** The topic's template while its device still has the layout it was built for. */
  of(topic: string): TopicTemplate | undefined {
    const entry = this.byTopic.get(topic);
    if (entry === undefined) return undefined;
    if (entry.device.removed || entry.device.layoutVersion !== entry.layoutVersion) {
      this.byTopic.delete(topic);
      return undefined;
    }
    return entry;
  }

  /** Remembers `payload`, just accepted whole into `device` as `families`, for the topic's next one. */
  remember(
    topic: string,
    payload: Uint8Array,
    families: MetricFamily[],
    device: DeviceSeries,
    remoteLabels?: RemoteSample["labels"][],
  ): void {
    const template = PayloadTemplate.build(payload, families);
    if (template === undefined || template.samples !== device.length) {
      this.byTopic.delete(topic);
      return;
    }
    let shared = this.byShape.get(template.shape);
    if (shared !== undefined && !shared.template.sameShape(template)) {
      // Two shapes with one digest: this topic keeps a template of its own.
      shared = {
        template,
        values: new Float64Array(template.samples),
        timestamps: new Float64Array(template.samples),
      };
    } else if (shared === undefined) {
      if (this.shapeBytes + template.byteLength > this.maxShapeBytes) this.clear();
      shared = {
        template,
        values: new Float64Array(template.samples),
        timestamps: new Float64Array(template.samples),
      };
      this.byShape.set(template.shape, shared);
      this.shapeBytes += template.byteLength;
    }
    if (this.byTopic.size >= this.maxTopics && !this.byTopic.has(topic)) this.clear();
    this.byTopic.set(topic, { shared, device, layoutVersion: device.layoutVersion, remoteLabels });
  }

  get shapes(): number {
    return this.byShape.size;
  }

  private clear(): void {
    this.byTopic.clear();
    this.byShape.clear();
    this.shapeBytes = 0;
  }
}
