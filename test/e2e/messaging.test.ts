import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { authHeaders } from "../support/auth.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/** About 3 s of tool work that leaves slow.txt only if it runs to the end. */
const SLOW = `@bash ${slowCommand(3, "echo done > slow.txt")}`;

async function spawnBusy(h: Harness, then: string) {
  const workDir = h.tempDir();
  const session = await h.client.spawn({ prompt: `${SLOW}\n${then}`, workDir, allowedTools: ["Bash"] });
  await h.waitFor(isTopic("session.tool_use", session.id));
  return { session, workDir };
}

function topicsOf(events: BatonEvent[]): string[] {
  return events
    .map((event) => event.topic)
    .filter((topic) => !["session.output", "session.tool_use", "session.tool_done"].includes(topic));
}

test("a child's finished turn wakes its idle parent, which made no model request while waiting", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const parent = await h.client.spawn({ prompt: "@say I will wait for my child", workDir, name: "boss" });
  const parentIdle = await h.waitFor(isTurnEnd(parent.id));
  const parentAgent = (await h.client.get(parent.id)).agentSessionId;
  const requestsBefore = h.mock.requests.length;

  const child = await h.client.spawn({
    prompt: "@bash echo kid > kid.txt\n@say the child result",
    workDir,
    parentSessionId: parent.id,
    allowedTools: ["Bash"],
    name: "kid",
  });
  const childEnd = await h.waitFor(isTurnEnd(child.id));
  const woken = await h.waitFor(isTurnEnd(parent.id), { after: parentIdle.seq });
  assert.equal(woken.topic, "session.completed");

  const wake = h.mock.requests.at(-1);
  assert.equal(wake?.sessionId, parentAgent);
  assert.match(
    wake?.instruction ?? "",
    /Your child session "kid" \(ses_\w+\) completed \(2 turns, \$[\d.]+\)\. Result:\nthe child result/,
  );
  const between = h.mock.requests.slice(requestsBefore, -1);
  assert.ok(between.length >= 2, "the child worked in between");
  assert.equal(
    between.filter((request) => request.sessionId === parentAgent).length,
    0,
    "zero requests from the waiting parent",
  );
  const delivered = await h.client.sessionEvents(parent.id, { after: childEnd.seq });
  assert.equal(
    delivered.events.find((event) => event.topic === "session.message_delivered")?.data.from,
    child.id,
  );
});

test("wait: the waiter is told when the target finishes, or when its time runs out", async (t) => {
  const h = await startHarness(t);
  const waiter = await h.client.spawn({ prompt: "@say waiting room", workDir: h.tempDir(), name: "waiter" });
  const idle = await h.waitFor(isTurnEnd(waiter.id));
  const { session: target } = await spawnBusy(h, "@say target finished");
  const receipt = await h.client.request<{ waitId: string; deadline: string; targetStatus: string }>(
    "POST",
    "/sessions/waiter/wait",
    { target: target.id, timeoutSeconds: 60 },
  );
  assert.equal(receipt.targetStatus, "running");
  await h.waitFor(isTurnEnd(target.id));
  const woken = await h.waitFor(isTurnEnd(waiter.id), { after: idle.seq });
  assert.equal(woken.topic, "session.completed");
  assert.match(
    h.mock.requests.at(-1)?.instruction ?? "",
    /The session you waited for: session ses_\w+ completed .*Result:\ntarget finished/s,
  );

  const { session: slow } = await spawnBusy(h, "@say much later");
  await h.client.request("POST", "/sessions/waiter/wait", { target: slow.id, timeoutSeconds: 1 });
  const expired = await h.waitFor(isTurnEnd(waiter.id), { after: woken.seq, timeoutMs: 15_000 });
  assert.equal(expired.topic, "session.completed");
  assert.match(
    h.mock.requests.at(-1)?.instruction ?? "",
    /Your wait of 1 s ran out: session ses_\w+ is still running/,
  );
  await h.client.kill(slow.id);

  const self = await fetch(`${h.url}/sessions/waiter/wait`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ target: "waiter", timeoutSeconds: 5 }),
  });
  assert.equal(self.status, 400);
});

test("delivery modes against a session mid-tool: queue after the turn, steer within it, interrupt cuts it short", async (t) => {
  const h = await startHarness(t);

  const queued = await spawnBusy(h, "@say first turn");
  await h.client.send(queued.session.id, { text: "@say after the turn", mode: "queue" });
  const queuedFirst = await h.waitFor(isTurnEnd(queued.session.id));
  assert.equal(queuedFirst.data.result, "first turn", "the running turn finished undisturbed");
  const queuedSecond = await h.waitFor(isTurnEnd(queued.session.id), { after: queuedFirst.seq });
  assert.equal(queuedSecond.data.result, "after the turn");
  assert.ok(existsSync(join(queued.workDir, "slow.txt")));

  const steered = await spawnBusy(h, "@say unsteered");
  await h.client.send(steered.session.id, { text: "@say steered", mode: "steer" });
  const steeredEnd = await h.waitFor(isTurnEnd(steered.session.id));
  assert.equal(steeredEnd.data.result, "steered", "the message changed the running turn");
  const steeredEvents = topicsOf((await h.client.sessionEvents(steered.session.id)).events);
  assert.ok(
    steeredEvents.indexOf("session.message_delivered") < steeredEvents.indexOf("session.completed"),
    "delivered within the turn",
  );
  assert.equal(steeredEvents.filter((topic) => topic === "session.completed").length, 1, "one turn");
  assert.ok(existsSync(join(steered.workDir, "slow.txt")), "steering does not stop the running tool");

  const cut = await spawnBusy(h, "@say never reached");
  await h.client.send(cut.session.id, { text: "@say cut short", mode: "interrupt" });
  const cutFirst = await h.waitFor(isTurnEnd(cut.session.id));
  assert.equal(cutFirst.data.interrupted, true);
  const cutSecond = await h.waitFor(isTurnEnd(cut.session.id), { after: cutFirst.seq });
  assert.equal(cutSecond.data.result, "cut short");
  assert.equal(cutFirst.data.result, "interrupted");
  const cutEvents = JSON.stringify((await h.client.sessionEvents(cut.session.id)).events);
  assert.doesNotMatch(cutEvents, /ede_diagnostic/, "no CLI internals in the session's events");
  assert.equal(existsSync(join(cut.workDir, "slow.txt")), false, "the tool was cut short");
});

test("queued messages are delivered in order, once per idempotency key", async (t) => {
  const h = await startHarness(t);
  const { session } = await spawnBusy(h, "@say first");
  const first = await h.client.send(session.id, { text: "message one", idempotencyKey: "k1" });
  const retry = await h.client.send(session.id, { text: "message one", idempotencyKey: "k1" });
  assert.equal(retry.messageId, first.messageId);
  assert.equal(retry.duplicate, true);
  const second = await h.client.send(session.id, { text: "message two" });
  const third = await h.client.send(session.id, { text: "@say three messages read" });

  const firstEnd = await h.waitFor(isTurnEnd(session.id));
  await h.waitFor(isTurnEnd(session.id), { after: firstEnd.seq });
  const { events } = await h.client.sessionEvents(session.id);
  const deliveredIds = events
    .filter((event) => event.topic === "session.message_delivered")
    .map((event) => event.data.messageId);
  assert.deepEqual(deliveredIds, [first.messageId, second.messageId, third.messageId]);
  assert.equal(
    events.filter((event) => event.topic === "session.message_queued").length,
    3,
    "the retry was not queued again",
  );
  const body = JSON.stringify(h.mock.requests.at(-1)?.body);
  const [one = -1, two = -1, three = -1] = ["message one", "message two", "three messages read"].map((text) =>
    body.indexOf(text),
  );
  assert.ok(
    one !== -1 && one < two && two < three,
    `the model read them in order (${one}, ${two}, ${three})`,
  );
});

test("a message accepted before a restart is delivered after it", async (t) => {
  const h = await startHarness(t);
  const { session } = await spawnBusy(h, "@say before the restart");
  const receipt = await h.client.send(session.id, { text: "@say delivered after the restart" });
  assert.equal(receipt.deliveredAt, undefined, "still pending: the turn is running");
  await h.restart();
  const delivered = await h.waitFor(
    (event) => event.topic === "session.message_delivered" && event.data.messageId === receipt.messageId,
    { timeoutMs: 60_000 },
  );
  const end = await h.waitFor(isTurnEnd(session.id), { after: delivered.seq, timeoutMs: 60_000 });
  assert.equal(end.data.result, "delivered after the restart");
});

test("a tree budget stops the tree's working sessions and tells the root", async (t) => {
  const h = await startHarness(t);
  // The root must still be working when the child's dear request is counted: 3 s was too short on a
  // loaded machine (the child's process start alone took longer); the tree budget ends this tool early.
  const root = await h.client.spawn({
    prompt: `@bash ${slowCommand(30)}\n@say root done`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
    maxTreeBudgetUsd: 1,
    name: "root",
  });
  await h.waitFor(isTopic("session.tool_use", root.id));
  const child = await h.client.spawn({
    prompt: "@usage 2000000 10\n@bash echo costly\n@say unreachable",
    workDir: h.tempDir(),
    parentSessionId: root.id,
  });
  const childEnd = await h.waitFor(isTurnEnd(child.id));
  assert.equal(childEnd.topic, "session.failed");
  assert.equal(
    childEnd.data.reason,
    "max_budget",
    "the child's query got only what was left of the tree budget",
  );
  const rootEnd = await h.waitFor(isTurnEnd(root.id));
  assert.equal(rootEnd.topic, "session.failed");
  assert.equal(rootEnd.data.reason, "tree_budget");
  assert.match(String(rootEnd.data.error), /tree budget of \$1 .* is spent/);
});
