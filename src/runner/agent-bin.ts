import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { packagePath } from "../core/package-root.ts";

/**
 * The `baton` an agent's shell runs. Sessions are told they can use `baton wait`, `baton send`, … from Bash,
 * and that must work without `npm link` or a global install: Baton writes a small shim into
 * `<home>/bin/baton` that execs the very Node binary running Baton with this checkout's `bin/baton.js`,
 * and puts that directory first on every agent's PATH (see buildAgentEnv).
 */
const CLI_ENTRY = packagePath("bin", "baton.js");

/** Writes (or rewrites: the Node binary or checkout may have moved since) the shim; returns its directory. */
export function prepareAgentBin(home: string): string {
  const dir = join(home, "bin");
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, "baton");
  const script = `#!/bin/sh\n# Written by Baton at start: its own CLI for agents' shells.\nexec ${shellQuote(process.execPath)} ${shellQuote(CLI_ENTRY)} "$@"\n`;
  // Write then rename: an agent of another Baton on this home never sees a half-written shim.
  const temporary = `${shim}.${process.pid}.tmp`;
  writeFileSync(temporary, script);
  chmodSync(temporary, 0o755);
  renameSync(temporary, shim);
  return dir;
}

/** PATH with `dir` first (once). */
export function prependPath(dir: string, path: string | undefined): string {
  const rest = (path ?? "").split(delimiter).filter((entry) => entry !== "" && entry !== dir);
  return [dir, ...rest].join(delimiter);
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
