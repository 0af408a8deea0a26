import { defaultHome, readTokenFile, tokenFilePath } from "../access/token-file.ts";
import { BatonApiError, BatonClient } from "../client/index.ts";

/** Exit codes every command shares (documented in `baton --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** The error code a failure without one of Baton's own gets under --json, by exit code. */
const CODE_FOR_EXIT: Record<number, string> = { 1: "FAILED", 2: "USAGE", 3: "UNREACHABLE" };

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

/** Set from the parsed global options before any command runs (program.ts), so every failure obeys --json. */
let jsonErrors = false;
export function setJsonErrors(on: boolean): void {
  jsonErrors = on;
}

/** A mistake in how the command was called or configured: exit 2 with its message. */
export class UsageError extends Error {}

export function clientFrom(options: GlobalOptions): BatonClient {
  checkUrl(options.url, "--url");
  if (options.url === undefined) checkUrl(process.env.BATON_URL, "BATON_URL");
  return new BatonClient({ url: options.url, token: cliToken(options) });
}

/**
 * The token the CLI sends: `--token`, else BATON_TOKEN, else the one a local Baton wrote to
 * `$BATON_HOME/token`. The file is only ever sent to a loopback address: a local admin token must not
 * travel to whatever server BATON_URL happens to name.
 */
export function cliToken(options: GlobalOptions): string | undefined {
  const given = options.token ?? process.env.BATON_TOKEN;
  if (given) return given;
  const url = options.url ?? process.env.BATON_URL ?? "http://127.0.0.1:8420";
  return isLoopbackUrl(url) ? readTokenFile(tokenFilePath(defaultHome())) : undefined;
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

/** `localhost:8420` parses as a URL with scheme "localhost:": say it is malformed, not that Baton is down. */
function checkUrl(url: string | undefined, source: string): void {
  if (url === undefined || url === "") return;
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === "http:" || protocol === "https:") return;
  throw new UsageError(
    `${source} "${url}" is malformed: expected http://host:port or https://host:port (e.g. http://${url.replace(/^[a-z]+:\/\//i, "")})`,
  );
}

/** Prints `value` as JSON with --json, or as `text(value)` otherwise. */
export function print<T>(options: GlobalOptions, value: T, text: (value: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text(value)}\n`);
}

export interface Failure {
  message: string;
  exitCode: number;
  /** Baton's error code (API errors); otherwise derived from the exit code. */
  code?: string | undefined;
  details?: Record<string, unknown> | undefined;
  /** What the plain-text line starts with (default `baton`). */
  prefix?: string;
}

/**
 * Reports a failure on stderr and sets the exit code: one line for people, or with --json the API's own
 * error shape `{"error": {code, message, details?}}` so a script parses every answer of a command the same way.
 */
export function reportFailure(failure: Failure): void {
  const code = failure.code ?? CODE_FOR_EXIT[failure.exitCode] ?? "FAILED";
  if (jsonErrors) {
    const error = { code, message: failure.message, ...(failure.details && { details: failure.details }) };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else {
    const suffix = failure.code && !failure.code.startsWith("HTTP_") ? ` [${failure.code}]` : "";
    process.stderr.write(`${failure.prefix ?? "baton"}: ${failure.message}${suffix}\n`);
  }
  process.exitCode = failure.exitCode;
}

/** Runs a command body and turns failures into a one-line message (JSON under --json) and the right exit code. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof BatonApiError) {
      reportFailure({
        message: error.message,
        code: error.code,
        details: error.details,
        exitCode: error.status === 0 ? EXIT.unreachable : error.status === 400 ? EXIT.usage : EXIT.failed,
      });
      return;
    }
    reportFailure({
      message: (error as Error).message,
      exitCode: error instanceof UsageError ? EXIT.usage : EXIT.failed,
    });
  }
}
