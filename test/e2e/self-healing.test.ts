import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

test("a process that hangs mid-request is restarted in the same conversation and the session completes", async (t) => {
  const h = await startHarness(t, { stallTimeoutMs: 1500, restartBackoffMs: 100, maxRestarts: 2 });
  // The first request hangs; the retried one (after the restart) is answered.
  const session = await h.client.spawn({ prompt: "@hang 1\n@say recovered", workDir: h.tempDir() });
  const restarted = await h.waitFor(isTopic("session.restarted", session.id), { timeoutMs: 60_000 });
  assert.equal(restarted.data.reason, "stalled");
  assert.equal(restarted.data.attempt, 1);
  assert.equal(restarted.data.delayMs, 100);
  const end = await h.waitFor(isTurnEnd(session.id), { after: restarted.seq, timeoutMs: 60_000 });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "recovered");
  const { events } = await h.client.sessionEvents(session.id);
  const spawned = events.filter((event) => event.topic === "session.spawned");
  assert.equal(spawned.length, 2, "one process, then its restart");
  assert.equal(spawned[1]?.data.resumed, true);
  assert.equal(spawned[1]?.data.agentSessionId, spawned[0]?.data.agentSessionId, "the same conversation");
  const resumed = events.find((event) => event.topic === "session.resumed");
  assert.equal(resumed?.data.reason, "restarted");
  // The retried request carried the conversation: the script and Baton's note.
  const last = h.mock.requests.at(-1);
  assert.equal(last?.instruction, "@hang 1\n@say recovered");
  assert.match(JSON.stringify(last?.body), /Baton restarted this session's agent process/);
  assert.equal(
    h.mock.requests.filter((request) => request.sessionId === spawned[0]?.data.agentSessionId).length,
    2,
  );
});

test("a process whose turns fail with retryable errors is restarted maxRestarts times, then fails unhealthy", async (t) => {
  const h = await startHarness(t, { restartBackoffMs: 50 });
  const session = await h.client.spawn({
    prompt: "@error 500 api_error the model is on fire",
    workDir: h.tempDir(),
    maxRestarts: 2,
  });
  const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 90_000 });
  assert.equal(end.topic, "session.failed", JSON.stringify(end.data));
  assert.equal(end.data.reason, "unhealthy");
  assert.match(String(end.data.error), /restarted 2 time\(s\).*the model is on fire/);
  const { events } = await h.client.sessionEvents(session.id);
  const restarts = events.filter((event) => event.topic === "session.restarted");
  assert.deepEqual(
    restarts.map((event) => [event.data.reason, event.data.attempt, event.data.delayMs]),
    [
      ["api_error", 1, 50],
      ["api_error", 2, 100],
    ],
    "backoff doubles",
  );
  assert.equal(
    events.filter((event) => event.topic === "session.failed").length,
    1,
    "failed once, at the end",
  );
  assert.equal(h.mock.requests.length, 3, "the first turn and one per restart");
  await waitUntil(() => h.baton.supervisor.liveCount === 0 || undefined, 10_000, "no process left");
  assert.equal((await h.client.get(session.id)).failureReason, "unhealthy");
});
