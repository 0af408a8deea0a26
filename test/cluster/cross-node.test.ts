import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { insertMessage } from "../../src/store/message-queries.ts";
import { openStore, type Store } from "../../src/store/open-store.ts";
import { updatePermission } from "../../src/store/permission-queries.ts";
import { updateSessionRow } from "../../src/store/session-queries.ts";
import { type BatonCluster, clientOf, sessionLog, startBatonCluster } from "../support/baton-cluster.ts";
import type { BatonProcess } from "../support/baton-process.ts";
import { postgresSkipReason } from "../support/postgres.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/**
 * Commands for a session reach the node that runs it, whichever node they arrive at (docs/deployment.md):
 * messages, interrupt, kill, permission answers, wake-ups and lock grants, between real `baton serve`
 * processes on one PostgreSQL database.
 */
const skip = await postgresSkipReason();

const CLUSTER = { nodeHeartbeatMs: 300, nodeLeaseMs: 3000 };
const TERMINAL = ["session.completed", "session.failed", "session.killed"];
/** Shell work that holds a turn open until the test writes `name` in the session's directory. */
const gated = (name: string) => `@bash for i in $(seq 1 600); do [ -e ${name} ] && break; sleep 0.1; done`;
const openGate = (workDir: string, name: string) => writeFileSync(join(workDir, name), "");

/** Is `pid` a process that node started (its claude child, or below)? */
function runsOn(node: BatonProcess, pid: number | null | undefined): boolean {
  return pid !== null && pid !== undefined && listDescendants(node.pid).includes(pid);
}

/** A WebSocket follower on one node, from a cursor: every event it saw, when, and a wait with a deadline. */
function followOverWs(t: TestContext, node: BatonProcess, after: number) {
  const seen: BatonEvent[] = [];
  const arrivedAt = new Map<number, number>();
  const controller = new AbortController();
  const listeners = new Set<() => void>();
  const following = followEventsOverWs({
    url: node.url,
    token: node.token,
    after,
    signal: controller.signal,
    onEvent: (event) => {
      seen.push(event);
      arrivedAt.set(event.seq, Date.now());
      for (const listener of listeners) listener();
    },
  });
  t.after(async () => {
    controller.abort();
    await following.catch(() => undefined);
  });
  const until = (predicate: (event: BatonEvent) => boolean, what: string, timeoutMs = 60_000) =>
    new Promise<BatonEvent>((resolve, reject) => {
      const check = () => {
        const found = seen.find(predicate);
        if (!found) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        const tail = seen.slice(-20).map((event) => `#${event.seq} ${event.topic}`);
        reject(new Error(`${what}: not seen on ${node.url} within ${timeoutMs} ms; saw ${tail.join(", ")}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { seen, arrivedAt, until };
}

const delivered = (messageId: string) => (event: BatonEvent) =>
  event.topic === "session.message_delivered" && event.data.messageId === messageId;
const turnEndAfter = (sessionId: string, seq: number) => (event: BatonEvent) =>
  isTurnEnd(sessionId)(event) && event.seq > seq;

test("three nodes: a session on A is steered and followed up through B and C, interrupted through B and killed through C, and B's WebSocket sees it all", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startBatonCluster(t, CLUSTER, "three-node cross-node commands");
  const [a, b, c] = [
    await cluster.start("node-a"),
    await cluster.start("node-b"),
    await cluster.start("node-c"),
  ];
  const [clientA, clientB, clientC] = [clientOf(a), clientOf(b), clientOf(c)];
  assert.equal((await clientC.nodes()).length, 3);

  const workDir = cluster.workDir();
  const session = await clientA.spawn({
    prompt: `${gated("gate-1")}\n@say unsteered`,
    workDir,
    allowedTools: ["Bash"],
  });
  // B's WebSocket follows from a cursor taken mid-turn: what came before it is not replayed.
  const cursor = (
    await waitForEvent({ url: a.url, session: session.id }, isTopic("session.tool_use", session.id))
  ).seq;
  const onB = followOverWs(t, b, cursor);
  const pid = (await clientB.get(session.id)).pid;
  assert.ok(runsOn(a, pid), "A runs the session's process");

  // Steer through B while A's process is mid-tool: the message reaches A's process within the turn.
  const sentAt = Date.now();
  const steer = await clientB.send(session.id, { text: "@say steered", mode: "steer" });
  const steered = await onB.until(delivered(steer.messageId), "the steer delivered on A");
  const steerMs = (onB.arrivedAt.get(steered.seq) ?? 0) - sentAt;
  openGate(workDir, "gate-1");
  const first = await onB.until(isTurnEnd(session.id), "the first turn's end");
  assert.equal(first.data.result, "steered", "the scripted model read the message sent through B");
  assert.ok(steered.seq < first.seq, "delivered within the turn");

  // A follow-up through C goes into A's warm process: no second process anywhere, the same pid.
  const followAt = Date.now();
  const follow = await clientC.send(session.id, { text: "@say second turn" });
  const followed = await onB.until(delivered(follow.messageId), "the follow-up delivered on A");
  const followMs = (onB.arrivedAt.get(followed.seq) ?? 0) - followAt;
  const second = await onB.until(turnEndAfter(session.id, first.seq), "the second turn's end");
  assert.equal(second.data.result, "second turn");
  assert.equal((await clientC.get(session.id)).pid, pid, "the same process on A took the follow-up");

  // Interrupt through B: A's turn is cut short (the tool never finishes).
  await clientA.send(session.id, { text: `@bash ${slowCommand(30, "echo x > never.txt")}\n@say never` });
  const busy = await onB.until(
    (event) => isTopic("session.tool_use", session.id)(event) && event.seq > second.seq,
    "the third turn's tool call",
  );
  await clientB.interrupt(session.id);
  const cut = await onB.until(turnEndAfter(session.id, busy.seq), "the interrupted turn's end");
  assert.equal(cut.data.interrupted, true, JSON.stringify(cut.data));

  // Kill through C mid-tool: A's process is gone and the log holds one terminal event for it.
  await clientB.send(session.id, { text: `@bash ${slowCommand(30, "echo x > never.txt")}\n@say never` });
  const busyAgain = await onB.until(
    (event) => isTopic("session.tool_use", session.id)(event) && event.seq > cut.seq,
    "the fourth turn's tool call",
  );
  const lastPid = (await clientA.get(session.id)).pid;
  assert.ok(runsOn(a, lastPid), "still A's process");
  const tree = [lastPid as number, ...listDescendants(lastPid as number)];
  const killAt = Date.now();
  await clientC.kill(session.id);
  for (const gone of tree) await waitUntil(() => !isAlive(gone), 15_000, `A's process ${gone} gone`);
  const killMs = Date.now() - killAt;
  const killed = await onB.until(isTopic("session.killed", session.id), "session.killed");
  assert.ok(killed.seq > busyAgain.seq);
  // Let A's exit handling write whatever it would (nothing) before counting.
  await waitUntil(async () => (await clientA.health()).liveProcesses === 0, 15_000, "A has no live process");
  const after = (await sessionLog(clientA, session.id, busyAgain.seq)).filter((event) =>
    TERMINAL.includes(event.topic),
  );
  assert.deepEqual(
    after.map((event) => event.topic),
    ["session.killed"],
    "exactly one terminal event for the killed turn",
  );
  assert.equal(existsSync(join(workDir, "never.txt")), false, "neither cut tool ran to its end");
  const spawned = (await sessionLog(clientB, session.id)).filter(
    (event) => event.topic === "session.spawned",
  );
  assert.equal(spawned.length, 1, "one process in all, on A");
  assert.ok(
    onB.seen.every((event) => event.seq > cursor),
    "nothing before the cursor",
  );
  assert.deepEqual(
    onB.seen.map((event) => event.seq),
    [...onB.seen.map((event) => event.seq)].sort((x, y) => x - y),
    "in order",
  );
  t.diagnostic(`send via B -> delivered on A (steer): ${steerMs} ms; via C (follow-up): ${followMs} ms`);
  t.diagnostic(`kill via C -> A's process tree gone: ${killMs} ms`);
});

test("a permission request raised on A and answered through B resumes the session on A; a clear through B closes A's warm process", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startBatonCluster(t, CLUSTER, "cross-node permission answer");
  const [a, b] = [await cluster.start("node-a"), await cluster.start("node-b")];
  const [clientA, clientB] = [clientOf(a), clientOf(b)];
  const workDir = cluster.workDir();
  const session = await clientA.spawn({
    prompt: "@bash echo approved > guarded.txt\n@say wrote it",
    workDir,
    permissionMode: "default",
  });
  const requested = await waitForEvent(
    { url: b.url, session: session.id },
    isTopic("session.permission_requested", session.id),
  );
  const pid = (await clientB.get(session.id)).pid;
  assert.ok(runsOn(a, pid), "A runs the session's process");
  assert.equal((await clientB.get(session.id)).status, "waiting");

  const answeredAt = Date.now();
  const answered = await clientB.answerPermission(session.id, String(requested.data.requestId), {
    decision: "allow",
  });
  assert.equal(answered.status, "allowed");
  const end = await waitForEvent(
    { url: b.url, session: session.id, after: requested.seq },
    isTurnEnd(session.id),
  );
  assert.equal(end.data.result, "wrote it");
  assert.equal(readFileSync(join(workDir, "guarded.txt"), "utf8").trim(), "approved");
  const log = await sessionLog(clientB, session.id);
  assert.equal(log.filter((event) => event.topic === "session.spawned").length, 1, "no second process");
  assert.equal((await clientB.get(session.id)).pid, pid, "A's process went on");
  assert.equal((await clientA.permissions({ status: "pending" })).permissions.length, 0);
  const answerMs = Date.now() - answeredAt;

  // Clear through B: A closes its warm process (the old conversation); the next message starts a new one.
  const oldConversation = (await clientB.get(session.id)).agentSessionId;
  await clientB.clear(session.id);
  await waitUntil(() => !isAlive(pid as number), 15_000, "A's warm process closed");
  await clientB.send(session.id, { text: "@say a fresh start" });
  const fresh = await waitForEvent(
    { url: b.url, session: session.id, after: end.seq },
    (event) => isTurnEnd(session.id)(event) && event.seq > end.seq,
  );
  assert.equal(fresh.data.result, "a fresh start");
  const renewed = await clientB.get(session.id);
  assert.notEqual(renewed.agentSessionId, oldConversation, "a new conversation");
  assert.ok(runsOn(a, renewed.pid), "started by A, the node that owned the session");
  t.diagnostic(`permission answered via B -> turn completed on A: ${answerMs} ms`);
});

test("across nodes: a child started by B wakes its parent on A, and a file lock held on A is granted to a waiter on B at release", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const cluster = await startBatonCluster(t, CLUSTER, "cross-node wake and lock");
  const [a, b] = [await cluster.start("node-a"), await cluster.start("node-b")];
  const [clientA, clientB] = [clientOf(a), clientOf(b)];

  // Wait and wake: the parent idles (warm on A); its child runs on B; B's turn end wakes the parent on A.
  const parent = await clientA.spawn({ prompt: "@say I will wait for my child", workDir: cluster.workDir() });
  const idle = await waitForEvent({ url: a.url, session: parent.id }, isTurnEnd(parent.id));
  const parentPid = (await clientA.get(parent.id)).pid;
  assert.ok(runsOn(a, parentPid));
  const child = await clientB.spawn({
    prompt: "@say child done",
    workDir: cluster.workDir(),
    parentSessionId: parent.id,
    name: "kid",
  });
  const childEnd = await waitForEvent({ url: b.url, session: child.id }, isTurnEnd(child.id));
  assert.equal(childEnd.data.result, "child done");
  const childSpawned = (await sessionLog(clientB, child.id)).find(
    (event) => event.topic === "session.spawned",
  );
  assert.ok(runsOn(b, Number(childSpawned?.data.pid)), "B started the child's process");
  const woken = await waitForEvent(
    { url: a.url, session: parent.id, after: idle.seq },
    (event) => isTurnEnd(parent.id)(event) && event.seq > childEnd.seq,
  );
  assert.equal(woken.topic, "session.completed");
  const parentAgent = (await clientA.get(parent.id)).agentSessionId;
  assert.ok(
    cluster.mock.requests.some(
      (request) => request.sessionId === parentAgent && request.instruction?.includes("child done"),
    ),
    "the parent's model read its child's result",
  );
  assert.equal((await clientB.get(parent.id)).pid, parentPid, "woken in its warm process on A");

  // A file lock held by a session on A, waited for by a session B started: granted when A's turn ends.
  const workDir = cluster.workDir();
  const file = join(workDir, "shared.txt");
  const tools = ["Bash", "Write", "Read"];
  const holder = await clientA.spawn({
    workDir,
    allowedTools: tools,
    prompt: `@write shared.txt A\n${gated("gate")}\n@say first done`,
  });
  await waitForEvent({ url: a.url, session: holder.id }, isTopic("session.tool_done", holder.id));
  const waiter = await clientB.spawn({
    workDir,
    allowedTools: tools,
    prompt: `@tool Read {"file_path":"${file}"}\n@write shared.txt B\n@say second done`,
  });
  const waiting = await waitForEvent(
    { url: b.url, session: waiter.id },
    isTopic("session.lock_waiting", waiter.id),
  );
  assert.equal(waiting.data.holder, holder.id);
  assert.ok(runsOn(b, (await clientB.get(waiter.id)).pid), "the waiter runs on B");
  // Every node lists the wait (the event commits with the status): B from its memory, A from the store.
  for (const client of [clientA, clientB]) {
    const listed = await client.locks();
    assert.deepEqual(
      listed.locks.map((lock) => [lock.sessionId, lock.resource]),
      [[holder.id, `file:${file}`]],
    );
    assert.deepEqual(
      listed.waiters.map(({ sessionId, resource, kind, holder: blocker }) => ({
        sessionId,
        resource,
        kind,
        blocker,
      })),
      [{ sessionId: waiter.id, resource: `file:${file}`, kind: "auto", blocker: holder.id }],
    );
    assert.equal((await client.locks({ session: holder.id })).waiters.length, 1, "by holder");
  }
  openGate(workDir, "gate");
  const holderEnd = await waitForEvent({ url: a.url, session: holder.id }, isTurnEnd(holder.id));
  const releasedAt = Date.now();
  const granted = await waitForEvent(
    { url: b.url, session: waiter.id },
    (event) => event.topic === "lock.acquired" && event.sessionId === waiter.id,
  );
  const grantMs = Date.now() - releasedAt;
  assert.ok(granted.seq > holderEnd.seq, "granted only after the holder's turn ended");
  const waiterEnd = await waitForEvent({ url: b.url, session: waiter.id }, isTurnEnd(waiter.id));
  assert.equal(waiterEnd.data.result, "second done");
  assert.equal(readFileSync(file, "utf8"), "B");
  t.diagnostic(`lock released on A -> granted on B (as seen by the test): ${grantMs} ms`);
});

test("a node that missed its notices catches up from the rows at its next heartbeat: a message, a permission answer, an interrupt, a kill", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startBatonCluster(t, CLUSTER, "cross-node catch-up");
  const [a, b] = [await cluster.start("node-a"), await cluster.start("node-b")];
  // Rows written behind every node's back stand for commands whose notice was lost.
  const store = await openStore(cluster.dbUrl);
  try {
    await catchUpFromRows(cluster, store, a, b);
  } finally {
    await store.close(); // before the cluster's teardown drops the database under its pool
  }
});

/** Each row below is written straight to the database: no node sends a notice for it. */
async function catchUpFromRows(cluster: BatonCluster, store: Store, a: BatonProcess, b: BatonProcess) {
  const [clientA, clientB] = [clientOf(a), clientOf(b)];
  const warm = await clientA.spawn({ prompt: "@say ready", workDir: cluster.workDir() });
  const ready = await waitForEvent({ url: b.url, session: warm.id }, isTurnEnd(warm.id));
  const pid = (await clientB.get(warm.id)).pid;
  assert.ok(runsOn(a, pid));
  const message = {
    id: "msg_lost_notice",
    session_id: warm.id,
    text: "@say caught up",
    mode: "queue",
    sender_session_id: null,
    idempotency_key: null,
    status: "pending",
    queued_seq: ready.seq,
    created_at: new Date().toISOString(),
    delivered_at: null,
  };
  await store.transaction((tx) => insertMessage(tx, message));
  const caught = await waitForEvent(
    { url: b.url, session: warm.id, after: ready.seq },
    (event) => isTurnEnd(warm.id)(event) && event.seq > ready.seq,
  );
  assert.equal(caught.data.result, "caught up", "A's heartbeat delivered the message into its warm process");
  assert.equal((await clientB.get(warm.id)).pid, pid);

  const asking = await clientA.spawn({
    prompt: "@bash echo approved > guarded.txt\n@say wrote it",
    workDir: cluster.workDir(),
    permissionMode: "default",
  });
  const requested = await waitForEvent(
    { url: b.url, session: asking.id },
    isTopic("session.permission_requested", asking.id),
  );
  await store.transaction((tx) =>
    updatePermission(tx, String(requested.data.requestId), {
      status: "allowed",
      answered_by: "test",
      answered_at: new Date().toISOString(),
    }),
  );
  const answered = await waitForEvent({ url: b.url, session: asking.id }, isTurnEnd(asking.id));
  assert.equal(answered.data.result, "wrote it", "A's heartbeat let the waiting call proceed");

  // An interrupt asked for through another node (what POST /interrupt there records with its event).
  const long = await clientA.spawn({
    prompt: `@bash ${slowCommand(30)}\n@say never`,
    workDir: cluster.workDir(),
    allowedTools: ["Bash"],
  });
  const longTool = await waitForEvent({ url: b.url, session: long.id }, isTopic("session.tool_use", long.id));
  await store.transaction((tx) =>
    updateSessionRow(tx, long.id, { interrupt_requested_at: new Date().toISOString() }),
  );
  const cut = await waitForEvent({ url: b.url, session: long.id, after: longTool.seq }, isTurnEnd(long.id));
  assert.equal(cut.data.interrupted, true, `A's heartbeat interrupted the turn: ${JSON.stringify(cut.data)}`);
  const [cleared] = await store.db
    .selectFrom("sessions")
    .select("interrupt_requested_at")
    .where("id", "=", long.id)
    .execute();
  assert.equal(cleared?.interrupt_requested_at, null, "the turn's end cleared the request");

  const busy = await clientA.spawn({
    prompt: `@bash ${slowCommand(30)}\n@say never`,
    workDir: cluster.workDir(),
    allowedTools: ["Bash"],
  });
  await waitForEvent({ url: b.url, session: busy.id }, isTopic("session.tool_use", busy.id));
  const busyPid = (await clientB.get(busy.id)).pid as number;
  assert.ok(runsOn(a, busyPid));
  const tree = [busyPid, ...listDescendants(busyPid)];
  await store.transaction((tx) => updateSessionRow(tx, busy.id, { status: "killed" }));
  for (const gone of tree) await waitUntil(() => !isAlive(gone), 15_000, `A's process ${gone} gone`);
  const ends = (await sessionLog(clientB, busy.id)).filter((event) => TERMINAL.includes(event.topic));
  assert.deepEqual(ends, [], "A wrote no terminal event of its own for a session killed elsewhere");
}

test("a follow-up sent through B to a session whose node A dies before delivering it is delivered by B once A's lease runs out", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const cluster = await startBatonCluster(t, CLUSTER, "cross-node orphaned message");
  const [a, b] = [await cluster.start("node-a"), await cluster.start("node-b")];
  const [clientA, clientB] = [clientOf(a), clientOf(b)];
  const session = await clientA.spawn({ prompt: "@say ready", workDir: cluster.workDir() });
  const ready = await waitForEvent({ url: b.url, session: session.id }, isTurnEnd(session.id));
  const warmPid = (await clientB.get(session.id)).pid as number;
  assert.ok(runsOn(a, warmPid));

  a.child.kill("SIGKILL");
  await a.exited;
  const diedAt = Date.now();
  // A's lease is still live: B hands the message to A, which is no longer there to take it.
  const receipt = await clientB.send(session.id, { text: "@say delivered after all" });
  const end = await waitForEvent(
    { url: b.url, session: session.id, after: ready.seq, timeoutMs: CLUSTER.nodeLeaseMs + 60_000 },
    (event) => isTurnEnd(session.id)(event) && event.seq > ready.seq,
  );
  assert.equal(end.data.result, "delivered after all");
  const log = await sessionLog(clientB, session.id, ready.seq);
  const delivered = log.find(
    (event) => event.topic === "session.message_delivered" && event.data.messageId === receipt.messageId,
  );
  assert.ok(delivered, "the message was delivered once");
  assert.ok(runsOn(b, (await clientB.get(session.id)).pid), "B resumed the session");
  await waitUntil(() => !isAlive(warmPid), 15_000, "A's orphaned warm process gone");
  t.diagnostic(`A killed -> message delivered on B: ${Date.parse(delivered?.ts ?? "") - diedAt} ms`);
});
