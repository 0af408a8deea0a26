import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/**
 * This node's id: the `nodeId` setting, else `<hostname>-<suffix>` kept in `<home>/node-id`, so a node
 * restarted on the same home is the same node (it takes back what it owned at once, without waiting for
 * its old lease to expire) while two homes on one host are two nodes.
 */
export function resolveNodeId(configured: string | undefined, home: string): string {
  if (configured) return configured;
  const file = join(home, "node-id");
  try {
    const kept = readFileSync(file, "utf8").trim();
    if (kept) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = `${hostname().replace(/[^\w.-]/g, "-")}-${randomBytes(3).toString("hex")}`;
  mkdirSync(home, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o644 });
  return id;
}
