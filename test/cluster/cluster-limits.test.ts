import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonClient } from "../../src/client/baton-client.ts";
import type { BatonProcess } from "../support/baton-process.ts";
import {
  allEvents,
  clientOf,
  peakRunning,
  startTestCluster,
  TERMINAL,
  type TestCluster,
} from "../support/cluster.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";

/**
 * maxConcurrent and maxPerOwner are limits of the whole cluster, not of each node: two real `baton serve`
 * processes on one PostgreSQL database, spawns split between them at the same moment.
 */
const skip = await postgresSkipReason();

/** About 2 s of tool work: long enough that sessions started together overlap. */
const SCRIPT = `@bash ${slowCommand(2, "echo ok")}\n@say finished`;

interface Spawned {
  id: string;
  owner: string;
}

/** Spawns one session per owner, alternately on A and B, all at once. */
async function spawnSplit(
  cluster: TestCluster,
  clients: BatonClient[],
  owners: string[],
): Promise<Spawned[]> {
  return Promise.all(
    owners.map(async (owner, index) => {
      const client = clients[index % clients.length] as BatonClient;
      const workDir = mkdtempSync(join(cluster.root, "w-"));
      const session = await client.spawn({ prompt: SCRIPT, workDir, allowedTools: ["Bash"], owner });
      return { id: session.id, owner };
    }),
  );
}

/** Waits (on events, with a deadline) until every session's turn ended, then reads the log from `node`. */
async function runToEnd(node: BatonProcess, sessions: readonly Spawned[]) {
  for (const { id } of sessions)
    await waitForEvent({ url: node.url, session: id, timeoutMs: 180_000 }, isTurnEnd(id));
  return allEvents(clientOf(node));
}

test("maxConcurrent 2 across two nodes: spawns split between A and B never run more than 2 at once; the rest queue and all complete", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t, { maxConcurrent: 2, maxPerOwner: 10 });
  const a = await cluster.start("node-a");
  const b = await cluster.start("node-b");
  const clients = [clientOf(a), clientOf(b)];

  const sessions = await spawnSplit(cluster, clients, ["o1", "o2", "o3", "o4", "o5", "o6"]);
  const events = await runToEnd(b, sessions);

  for (const session of sessions) {
    const end = events.find((event) => event.sessionId === session.id && TERMINAL.includes(event.topic));
    assert.equal(end?.topic, "session.completed", JSON.stringify(end));
  }
  assert.equal(peakRunning(events).get("all"), 2, "two at once, never more, across both nodes");
  const queued = new Set(events.filter((event) => event.topic === "session.queued").map((e) => e.sessionId));
  assert.ok(queued.size >= 4, `at least 4 of 6 queued (${queued.size})`);
});

test("maxPerOwner 1 across two nodes: one owner's spawns on A and B run one at a time while another owner's run beside them", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t, { maxConcurrent: 4, maxPerOwner: 1 });
  const a = await cluster.start("node-a");
  const b = await cluster.start("node-b");
  const clients = [clientOf(a), clientOf(b)];

  const sessions = await spawnSplit(cluster, clients, ["alice", "alice", "alice", "alice", "bob", "bob"]);
  const events = await runToEnd(a, sessions);

  const ownerOf = new Map(sessions.map((session) => [session.id, session.owner]));
  const peak = peakRunning(events, (id) => ownerOf.get(id) ?? "?");
  assert.equal(peak.get("alice"), 1, "alice never ran two at once");
  assert.equal(peak.get("bob"), 1, "bob never ran two at once");
  const overall = peakRunning(events).get("all") ?? 0;
  assert.ok(overall <= 2, `at most one per owner: ${overall}`);
  for (const session of sessions) {
    const end = events.find((event) => event.sessionId === session.id && TERMINAL.includes(event.topic));
    assert.equal(end?.topic, "session.completed", JSON.stringify(end));
  }
});
