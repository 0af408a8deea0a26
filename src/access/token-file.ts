import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { newToken } from "./token-hash.ts";

/** Where the local admin token lives: `$BATON_HOME/token` (the Jupyter / code-server pattern). */
export function tokenFilePath(home: string): string {
  return join(home, "token");
}

/**
 * The admin token Baton uses when none is configured: read from `<home>/token`, or created there on first
 * start with mode 0600, so the CLI of the same user on the same machine can use it while other users and
 * web pages cannot. A file with looser permissions is tightened, not trusted as is.
 */
export function ensureTokenFile(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = tokenFilePath(home);
  const existing = readTokenFile(path);
  if (existing) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return existing;
  }
  const token = newToken("admin");
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
    return token;
  } catch (error) {
    // Another process created it between our read and write: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readTokenFile(path) ?? token;
    throw error;
  }
}

/** The token in a token file, or undefined when there is none (or it is empty or unreadable). */
export function readTokenFile(path: string): string | undefined {
  try {
    const token = readFileSync(path, "utf8").trim();
    return token.length > 0 ? token : undefined;
  } catch {
    return undefined;
  }
}

/** The home a client on this machine would share with a local server: BATON_HOME or ~/.baton. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.BATON_HOME ?? join(homedir(), ".baton");
}
