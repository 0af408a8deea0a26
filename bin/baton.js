#!/usr/bin/env node
// Baton's CLI entry. Node >= 22.18 runs the TypeScript sources directly (type stripping); on an older Node,
// say so plainly instead of failing with "Unknown file extension .ts".
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `baton: needs Node.js >= 22.18 (24 LTS recommended); this is ${process.version}.\n` +
      "  From a checkout, `source .ci/provision-node.sh` installs Node 24 from the npm registry into .tools/.\n",
  );
  process.exit(2);
}
await import("../src/main.ts");
