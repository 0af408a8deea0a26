import pino, { type Logger } from "pino";

export type { Logger };

/** Structured logs to stderr (stdout stays free for CLI output). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "baton" } }, pino.destination(2));
}
