import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { followEvents } from "../../src/client/event-stream.ts";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../../src/mock-model/index.ts";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { placementOff } from "../support/baton-cluster.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { midToolPid } from "../support/cluster.ts";
import { testSettings } from "../support/harness.ts";
import { assertNoLeakedProcesses } from "../support/leak-guard.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** Two real `baton serve` processes on one fresh PostgreSQL database: one Baton (docs/deployment.md). */
const skip = await postgresSkipReason();

// Short leases so a dead node is noticed in seconds; the beat is well inside the lease on a loaded machine.
// Transcripts stay local files here, the opt-out for nodes that share one CLAUDE_CONFIG_DIR (the default,
// transcripts in the database with a config dir per node, is test/cluster/transcripts-in-db.test.ts).
const LEASE_MS = 3000;
const CLUSTER = { nodeHeartbeatMs: 300, nodeLeaseMs: LEASE_MS, transcripts: "local" as const };
const TERMINAL = ["session.completed", "session.failed", "session.killed"];

interface Cluster {
  mock: MockModel;
  root: string;
  start(name: string): Promise<BatonProcess>;
}

/** A database, a scripted model and a shared agent environment (one CLAUDE_CONFIG_DIR: see deployment.md). */
async function startCluster(t: TestContext): Promise<Cluster> {
  const database = await createTestDatabase();
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), "baton-cluster-"));
  const nodes: BatonProcess[] = [];
  t.after(async () => {
    for (const node of nodes) await stopBatonProcess(node);
    await mock.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
    assertNoLeakedProcesses("two-node cluster");
  });
  return {
    mock,
    root,
    start: async (name) => {
      const settings = testSettings(root, mock.url, {
        db: database.url,
        ...placementOff(root),
        ...CLUSTER,
      });
      const node = await startBatonProcess({ ...settings, home: join(root, `home-${name}`), nodeId: name });
      nodes.push(node);
      return node;
    },
  };
}

function clientOf(node: BatonProcess): BatonClient {
  return new BatonClient({ url: node.url, token: node.token });
}

/** The whole log, output and deltas included. */
async function allEvents(client: BatonClient, after = 0): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (let cursor = after; ; ) {
    const page = await client.events({ after: cursor, limit: 5000, deltas: true });
    events.push(...page.events);
    if (page.events.length === 0) return events;
    cursor = page.events.at(-1)?.seq ?? cursor;
  }
}

function seqsOf(events: readonly BatonEvent[]): number[] {
  return events.map((event) => event.seq);
}

test("two nodes on one database: GET /nodes on either lists both; B's WebSocket and SSE follow A's session live from a cursor", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startCluster(t);
  const a = await cluster.start("node-a");
  const b = await cluster.start("node-b");
  const [clientA, clientB] = [clientOf(a), clientOf(b)];

  for (const [client, self] of [
    [clientA, "node-a"],
    [clientB, "node-b"],
  ] as const) {
    const nodes = await client.nodes();
    assert.deepEqual(nodes.map((node) => node.id).sort(), ["node-a", "node-b"], JSON.stringify(nodes));
    assert.ok(
      nodes.every((node) => node.alive),
      "both leases alive",
    );
    assert.deepEqual(
      nodes.filter((node) => node.self).map((node) => node.id),
      [self],
    );
    assert.equal(nodes.find((node) => node.id === "node-a")?.url, a.url);
  }

  // An earlier session gives the cursor something to skip.
  const first = await clientA.spawn({ prompt: "@say one", workDir: mkdtempSync(join(cluster.root, "w-")) });
  await waitForEvent({ url: a.url, session: first.id }, isTurnEnd(first.id));
  const cursor = (await allEvents(clientB)).at(-1)?.seq ?? 0;
  assert.ok(cursor > 0);

  const overWs: BatonEvent[] = [];
  const overSse: BatonEvent[] = [];
  const controller = new AbortController();
  t.after(() => controller.abort());
  const common = { url: b.url, token: b.token, after: cursor, output: true, deltas: true };
  let wsDone: () => void = () => undefined;
  let sseDone: () => void = () => undefined;
  const wsEnded = new Promise<void>((resolve) => {
    wsDone = resolve;
  });
  const sseEnded = new Promise<void>((resolve) => {
    sseDone = resolve;
  });
  const ending = (done: () => void) => (event: BatonEvent) => TERMINAL.includes(event.topic) && done();
  const wsFollowing = followEventsOverWs({
    ...common,
    signal: controller.signal,
    onEvent: (event) => {
      overWs.push(event);
      ending(wsDone)(event);
    },
  });
  const sseFollowing = followEvents({
    ...common,
    path: "/events",
    signal: controller.signal,
    onEvent: (event) => {
      overSse.push(event);
      ending(sseDone)(event);
    },
  });

  const session = await clientA.spawn({
    prompt: "@bash echo from-a\n@say done on a",
    workDir: mkdtempSync(join(cluster.root, "w-")),
    allowedTools: ["Bash"],
  });
  const deadline = (what: string) =>
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no terminal event on B within 60 s`)), 60_000).unref(),
    );
  await Promise.race([Promise.all([wsEnded, sseEnded]), deadline("B's followers")]);
  controller.abort();
  await Promise.allSettled([wsFollowing, sseFollowing]);

  const logged = await allEvents(clientA, cursor);
  const end = logged.find((event) => TERMINAL.includes(event.topic));
  assert.equal(end?.topic, "session.completed", JSON.stringify(end));
  assert.equal(end?.sessionId, session.id);
  const expected = seqsOf(logged.filter((event) => event.seq <= (end?.seq ?? 0)));
  assert.deepEqual(
    expected,
    Array.from({ length: expected.length }, (_, index) => cursor + 1 + index),
    "the log after the cursor is gap-free",
  );
  assert.deepEqual(seqsOf(overWs), expected, "B's WebSocket saw every event of A's session, in order, once");
  assert.deepEqual(
    seqsOf(overSse),
    expected,
    "B's SSE stream saw every event of A's session, in order, once",
  );
  assert.deepEqual(
    overWs.map((event) => event.topic),
    logged.filter((event) => event.seq <= (end?.seq ?? 0)).map((event) => event.topic),
  );
});

test("kill -9 node A mid-tool: node B adopts within the lease, resumes the same conversation, one terminal event, no gap", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startCluster(t);
  const a = await cluster.start("node-a");
  const b = await cluster.start("node-b");
  const [clientA, clientB] = [clientOf(a), clientOf(b)];

  const session = await clientA.spawn({
    prompt: `@bash ${slowCommand(6, "echo ok")}\n@say finished`,
    workDir: mkdtempSync(join(cluster.root, "w-")),
    allowedTools: ["Bash"],
  });
  const oldPid = await midToolPid(clientA, session.id, 30_000);
  const oldTree = [oldPid, ...listDescendants(oldPid)];
  const before = await clientB.get(session.id);
  assert.equal(before.pid, oldPid, "B reads the same session");
  assert.ok(before.agentSessionId, "a conversation id before the crash");

  a.child.kill("SIGKILL");
  await a.exited;
  const killedAt = Date.now();

  const end = await waitForEvent(
    { url: b.url, session: session.id, timeoutMs: LEASE_MS + 60_000 },
    isTurnEnd(session.id),
  );
  const completedAfter = Date.now() - killedAt;
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  // The scripted model went on with the script after the resume note: the same conversation.
  assert.equal(end.data.result, "finished");
  for (const pid of oldTree) await waitUntil(() => !isAlive(pid), 10_000, `A's process ${pid} gone`);

  const events = await allEvents(clientB);
  assert.deepEqual(
    seqsOf(events),
    Array.from({ length: events.length }, (_, index) => index + 1),
    "seq is 1..N with no gap across both nodes",
  );
  const own = events.filter((event) => event.sessionId === session.id);
  assert.equal(own.filter((event) => TERMINAL.includes(event.topic)).length, 1, "exactly one terminal event");
  const resumed = own.find((event) => event.topic === "session.resumed");
  assert.equal(resumed?.data.reason, "node_lost", JSON.stringify(resumed));
  const spawned = own.filter((event) => event.topic === "session.spawned");
  assert.equal(spawned.length, 2, "one process on A, one on B");
  assert.equal(spawned[1]?.data.resumed, true);
  const adoptedAfter = Date.parse(spawned[1]?.ts ?? "") - killedAt;
  assert.ok(
    adoptedAfter <= LEASE_MS + 5000,
    `adopted ${adoptedAfter} ms after the kill (lease ${LEASE_MS} ms)`,
  );
  const after = await clientB.get(session.id);
  assert.equal(after.pid, spawned[1]?.data.pid);
  assert.equal(after.agentSessionId, before.agentSessionId, "the same conversation");

  const nodes = await clientB.nodes();
  assert.deepEqual(
    nodes.map((node) => node.id),
    ["node-b"],
    "the dead node leaves the table once its sessions are adopted",
  );
  t.diagnostic(`kill -9 -> new process on B: ${adoptedAfter} ms; -> turn completed: ${completedAfter} ms`);
});
