import pino, { type Logger } from "pino";

export type { Logger };

/** Request fields that carry credentials: never logged, whatever else a log line includes. */
const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  "*.token",
  "*.apiKey",
  "*.anthropicApiKey",
  "*.claudeCodeOauthToken",
];

/**
 * Structured logs to stderr (stdout stays free for CLI output). `scrub` removes known secret values from
 * every line as it is written (see makeSecretScrubber), on top of pino's redaction of credential fields.
 */
export function createLogger(level: string, scrub?: (line: string) => string): Logger {
  return pino(
    {
      level,
      base: { service: "baton" },
      redact: { paths: REDACTED_PATHS, censor: "***" },
      ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
    },
    pino.destination(2),
  );
}
