import { BatonApiError, BatonClient } from "../client/baton-client.ts";

/** Exit codes every command shares (documented in `baton --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

export function clientFrom(options: GlobalOptions): BatonClient {
  return new BatonClient({ url: options.url, token: options.token });
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
