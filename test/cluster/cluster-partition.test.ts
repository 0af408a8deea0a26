import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { placementOff } from "../support/baton-cluster.ts";
import {
  allEvents,
  clientOf,
  LEASE_MS,
  midToolPid,
  signalTree,
  startTestCluster,
  TERMINAL,
  watchForOverlap,
} from "../support/cluster.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/**
 * A node cut off past its lease (here: paused whole with SIGSTOP, as a frozen VM or container is) loses its
 * sessions to another node, and once it runs again its stale run is fenced off: it writes nothing for the
 * session and its process is stopped. Two real `baton serve` processes on one PostgreSQL database.
 */
const skip = await postgresSkipReason();

test("node A paused past its lease: B adopts and finishes the session; A, resumed, stops its stale process; the session never ran in two places", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startTestCluster(t);
  // Placement off: the session must start on A, the node about to be paused.
  const a = await cluster.start("node-a", placementOff(cluster.root));
  const b = await cluster.start("node-b", placementOff(cluster.root));
  const clientA = clientOf(a);
  const session = await clientA.spawn({
    prompt: `@bash ${slowCommand(8, "echo ok")}\n@say finished`,
    workDir: mkdtempSync(join(cluster.root, "w-")),
    allowedTools: ["Bash"],
  });
  const oldPid = await midToolPid(clientA, session.id);

  // From here, sample the process table: A's tree of the session and B's agent processes (B runs nothing
  // else) must never both be running. A stopped (T) process is not running.
  const oldTree = [oldPid, ...listDescendants(oldPid)];
  const overlap = watchForOverlap(oldTree, b.pid);
  t.after(overlap.stop);

  signalTree(a.pid, "SIGSTOP");
  const pausedAt = Date.now();
  const spawnedOnB = await waitForEvent(
    { url: b.url, session: session.id, timeoutMs: LEASE_MS + 60_000 },
    (event) => event.topic === "session.spawned" && event.data.pid !== oldPid,
  );
  const adoptedAfter = Date.parse(spawnedOnB.ts) - pausedAt;
  assert.ok(adoptedAfter >= LEASE_MS - 500, `B waited out A's lease (${adoptedAfter} ms)`);
  // With transcripts in the database the SDK starts a resumed process only once it has loaded the
  // transcript, after session.spawned: the session's row gets the pid when the process exists.
  const newPid = await waitUntil(
    async () => {
      const pid = (await clientOf(b).get(session.id)).pid;
      return pid && pid !== oldPid ? pid : undefined;
    },
    30_000,
    "the resumed process's pid on the session",
  );
  assert.ok(listDescendants(b.pid).includes(newPid), "the new process is B's child");

  signalTree(a.pid, "SIGCONT");
  // On one host the adopter reaps the old process by pid (and start time) before it resumes the
  // conversation (run-recovery.ts); on another host A's own fence stops it once A runs again. Either way it
  // is gone, and A's writes for the session are refused.
  for (const pid of oldTree)
    await waitUntil(() => !isAlive(pid), 20_000, `A's stale process ${pid} stopped after it resumed`);
  // Its heartbeat's check, a refused write, or (when the renewal after the pause is slow) its lease watchdog.
  const fenced = new RegExp(
    `session ${session.id} was adopted by another node|lost session ${session.id}|could not renew its lease`,
  );
  await waitUntil(() => fenced.test(a.logs()), 20_000, "A saying its run was fenced").catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\nA's log:\n${a.logs().slice(-4000)}`);
    },
  );

  const end = await waitForEvent(
    { url: b.url, session: session.id, timeoutMs: 120_000 },
    isTurnEnd(session.id),
  );
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "finished", "the adopted conversation went on to its end");
  overlap.stop();
  assert.ok(overlap.samples() > 50, `the process table was sampled (${overlap.samples()} times)`);
  assert.deepEqual(
    overlap.overlaps.slice(0, 5),
    [],
    "never a process of the session running on A and B at once",
  );

  const events = await allEvents(clientA);
  assert.deepEqual(
    events.map((event) => event.seq),
    Array.from({ length: events.length }, (_, index) => index + 1),
    "seq is 1..N with no gap across both nodes",
  );
  const own = events.filter((event) => event.sessionId === session.id);
  assert.equal(own.filter((event) => TERMINAL.includes(event.topic)).length, 1, "exactly one terminal event");
  assert.equal(
    own.filter((event) => event.topic === "session.spawned").length,
    2,
    "one process on A, one on B",
  );
  const resumed = own.filter((event) => event.topic === "session.resumed");
  assert.deepEqual(
    resumed.map((event) => event.data.reason),
    ["node_lost"],
  );
  // Every event after B's adoption belongs to B's run: no tool of A's finished, nothing A said was logged.
  const afterAdoption = own.filter((event) => event.seq > spawnedOnB.seq);
  const toolsOnB = new Set(
    afterAdoption.filter((event) => event.topic === "session.tool_use").map((event) => event.data.toolUseId),
  );
  for (const done of afterAdoption.filter((event) => event.topic === "session.tool_done"))
    assert.ok(toolsOnB.has(done.data.toolUseId), `tool_done #${done.seq} is of a tool B's process ran`);
  const nodes = await clientA.nodes();
  assert.ok(
    nodes.every((node) => node.alive),
    `A renewed its lease once resumed and both nodes are alive: ${JSON.stringify(nodes)}`,
  );
  t.diagnostic(
    `paused A -> B's process: ${adoptedAfter} ms (lease ${LEASE_MS} ms); ${overlap.samples()} samples`,
  );
});

test("a write from a node that lost the session is refused: 409 LEASE_LOST, and its process is stopped", {
  skip,
  timeout: 180_000,
}, async (t) => {
  // A slow heartbeat, so the refusal comes from the write itself and not from the heartbeat's check.
  const cluster = await startTestCluster(t, { nodeHeartbeatMs: 60_000, nodeLeaseMs: 120_000 });
  const a = await cluster.start("node-a");
  const clientA = clientOf(a);
  const session = await clientA.spawn({
    prompt: `@bash ${slowCommand(20, "echo ok")}\n@say finished`,
    workDir: mkdtempSync(join(cluster.root, "w-")),
    allowedTools: ["Bash"],
  });
  await waitForEvent({ url: a.url, session: session.id }, isTopic("session.tool_use", session.id));
  const pid = (await clientA.get(session.id)).pid as number;

  // Another node takes the session over (what adoption writes: a new owner, the epoch raised by one).
  const db = new pg.Client({ connectionString: cluster.database.url });
  await db.connect();
  try {
    await checkLeaseLost(db);
  } finally {
    await db.end();
  }
  async function checkLeaseLost(db: pg.Client): Promise<void> {
    await db.query("update sessions set owner_node = 'node-b', lease_epoch = lease_epoch + 1 where id = $1", [
      session.id,
    ]);

    const response = await fetch(`${a.url}/sessions/${session.id}/kill`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
      body: "{}",
    });
    const body = (await response.json()) as { error?: { code?: string } };
    assert.equal(response.status, 409, JSON.stringify(body));
    assert.equal(body.error?.code, "LEASE_LOST");
    await waitUntil(() => !isAlive(pid), 20_000, "A's process of the lost session stopped");
    const row = await db.query<{ status: string; owner_node: string }>(
      "select status, owner_node from sessions where id = $1",
      [session.id],
    );
    assert.deepEqual(row.rows[0], { status: "running", owner_node: "node-b" }, "A wrote nothing for it");
    const killed = (await allEvents(clientA)).filter(
      (event) => event.sessionId === session.id && event.topic === "session.killed",
    );
    assert.equal(killed.length, 0, "no session.killed from the node that lost it");
  }
});
