/** The OpenMetrics codec every floorsense part uses. */
export { OpenMetricsParseError } from "./errors.js";
export { formatCanonicalNumber, formatNumber, parseOpenMetricsNumber } from "./numbers.js";
export { type OpenMetricsVisitor, parseOpenMetrics, scanOpenMetrics } from "./parser.js";
export { parsePrometheusText } from "./prometheus-text.js";
export { PROMETHEUS_TEXT_TYPES, serializeOpenMetrics, serializePrometheusText } from "./serializer.js";
export {
  type Exemplar,
  type Labels,
  type MetricFamily,
  type MetricType,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  type Sample,
} from "./types.js";
