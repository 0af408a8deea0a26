#!/usr/bin/env -S node --max-semi-space-size=8
// Baton's CLI entry. The young generation is capped at 2 × 8 MB (V8's default here grows it to 2 × 64 MB
// under load and keeps it): ~15 MB less idle, ~65 MB less after a burst (docs/capacity.md, "Idle memory").
// Node >= 22.18 runs the TypeScript sources directly (type stripping); on an older Node,
// say so plainly instead of failing with "Unknown file extension .ts".
import { readdirSync, statSync } from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `baton: needs Node.js >= 22.18 (24 LTS recommended); this is ${process.version}.\n` +
      "  From a checkout, `source .ci/provision-node.sh` installs Node 24 from the npm registry into .tools/.\n",
  );
  process.exit(2);
}

// The build in dist/server (`npm run build:server`, run by `prepare`) when it is newer than every source
// file: it spares the process Node's type stripper (~20 MB resident, docs/capacity.md). A source edited
// since, or a checkout of another commit, runs from src/ until the next build (`node src/main.ts` always does).
const SOURCES = new URL("../src/", import.meta.url);
const BUILT = new URL("../dist/server/built-at", import.meta.url);

function mtimeOf(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestSourceMs() {
  let newest = mtimeOf(SOURCES) ?? 0;
  for (const entry of readdirSync(SOURCES, { recursive: true, withFileTypes: true })) {
    const path = `${entry.parentPath}/${entry.name}`;
    newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function buildIsCurrent() {
  const built = mtimeOf(BUILT);
  if (built === undefined) return false;
  if (mtimeOf(SOURCES) === undefined) return true; // an installed package without its sources
  return newestSourceMs() <= built;
}

await import(buildIsCurrent() ? "../dist/server/main.js" : "../src/main.ts");
