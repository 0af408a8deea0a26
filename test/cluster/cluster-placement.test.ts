import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import type { BatonClient } from "../../src/client/baton-client.ts";
import { listDescendants } from "../../src/runner/process-tree.ts";
import type { BatonProcess } from "../support/baton-process.ts";
import {
  allEvents,
  clientOf,
  startTestCluster,
  type TestCluster,
  waitForReadings,
} from "../support/cluster.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";

/**
 * Placement by free memory (docs/deployment.md): queued work starts on the live node whose heartbeat
 * reported clearly the most free memory. Each node's MemAvailable is dictated by the test (the meminfoPath
 * setting memory admission reads), so the box's real memory plays no part.
 */
const skip = await postgresSkipReason();

const BLOCKER = `@bash ${slowCommand(3, "echo blocking")}\n@say blocker done`;
const WORK = "@say placed";

/** Which node runs (ran) the session, as its row says, and whether its process is in that node's tree. */
async function placementOf(cluster: TestCluster, client: BatonClient, id: string, nodes: BatonProcess[]) {
  const db = new pg.Client({ connectionString: cluster.database.url });
  await db.connect();
  try {
    const result = await db.query<{ owner_node: string }>("select owner_node from sessions where id = $1", [
      id,
    ]);
    const { pid } = await client.get(id);
    const tree = nodes.findIndex(
      (node) => typeof pid === "number" && listDescendants(node.pid).includes(pid),
    );
    return { owner: result.rows[0]?.owner_node, treeOf: tree };
  } finally {
    await db.end();
  }
}

test("queued work starts on the node with the most free memory: B while A reads low, then A once the readings flip", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t, { maxConcurrent: 1, maxPerOwner: 10 });
  cluster.setMemory("node-a", 2048);
  cluster.setMemory("node-b", 64 * 1024);
  const a = await cluster.start("node-a");
  const b = await cluster.start("node-b");
  const [clientA, clientB] = [clientOf(a), clientOf(b)];
  const workDir = () => mkdtempSync(join(cluster.root, "w-"));
  await waitForReadings(clientA, "node-a", "node-b");

  // B holds the one slot; two sessions spawned on A queue behind it.
  const blocker = await clientB.spawn({ prompt: BLOCKER, workDir: workDir(), allowedTools: ["Bash"] });
  await waitForEvent({ url: b.url, session: blocker.id }, isTopic("session.spawned", blocker.id));
  const first = await clientA.spawn({ prompt: WORK, workDir: workDir() });
  const second = await clientA.spawn({ prompt: WORK, workDir: workDir() });
  assert.equal(first.status, "queued");
  assert.equal(second.status, "queued");
  for (const id of [first.id, second.id])
    await waitForEvent({ url: a.url, session: id, timeoutMs: 120_000 }, isTurnEnd(id));
  for (const id of [first.id, second.id]) {
    const placed = await placementOf(cluster, clientA, id, [a, b]);
    assert.equal(placed.owner, "node-b", `${id} ran on B (its row)`);
    assert.equal(placed.treeOf, 1, `${id}'s process is B's child`);
  }
  const onA = (await allEvents(clientA)).filter(
    (event) => event.topic === "session.spawned" && [first.id, second.id].includes(event.sessionId ?? ""),
  );
  assert.equal(onA.length, 2, "one process each: nobody started them twice");

  // The readings flip: now A has the memory, and work B queues starts on A.
  cluster.setMemory("node-a", 64 * 1024);
  cluster.setMemory("node-b", 2048);
  await waitForReadings(clientA, "node-b", "node-a");
  const blocker2 = await clientA.spawn({ prompt: BLOCKER, workDir: workDir(), allowedTools: ["Bash"] });
  await waitForEvent({ url: a.url, session: blocker2.id }, isTopic("session.spawned", blocker2.id));
  const third = await clientB.spawn({ prompt: WORK, workDir: workDir() });
  assert.equal(third.status, "queued");
  await waitForEvent({ url: b.url, session: third.id, timeoutMs: 120_000 }, isTurnEnd(third.id));
  const placed = await placementOf(cluster, clientB, third.id, [a, b]);
  assert.equal(placed.owner, "node-a", "the third ran on A (its row)");
  assert.equal(placed.treeOf, 0, "its process is A's child");
});
