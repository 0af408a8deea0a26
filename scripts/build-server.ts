/**
 * `npm run build:server` (part of `prepare`): Baton's server as JavaScript in dist/server/, which
 * bin/baton.js runs while it is newer than every file in src/. Loading the TypeScript sources directly
 * costs the process ~20 MB of resident memory for Node's type stripper (docs/capacity.md, "Idle memory").
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "dist", "server");

rmSync(OUT, { recursive: true, force: true });
execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit",
});
// Written last: bin/baton.js compares src/ against this file's time, so a build cut short is never used.
writeFileSync(join(OUT, "built-at"), `${new Date().toISOString()}\n`);
