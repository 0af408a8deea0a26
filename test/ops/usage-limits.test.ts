// Parking at usage limits and refused credentials, end to end: real Baton, the real `claude` binary, the
// scripted model answering 429s with reset headers (`@limit`) and 401s for a revoked key (`@revoked`).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { loadConfig } from "../../src/core/config.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { agentEnvFor, type Harness, startHarness, testSettings } from "../support/harness.ts";
import { isTopic } from "../support/wait-for-event.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";

/**
 * The CLI reads `retry-after` only when it may retry (measured: it then reports `api_retry` with the wait
 * and Baton takes the wait over); the harness's default of 0 retries would hide the reset time.
 */
function withOneRetry(t: TestContext): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), "baton-limits-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return { ...agentEnvFor(root), CLAUDE_CODE_MAX_RETRIES: "1" };
}

async function eventsOf(h: Harness, sessionId: string): Promise<BatonEvent[]> {
  return (await h.client.sessionEvents(sessionId, { limit: 1000 })).events;
}

async function parkAndQueue(h: Harness) {
  const workDir = h.tempDir();
  const first = await h.client.spawn({ prompt: "@limit 3\n@say after the limit", workDir });
  const parked = await h.waitFor(isTopic("session.parked", first.id), { timeoutMs: 30_000 });
  const resumeAt = Date.parse(String(parked.data.resumeAt));
  assert.equal(parked.data.kind, "usage_limit");
  // The reset is ~3 s after the 429 (retry-after), plus at most the jitter (3 s by default).
  assert.ok(resumeAt >= Date.parse(parked.ts) + 2000 && resumeAt <= Date.parse(parked.ts) + 7500);
  const shown = await h.client.get(first.id);
  assert.equal(shown.status, "waiting");
  assert.deepEqual(shown.waitingOn, {
    kind: "usage_limit",
    since: shown.waitingOn?.since,
    resumeAt: parked.data.resumeAt,
  });
  // A new spawn does not call the API while the credential is limited: it queues, saying why.
  const second = await h.client.spawn({ prompt: "@say second", workDir });
  assert.equal(second.status, "queued");
  assert.equal(second.waitingOn?.kind, "usage_limit");
  assert.equal(second.waitingOn?.resumeAt, parked.data.resumeAt);
  return { first, second, resumeAt };
}

async function bothProceed(
  h: Harness,
  ids: { first: { id: string }; second: { id: string }; resumeAt: number },
) {
  const done = await h.waitFor(isTopic("session.completed", ids.second.id), { timeoutMs: 60_000 });
  const first = await h.client.get(ids.first.id);
  const wait = { timeoutMs: 60_000 };
  const firstDone =
    first.status === "completed"
      ? undefined
      : await h.waitFor(isTopic("session.completed", ids.first.id), wait);
  assert.equal((await h.client.get(ids.first.id)).result, "after the limit");
  assert.equal(done.data.result, "second");
  const unparked = (await eventsOf(h, ids.first.id)).find((event) => event.topic === "session.unparked");
  const spawned = (await eventsOf(h, ids.second.id)).find((event) => event.topic === "session.spawned");
  assert.ok(unparked && spawned, "the parked session was unparked and the queued one spawned");
  // Nothing ran before the reset; the parked session went first (oldest first), then the queue.
  assert.ok(Date.parse(unparked.ts) >= ids.resumeAt);
  assert.ok(unparked.seq < spawned.seq);
  void firstDone;
}

test("a 429 with a reset 3 s ahead parks the session and queues a new spawn; both proceed after the reset", async (t) => {
  const h = await startHarness(t, { agentEnv: withOneRetry(t) });
  const ids = await parkAndQueue(h);
  await bothProceed(h, ids);
  // The model was asked again only after the reset: no request of either session in between.
  const during = h.mock.requests.filter(
    (r) => Date.parse(r.at) > ids.resumeAt - 2500 && Date.parse(r.at) < ids.resumeAt,
  );
  assert.deepEqual(during, []);
});

test("a parked session and a queued spawn proceed after the reset across a Baton restart", async (t) => {
  const h = await startHarness(t, { agentEnv: withOneRetry(t) });
  const ids = await parkAndQueue(h);
  await h.restart();
  // The restart did not resume the parked session early: it is still waiting for its time.
  const after = await h.client.get(ids.first.id);
  if (Date.now() < ids.resumeAt - 200) assert.equal(after.waitingOn?.kind, "usage_limit");
  await bothProceed(h, ids);
});

test("a 401 parks with auth and notifies; spawns queue; a new credential in the configuration resumes", async (t) => {
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.stop());
  const overrides = {
    notifyDefaults: [{ channel: "webhook" as const, target: `${receiver.url}/hook` }],
    allowPrivateTargets: true,
  };
  const h = await startHarness(t, overrides);
  const workDir = h.tempDir();
  const first = await h.client.spawn({ prompt: "@revoked test-key\n@say with the new key", workDir });
  const parked = await h.waitFor(isTopic("session.parked", first.id), { timeoutMs: 30_000 });
  assert.equal(parked.data.kind, "auth");
  assert.equal(parked.data.resumeAt, undefined);
  const shown = await h.client.get(first.id);
  assert.equal(shown.status, "waiting");
  assert.equal(shown.waitingOn?.kind, "auth");
  const [notice] = await receiver
    .waitFor((requests) => requests.some(isParkNotice), 30_000)
    .then((all) => all.filter(isParkNotice));
  assert.match(JSON.stringify(notice?.json), /refused the credential/);
  const second = await h.client.spawn({ prompt: "@say second", workDir });
  assert.equal(second.status, "queued");
  assert.equal(second.waitingOn?.kind, "auth");

  // What SIGHUP does (server-commands.ts): the configuration read again, now with a new key.
  const next = loadConfig({
    env: {},
    flags: testSettings(h.root, h.mock.url, { ...overrides, anthropicApiKey: "new-key" }),
  });
  await h.baton.reloadCredentials(next);
  const done = await h.waitFor(isTopic("session.completed", first.id), { timeoutMs: 60_000 });
  assert.equal(done.data.result, "with the new key");
  const secondDone = await h.client.get(second.id);
  const finished =
    secondDone.status === "completed"
      ? secondDone.result
      : (await h.waitFor(isTopic("session.completed", second.id))).data.result;
  assert.equal(finished, "second");
});

function isParkNotice(request: { json: unknown }): boolean {
  return JSON.stringify(request.json ?? null).includes("session.parked");
}
