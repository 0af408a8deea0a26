import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { isAlive } from "../../src/runner/process-tree.ts";
import { authHeaders } from "../support/auth.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** Spawns a session whose 20 s of tool work holds a slot until the test kills it. */
function spawnBlocker(h: Harness) {
  return h.client.spawn({
    prompt: `@bash ${slowCommand(20)}`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
}

/** A raw spawn request, for asserting the status and error body of a refusal. */
async function postSpawn(
  url: string,
  body: object,
): Promise<{ status: number; error: { code: string; message: string } }> {
  const response = await fetch(`${url}/sessions`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, error: json.error };
}

/** Replays the log and tracks which sessions held a running slot after each event. */
function peakConcurrency(events: BatonEvent[]): { peak: number; peakPerOwner: number } {
  const ownerOf = new Map<string, string>();
  const running = new Set<string>();
  let peak = 0;
  let peakPerOwner = 0;
  for (const event of events) {
    const id = event.sessionId;
    if (!id) continue;
    if (event.topic === "session.created")
      ownerOf.set(id, String((event.data.config as { owner: string }).owner));
    if (event.topic === "session.spawned" || event.topic === "session.resumed") running.add(id);
    if (["session.completed", "session.failed", "session.killed"].includes(event.topic)) running.delete(id);
    peak = Math.max(peak, running.size);
    const perOwner = new Map<string, number>();
    for (const member of running)
      perOwner.set(ownerOf.get(member) ?? "", (perOwner.get(ownerOf.get(member) ?? "") ?? 0) + 1);
    peakPerOwner = Math.max(peakPerOwner, ...perOwner.values(), 0);
  }
  return { peak, peakPerOwner };
}

test("10 sessions across owners respect maxConcurrent 2 and maxPerOwner 1, queue in order, and all finish", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 2, maxPerOwner: 1 });
  const owners = ["ana", "ben", "cai", "dee"];
  const ids: string[] = [];
  for (let index = 0; index < 10; index += 1) {
    const session = await h.client.spawn({
      prompt: "@bash sleep 0.3\n@say finished",
      workDir: h.tempDir(),
      owner: owners[index % owners.length],
      allowedTools: ["Bash"],
    });
    ids.push(session.id);
  }
  const queued = (await h.client.list({ status: "queued" })).sessions;
  const positions = queued.map((session) => session.queuePosition).sort((a = 0, b = 0) => a - b);
  assert.deepEqual(
    positions,
    Array.from({ length: queued.length }, (_, index) => index + 1),
    "positions are 1..n",
  );
  assert.ok(queued.length >= 8, `at most 2 started at once (${queued.length} queued)`);

  for (const id of ids) {
    const end = await h.waitFor(isTurnEnd(id), { timeoutMs: 90_000 });
    assert.equal(end.topic, "session.completed", `${id} completed`);
  }
  const { events } = await h.client.events({ limit: 5000 });
  const { peak, peakPerOwner } = peakConcurrency(events);
  assert.ok(peak <= 2, `never more than 2 running (peak ${peak})`);
  assert.equal(peakPerOwner, 1, "never more than 1 per owner");
  assert.equal(peak, 2, "the limit was actually used");
});

test("a follow-up that queues behind its owner's limit runs in the session's still-warm process once the slot frees", async (t) => {
  const h = await startHarness(t, { maxPerOwner: 1, keepAliveMs: 60_000 });
  const first = await h.client.spawn({ prompt: "@say first turn", workDir: h.tempDir() });
  const firstEnd = await h.waitFor(isTurnEnd(first.id));
  const warmPid = (await h.client.get(first.id)).pid;
  assert.ok(warmPid && isAlive(warmPid), "the first session's process stays warm");
  // The same owner's other session takes the owner's one slot.
  const blocker = await spawnBlocker(h);
  await h.waitFor(isTopic("session.spawned", blocker.id));
  const receipt = await h.client.send(first.id, { text: "@say second turn" });
  assert.equal((await h.client.get(first.id)).status, "queued", "the follow-up waits for the owner's slot");

  await h.client.kill(blocker.id);
  const resumed = await h.waitFor(isTopic("session.resumed", first.id), { after: firstEnd.seq });
  assert.equal(resumed.data.messageId, receipt.messageId);
  const end = await h.waitFor(isTurnEnd(first.id), { after: resumed.seq });
  assert.equal(end.data.result, "second turn", "the queued message was delivered and answered");
  assert.equal((await h.client.get(first.id)).pid, warmPid, "in the process that stayed warm");
});

test("queue timeout fails a waiting session; a full queue answers 429", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 1500 });
  const blocker = await spawnBlocker(h);
  const waiting = await h.client.spawn({ prompt: "@say never started", workDir: h.tempDir() });
  assert.equal(waiting.status, "queued");
  assert.equal(waiting.queuePosition, 1);

  const full = await postSpawn(h.url, { prompt: "one too many", workDir: h.tempDir() });
  assert.equal(full.status, 429);
  assert.equal(full.error.code, "QUEUE_FULL");
  assert.match(full.error.message, /queue is full/);

  const failed = await h.waitFor(isTopic("session.failed", waiting.id), { timeoutMs: 10_000 });
  assert.equal(failed.data.reason, "queue_timeout");
  assert.equal((await h.client.get(waiting.id)).failureReason, "queue_timeout");
  assert.equal(h.mock.requests.filter((request) => request.instruction === "@say never started").length, 0);
  await h.client.kill(blocker.id);
});

test("priority orders the queue; ties are first come", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 1 });
  const blocker = await spawnBlocker(h);
  await h.waitFor(isTopic("session.spawned", blocker.id));
  const low = await h.client.spawn({ prompt: "@say low", workDir: h.tempDir(), name: "low" });
  const normal = await h.client.spawn({ prompt: "@say normal", workDir: h.tempDir(), name: "normal" });
  const high = await h.client.spawn({
    prompt: "@say high",
    workDir: h.tempDir(),
    name: "high",
    priority: 10,
  });
  assert.equal((await h.client.get("high")).queuePosition, 1);
  assert.equal((await h.client.get("low")).queuePosition, 2);
  assert.equal((await h.client.get("normal")).queuePosition, 3);

  await h.client.kill(blocker.id);
  for (const id of [high.id, low.id, normal.id]) await h.waitFor(isTurnEnd(id));
  const { events } = await h.client.events({ topics: ["session.spawned"] });
  const order = events.map((event) => event.sessionId).filter((id) => id !== blocker.id);
  assert.deepEqual(order, [high.id, low.id, normal.id]);
});

test("the idle watchdog fires on a hung model response, not during a slow tool", async (t) => {
  const h = await startHarness(t);
  const hung = await h.client.spawn({ prompt: "@hang", workDir: h.tempDir(), idleTimeoutMs: 1000 });
  const busy = await h.client.spawn({
    prompt: `@bash ${slowCommand(3)}\n@say done`,
    workDir: h.tempDir(),
    idleTimeoutMs: 1000,
    allowedTools: ["Bash"],
  });
  const idle = await h.waitFor(isTopic("session.idle", hung.id), { timeoutMs: 10_000 });
  assert.ok(Number(idle.data.idleMs) >= 1000);
  assert.equal(
    (await h.client.get(hung.id)).status,
    "running",
    "notify (the default action) keeps it running",
  );

  const busyEnd = await h.waitFor(isTurnEnd(busy.id), { timeoutMs: 20_000 });
  assert.equal(busyEnd.topic, "session.completed");
  const busyEvents = await h.client.sessionEvents(busy.id);
  assert.equal(
    busyEvents.events.filter((event) => event.topic === "session.idle").length,
    0,
    `a 3 s tool is not idleness: ${busyEvents.events.map((e) => `${e.ts.slice(17)} ${e.topic}`).join(", ")}`,
  );
  await h.client.kill(hung.id);
});

test("a completed session's process is released after keepAliveMs; the next send resumes the conversation", async (t) => {
  const h = await startHarness(t, { keepAliveMs: 300 });
  const session = await h.client.spawn({ prompt: "@say remember the word banana", workDir: h.tempDir() });
  await h.waitFor(isTurnEnd(session.id));
  const pid = (await h.client.get(session.id)).pid;
  assert.ok(pid);
  await waitUntil(() => !isAlive(pid) && h.baton.supervisor.liveCount === 0, 10_000, "process released");
  assert.equal((await h.client.get(session.id)).status, "completed", "release does not change the status");
  assert.equal((await h.client.health()).liveProcesses, 0);

  await h.client.send(session.id, { text: "@say resumed fine" });
  const spawned = await h.waitFor(
    (event) =>
      event.topic === "session.spawned" && event.sessionId === session.id && event.data.resumed === true,
  );
  const end = await h.waitFor(isTurnEnd(session.id), { after: spawned.seq });
  assert.equal(end.data.result, "resumed fine");
  const body = JSON.stringify(h.mock.requests.at(-1)?.body);
  assert.match(body, /remember the word banana/, "the model server received the earlier history");
  const after = await h.client.get(session.id);
  assert.equal(after.turns, 2, "turns keep counting across the release");
  assert.ok(
    after.costUsd > 0.0015 && after.costUsd < 0.002,
    `cost counted once per request, not twice (${after.costUsd})`,
  );
});

test("a child killed from outside ends the session failed / process_exited within 5 s", async (t) => {
  const h = await startHarness(t);
  const session = await spawnBlocker(h);
  await h.waitFor(isTopic("session.tool_use", session.id));
  const pid = (await h.client.get(session.id)).pid;
  assert.ok(pid);
  process.kill(pid, "SIGKILL");
  // The deadline is the 5 s of the test's name: waitFor fails the test past it.
  const failed = await h.waitFor(isTopic("session.failed", session.id), { timeoutMs: 5000 });
  assert.equal(failed.data.reason, "process_exited");
  assert.equal(h.baton.supervisor.isLive(session.id), false, "no live run is left for it");
  assert.equal((await h.client.get(session.id)).status, "failed");
  assert.match(String(failed.data.error), /SIGKILL/);
});

test("idleAction fail: a hung session fails with reason idle and its process is gone", async (t) => {
  const h = await startHarness(t, { idleAction: "fail" });
  const session = await h.client.spawn({ prompt: "@hang", workDir: h.tempDir(), idleTimeoutMs: 1000 });
  await h.waitFor(isTopic("session.idle", session.id), { timeoutMs: 10_000 });
  const failed = await h.waitFor(isTopic("session.failed", session.id));
  assert.equal(failed.data.reason, "idle");
  const pid = (await h.client.get(session.id)).pid;
  await waitUntil(() => (pid && !isAlive(pid)) || undefined, 10_000, "the hung process is gone");
});

test("a resume that cannot find the conversation fails with resume_failed, never a silent fresh start", async (t) => {
  const h = await startHarness(t, { keepAliveMs: 200 });
  const session = await h.client.spawn({ prompt: "@say remember me", workDir: h.tempDir() });
  await h.waitFor(isTurnEnd(session.id));
  await waitUntil(() => h.baton.supervisor.liveCount === 0 || undefined, 10_000, "process released");
  // The transcript disappears (another machine, a wiped config dir): the next send must not start afresh.
  rmSync(join(h.root, "claude-config", "projects"), { recursive: true, force: true });
  const before = h.mock.requests.length;
  await h.client.send(session.id, { text: "@say do you remember?" });
  const failed = await h.waitFor(isTopic("session.failed", session.id), { timeoutMs: 30_000 });
  assert.equal(failed.data.reason, "resume_failed", JSON.stringify(failed.data));
  assert.match(String(failed.data.error), /resume/);
  assert.equal(h.mock.requests.length, before, "no fresh conversation reached the model");
});

test("while shutting down, new work is refused with 503 and reads still answer", async (t) => {
  const h = await startHarness(t);
  const session = await spawnBlocker(h);
  await h.waitFor(isTopic("session.tool_use", session.id));
  const stopping = h.baton.stop();
  const refused = await postSpawn(h.url, { prompt: "@say too late", workDir: h.tempDir() });
  assert.equal(refused.status, 503);
  assert.equal(refused.error.code, "SHUTTING_DOWN");
  assert.match(refused.error.message, /shutting down/);
  assert.equal(
    (await fetch(`${h.url}/sessions/${session.id}`, { headers: authHeaders() })).status,
    200,
    "reads still answer while draining",
  );
  await stopping;
  await h.restart();
  assert.deepEqual(
    (await h.client.list()).sessions.map((listed) => listed.id),
    [session.id],
    "nothing new was written",
  );
});
