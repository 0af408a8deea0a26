import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../../src/mock-model/index.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "./baton-process.ts";
import { testSettings } from "./harness.ts";
import { assertNoLeakedProcesses } from "./leak-guard.ts";
import { createTestDatabase } from "./postgres.ts";

export interface BatonCluster {
  mock: MockModel;
  root: string;
  /** The cluster's database (a test may write rows behind the nodes' backs). */
  dbUrl: string;
  /** A new `baton serve` node on the cluster's database, named `name`. */
  start(name: string, settings?: Record<string, unknown>): Promise<BatonProcess>;
  /** A fresh working directory under the cluster's root. */
  workDir(): string;
}

/**
 * Real `baton serve` processes on one fresh PostgreSQL database, with one scripted model and one shared
 * agent environment (one CLAUDE_CONFIG_DIR: see docs/deployment.md). Everything is stopped after the test,
 * and the leak guard fails it if any child process survived.
 */
/**
 * Placement off for a test node (written under `root`): a node that cannot read its memory neither hands a
 * spawn to a peer nor is handed one (src/cluster/node-placement.ts), and memory admission lets every start
 * through. Tests that need a session to run where it was spawned use it: with real (or even equal dictated)
 * readings, a node with a start in flight counts that start against itself and may hand the next to a peer.
 */
export function placementOff(root: string): { meminfoPath: string } {
  return { meminfoPath: join(root, "no-meminfo-here") };
}

export async function startBatonCluster(
  t: TestContext,
  cluster: Record<string, unknown>,
  what: string,
): Promise<BatonCluster> {
  const database = await createTestDatabase();
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), "baton-cluster-"));
  const nodes: BatonProcess[] = [];
  t.after(async () => {
    for (const node of nodes) await stopBatonProcess(node);
    await mock.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
    assertNoLeakedProcesses(what);
  });
  return {
    mock,
    root,
    dbUrl: database.url,
    start: async (name, settings = {}) => {
      const base = testSettings(root, mock.url, {
        db: database.url,
        ...placementOff(root),
        ...cluster,
      });
      const node = await startBatonProcess({
        ...base,
        home: join(root, `home-${name}`),
        nodeId: name,
        ...settings,
      });
      nodes.push(node);
      return node;
    },
    workDir: () => mkdtempSync(join(root, "w-")),
  };
}

export function clientOf(node: BatonProcess): BatonClient {
  return new BatonClient({ url: node.url, token: node.token });
}

/** One session's whole log, output and deltas included. */
export async function sessionLog(client: BatonClient, sessionId: string, after = 0): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (let cursor = after; ; ) {
    const page = await client.sessionEvents(sessionId, { after: cursor, limit: 5000 });
    events.push(...page.events);
    if (page.events.length === 0) return events;
    cursor = page.events.at(-1)?.seq ?? cursor;
  }
}
