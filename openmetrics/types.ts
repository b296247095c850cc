/**
 * The data model every floorsense part shares: what the parser produces and the serializers take.
 * Timestamps are in seconds (OpenMetrics' unit), as JS numbers, possibly fractional.
 */

export type MetricType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "summary"
  | "stateset"
  | "info"
  | "unknown";

/** Label names map to values; insertion order is kept and is the order written out. */
export type Labels = Record<string, string>;

export interface Exemplar {
  labels: Labels;
  value: number;
  timestamp?: number;
}

export interface Sample {
  /** Full sample name, with its suffix (`_total`, `_bucket`, `_created`, ...). */
  name: string;
  labels: Labels;
  value: number;
  /** Acquisition time in seconds since the epoch. */
  timestamp?: number;
  exemplar?: Exemplar;
}

export interface MetricFamily {
  /** Family name as in `# TYPE` (no `_total` for counters). */
  name: string;
  type: MetricType;
  help?: string;
  unit?: string;
  samples: Sample[];
}

export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
