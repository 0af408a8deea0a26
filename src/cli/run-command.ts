import { defaultHome, readTokenFile, tokenFilePath } from "../access/token-file.ts";
import { BatonApiError, BatonClient } from "../client/baton-client.ts";

/** Exit codes every command shares (documented in `baton --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

export function clientFrom(options: GlobalOptions): BatonClient {
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

/** Prints `value` as JSON with --json, or as `text(value)` otherwise. */
export function print<T>(options: GlobalOptions, value: T, text: (value: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text(value)}\n`);
}

/** Runs a command body and turns failures into a one-line message and the right exit code. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof BatonApiError) {
      process.stderr.write(
        `baton: ${error.message}${error.code.startsWith("HTTP_") ? "" : ` [${error.code}]`}\n`,
      );
      process.exitCode =
        error.status === 0 ? EXIT.unreachable : error.status === 400 ? EXIT.usage : EXIT.failed;
      return;
    }
    process.stderr.write(`baton: ${(error as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
}
