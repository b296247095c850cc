import { type Logger, pino } from "pino";

export type { Logger };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Structured JSON logs on stdout (or the given stream), one logger per service so every
 * line says which part of the stack wrote it.
 */
export function createLogger(
  service: string,
  level: LogLevel = "info",
  destination?: NodeJS.WritableStream,
): Logger {
  const options = { name: `floorsense-${service}`, level, base: { service } };
  return destination ? pino(options, destination) : pino(options);
}
