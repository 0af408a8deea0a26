import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const released = (h: { baton: { supervisor: { liveCount: number } } }) =>
  waitUntil(() => h.baton.supervisor.liveCount === 0 || undefined, 10_000, "process released");

test("every cold resume is verified; one whose permission mode no longer matches fails before the model is asked", async (t) => {
  const h = await startHarness(t, { keepAliveMs: 200 });
  const session = await h.client.spawn({
    prompt: "@say first",
    workDir: h.tempDir(),
    permissionMode: "acceptEdits",
  });
  const first = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
  assert.equal(first.topic, "session.completed");
  await released(h);

  // A follow-up after release starts a new process: it proves who it is before it gets the message.
  const second = await h.client.send(session.id, { text: "@say second" });
  const spawned = await h.waitFor(isTopic("session.spawned", session.id), { after: first.seq });
  const resumed = await h.waitFor(isTopic("session.resumed", session.id), { after: first.seq });
  assert.ok(resumed.seq > spawned.seq, "announced once the new process passed its check");
  assert.equal(resumed.data.messageId, second.messageId);
  const verified = resumed.data.verified as Record<string, unknown>;
  assert.equal(verified.agentSessionId, (await h.client.get(session.id)).agentSessionId);
  assert.equal(verified.permissionMode, "acceptEdits");
  assert.equal(verified.model, h.mock.requests[0]?.model);
  assert.ok((verified.tools as number) > 0);
  const secondEnd = await h.waitFor(isTurnEnd(session.id), { after: resumed.seq, timeoutMs: 60_000 });
  assert.equal(secondEnd.data.result, "second");
  // The check itself costs no model request: one request per turn.
  assert.equal(h.mock.requests.length, 2);
  console.log(
    `resume check: session.spawned -> session.resumed(verified) ${Date.parse(resumed.ts) - Date.parse(spawned.ts)} ms`,
  );
  await released(h);

  // The stored config is altered between turns: the resumed process now runs in "default" mode, which is
  // not the agent whose first start Baton recorded ("acceptEdits").
  const row = await h.baton.store.db
    .selectFrom("sessions")
    .select("config")
    .where("id", "=", session.id)
    .executeTakeFirstOrThrow();
  const config = { ...JSON.parse(row.config), permissionMode: "default" };
  await h.baton.store.db
    .updateTable("sessions")
    .set({ config: JSON.stringify(config) })
    .where("id", "=", session.id)
    .execute();
  const requestsBefore = h.mock.requests.length;
  const third = await h.client.send(session.id, { text: "@say third" });
  const failed = await h.waitFor(isTurnEnd(session.id), { after: secondEnd.seq, timeoutMs: 60_000 });
  assert.equal(failed.topic, "session.failed");
  assert.equal(failed.data.reason, "resume_mismatch");
  assert.equal(failed.data.error, 'resume_mismatch: permissionMode is "default", stored "acceptEdits"');
  const shown = await h.client.get(session.id);
  assert.equal(shown.failureReason, "resume_mismatch");
  // No model request for that turn, and the message's receipt says it was refused.
  assert.equal(h.mock.requests.length, requestsBefore, "the model was not asked anything");
  assert.ok(!h.mock.requests.some((request) => request.instruction?.includes("@say third")));
  assert.equal((await h.client.messageReceipt(session.id, third.messageId)).status, "refused");
  await released(h);
  assert.equal(h.mock.requests.length, requestsBefore, "nothing retried the refused resume");
});
