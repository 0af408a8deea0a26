import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { listDescendants } from "../../src/runner/process-tree.ts";
import type { BatonProcess } from "../support/baton-process.ts";
import { allEvents, clientOf, startTestCluster, TERMINAL, waitForReadings } from "../support/cluster.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";

/**
 * Issue 16: an agent on node A spawns a child through A's coordination tools, placement by free memory
 * (docs/deployment.md) starts the child on B, and the child's end wakes its idle parent in its warm process
 * on A. Real `baton serve` nodes on one PostgreSQL database; each node's MemAvailable is dictated by the test.
 */
const skip = await postgresSkipReason();

/** Shell work that holds a turn open until the test writes `name` in the session's directory. */
const gated = (name: string) => `@bash for i in $(seq 1 900); do [ -e ${name} ] && break; sleep 0.1; done`;

/** Is `pid` a process that node started (its claude child, or below)? */
function runsOn(node: BatonProcess, pid: unknown): boolean {
  return typeof pid === "number" && listDescendants(node.pid).includes(pid);
}

async function ownerNode(url: string, id: string): Promise<string | undefined> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const result = await db.query<{ owner_node: string }>("select owner_node from sessions where id = $1", [
      id,
    ]);
    return result.rows[0]?.owner_node;
  } finally {
    await db.end();
  }
}

const topicsOf = (events: readonly BatonEvent[], id: string, topic: string) =>
  events.filter((event) => event.sessionId === id && event.topic === topic);

test("an agent on A spawns a child that placement starts on B; the child's end wakes the parent in its process on A", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const started = Date.now();
  const cluster = await startTestCluster(t);
  cluster.setMemory("node-a", 64 * 1024);
  cluster.setMemory("node-b", 2048);
  const [a, b] = [await cluster.start("node-a"), await cluster.start("node-b")];
  const [clientA, clientB] = [clientOf(a), clientOf(b)];
  const workDir = mkdtempSync(join(cluster.root, "w-"));

  // The parent starts on A while A reads the most free memory, then holds its turn at a gate.
  await waitForReadings(clientA, "node-b", "node-a");
  const script = [
    gated("go"),
    `@tool mcp__baton__spawn ${JSON.stringify({ prompt: `${gated("kid-go")}\n@say child done`, name: "kid", allowedTools: ["Bash"] })}`,
    '@tool mcp__baton__wait {"session":"kid","timeoutSeconds":180}',
    "@say waiting for kid",
  ].join("\n");
  const parent = await clientA.spawn({ prompt: script, workDir, allowedTools: ["Bash"] });
  const parentSpawned = await waitForEvent(
    { url: a.url, session: parent.id },
    isTopic("session.spawned", parent.id),
  );
  const parentPid = parentSpawned.data.pid;
  assert.ok(runsOn(a, parentPid), "A started the parent's process");
  const environ = readFileSync(`/proc/${parentPid}/environ`, "utf8").split("\0");
  assert.ok(environ.includes(`BATON_URL=${a.url}`), "the parent's agent talks to A");

  // The readings flip: now B has clearly the most free memory, as A sees it; then the parent goes on.
  cluster.setMemory("node-a", 2048);
  cluster.setMemory("node-b", 64 * 1024);
  await waitForReadings(clientA, "node-a", "node-b");
  writeFileSync(join(workDir, "go"), "");

  // The parent's turn ends with its child still running (held at its own gate): the parent is idle.
  const idle = await waitForEvent(
    { url: a.url, session: parent.id, timeoutMs: 120_000 },
    isTurnEnd(parent.id),
  );
  assert.equal(idle.topic, "session.completed", JSON.stringify(idle.data));
  assert.equal(idle.data.result, "waiting for kid");
  const { sessions } = await clientA.list({ parentSessionId: parent.id });
  const child = sessions[0];
  assert.ok(child && sessions.length === 1, "one child");
  assert.equal(child.name, "kid");
  const childSpawned = await waitForEvent(
    { url: b.url, session: child.id, timeoutMs: 120_000 },
    isTopic("session.spawned", child.id),
  );
  assert.ok(runsOn(b, childSpawned.data.pid), "B started the child's process");
  assert.notEqual((await clientA.get(child.id)).status, "completed", "the child is still at its gate");

  // The child ends on B; that wakes the parent on A.
  writeFileSync(join(workDir, "kid-go"), "");
  const childEnd = await waitForEvent(
    { url: b.url, session: child.id, timeoutMs: 60_000 },
    isTurnEnd(child.id),
  );
  assert.equal(childEnd.topic, "session.completed", JSON.stringify(childEnd.data));
  assert.equal(childEnd.data.result, "child done");
  const woken = await waitForEvent(
    { url: a.url, session: parent.id, after: idle.seq, timeoutMs: 60_000 },
    isTurnEnd(parent.id),
  );
  assert.equal(woken.topic, "session.completed", JSON.stringify(woken.data));
  assert.ok(woken.seq > childEnd.seq, "the parent's new turn ended after its child");
  const wokenMs = Date.parse(woken.ts) - Date.parse(childEnd.ts);

  const events = await allEvents(clientA);
  assert.deepEqual(
    events.map((event) => event.seq),
    Array.from({ length: events.length }, (_, index) => index + 1),
    "seq is 1..N with no gap across both nodes",
  );

  // The child: left to B by A (queued, not refused), one process, on B; one terminal event.
  assert.equal(await ownerNode(cluster.database.url, child.id), "node-b", "the child's row names B");
  assert.equal(topicsOf(events, child.id, "session.queued").length, 1, "A left the child to a peer");
  const childProcesses = topicsOf(events, child.id, "session.spawned");
  assert.equal(childProcesses.length, 1, "one process for the child");
  assert.equal(childProcesses[0]?.data.pid, childSpawned.data.pid);
  const childTerminal = events.filter(
    (event) => event.sessionId === child.id && TERMINAL.includes(event.topic),
  );
  assert.deepEqual(
    childTerminal.map((event) => event.seq),
    [childEnd.seq],
    "exactly one terminal event for the child",
  );
  assert.equal((await clientB.get(child.id)).status, "completed");

  // The parent: the spawn and the wait went through without error; woken by message, in its one process on A.
  const parentEvents = events.filter((event) => event.sessionId === parent.id);
  const failedTools = parentEvents.filter(
    (event) => event.topic === "session.tool_done" && event.data.isError,
  );
  assert.deepEqual(failedTools, [], "no tool call of the parent failed");
  const wake = parentEvents.find(
    (event) =>
      event.topic === "session.message_delivered" && event.data.from === child.id && event.seq > childEnd.seq,
  );
  assert.ok(wake, "the child's outcome was delivered to the parent");
  assert.ok(wake.seq < woken.seq);
  const parentProcesses = topicsOf(events, parent.id, "session.spawned");
  assert.deepEqual(
    parentProcesses.map((event) => event.data.pid),
    [parentPid],
    "one process for the parent: woken warm, not restarted",
  );
  assert.equal(await ownerNode(cluster.database.url, parent.id), "node-a", "the parent's row names A");
  const parentNow = await clientB.get(parent.id);
  assert.equal(parentNow.pid, parentPid);
  assert.ok(runsOn(a, parentNow.pid), "the parent's process is still A's child");
  const parentTerminal = parentEvents.filter((event) => TERMINAL.includes(event.topic));
  assert.deepEqual(
    parentTerminal.map((event) => event.seq),
    [idle.seq, woken.seq],
    "exactly one terminal event per parent turn: the one that waited, the one the child woke",
  );
  const parentAgent = parentNow.agentSessionId;
  assert.ok(
    cluster.mock.requests.some(
      (request) => request.sessionId === parentAgent && request.instruction?.includes("child done"),
    ),
    "the parent's model read its child's result",
  );
  t.diagnostic(
    `child end on B -> parent's turn ended on A: ${wokenMs} ms; test body ${Date.now() - started} ms`,
  );
});
