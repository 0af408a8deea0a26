import assert from "node:assert/strict";
import { test } from "node:test";
import type { Settings } from "../../src/core/settings-schema.ts";
import { verifySignature } from "../../src/notify/signing.ts";
import { type DeliveryRow, selectAttempts, selectDeliveries } from "../../src/store/outbox-queries.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";
import { answerInTurn, type ReceivedRequest, startWebhookReceiver } from "../support/webhook-receiver.ts";

const OLD_SECRET = `whsec_${Buffer.from("callback-test-old-secret").toString("base64")}`;
const NEW_SECRET = "callback-test-new-secret-raw";
/** Deterministic and quick: 100 ms, 200 ms, 400 ms … between attempts, no jitter. */
const FAST_OUTBOX: Partial<Settings> = {
  outboxBaseDelayMs: 100,
  outboxMaxDelayMs: 5000,
  outboxJitter: false,
  outboxTimeoutMs: 3000,
};

async function waitForDelivery(
  h: Harness,
  predicate: (row: DeliveryRow) => boolean,
  what: string,
): Promise<DeliveryRow> {
  return waitUntil(
    async () => (await selectDeliveries(h.baton.store.db)).find(predicate),
    15_000,
    `delivery ${what}`,
  );
}

function header(request: ReceivedRequest, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

test("a run's completion callback is signed and retried until it succeeds, with one delivery id", async (t) => {
  const receiver = await startWebhookReceiver(
    answerInTurn({ status: 500 }, { status: 500 }, { status: 200 }),
  );
  const h = await startHarness(t, {
    ...FAST_OUTBOX,
    allowPrivateTargets: true,
    webhookSecrets: [OLD_SECRET, NEW_SECRET],
    callbackUrlTemplate: `${receiver.url}/runs/{runIdentifier}/stages/complete`,
  });
  t.after(() => receiver.stop());
  const session = await h.client.spawn({
    prompt: "@say stage done",
    workDir: h.tempDir(),
    runIdentifier: "RUN-5",
  });

  const requests = await receiver.waitFor((list) => list.length >= 3);
  assert.deepEqual(
    requests.map((request) => request.status),
    [500, 500, 200],
  );
  const ids = new Set(requests.map((request) => header(request, "webhook-id")));
  assert.equal(ids.size, 1, "every attempt carries the same delivery id");
  for (const request of requests) {
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/runs/RUN-5/stages/complete");
    for (const secret of [OLD_SECRET, NEW_SECRET]) {
      const valid = verifySignature({
        secret,
        id: header(request, "webhook-id"),
        timestamp: header(request, "webhook-timestamp"),
        signatureHeader: header(request, "webhook-signature"),
        body: request.body,
      });
      assert.equal(valid, true, "the signature verifies with either secret");
    }
  }
  const body = requests[2]?.json as { type: string; data: Record<string, unknown> };
  assert.equal(body.type, "run.stage_completed");
  assert.equal(body.data.runIdentifier, "RUN-5");
  assert.equal(body.data.sessionId, session.id);
  assert.equal(body.data.status, "completed");
  assert.equal(body.data.summary, "stage done");
  assert.equal(body.data.turns, 1);
  assert.ok(Number(body.data.costUsd) > 0);
  // The schedule is the configured backoff: at least 100 ms, then 200 ms between attempts.
  const [first, second, third] = requests.map((request) => request.at);
  assert.ok((second ?? 0) - (first ?? 0) >= 100, `first retry after ${(second ?? 0) - (first ?? 0)} ms`);
  assert.ok((third ?? 0) - (second ?? 0) >= 200, `second retry after ${(third ?? 0) - (second ?? 0)} ms`);

  const delivery = await waitForDelivery(h, (row) => row.status === "delivered", "delivered");
  assert.equal(delivery.id, [...ids][0]);
  assert.equal(delivery.attempts, 3);
  const attempts = await selectAttempts(h.baton.store.db, delivery.id);
  assert.deepEqual(
    attempts.map((attempt) => [attempt.outcome, attempt.http_status]),
    [
      ["retry", 500],
      ["retry", 500],
      ["delivered", 200],
    ],
  );
});

test("Retry-After is honoured over the backoff schedule", async (t) => {
  const receiver = await startWebhookReceiver(
    answerInTurn({ status: 503, headers: { "retry-after": "1" } }, { status: 200 }),
  );
  const h = await startHarness(t, {
    ...FAST_OUTBOX,
    outboxBaseDelayMs: 20,
    allowPrivateTargets: true,
    callbackUrlTemplate: `${receiver.url}/runs/{runIdentifier}/done`,
  });
  t.after(() => receiver.stop());
  await h.client.spawn({ prompt: "@say ok", workDir: h.tempDir(), runIdentifier: "RUN-7" });
  const [first, second] = await receiver.waitFor((list) => list.length >= 2);
  const gap = (second?.at ?? 0) - (first?.at ?? 0);
  assert.ok(gap >= 950, `the retry waited ${gap} ms for Retry-After: 1 (backoff alone would be 20 ms)`);
  assert.equal(
    header(second as ReceivedRequest, "webhook-id"),
    header(first as ReceivedRequest, "webhook-id"),
  );
});

test("410 Gone disables the endpoint: later deliveries to it are skipped", async (t) => {
  const receiver = await startWebhookReceiver(() => ({ status: 410 }));
  const h = await startHarness(t, { ...FAST_OUTBOX, allowPrivateTargets: true });
  t.after(() => receiver.stop());
  const url = `${receiver.url}/hooks/gone`;
  const session = await h.client.spawn({
    prompt: "@say first",
    workDir: h.tempDir(),
    webhooks: [{ url, events: ["session.completed"] }],
  });
  const firstEnd = await h.waitFor(isTurnEnd(session.id));
  const gone = await waitForDelivery(h, (row) => row.status === "failed", "failed with 410");
  assert.equal(gone.last_http_status, 410);
  assert.equal(gone.attempts, 1, "410 is not retried");

  await h.client.send(session.id, { text: "@say second" });
  await h.waitFor(isTurnEnd(session.id), { after: firstEnd.seq });
  const skipped = await waitForDelivery(h, (row) => row.status === "skipped", "skipped");
  assert.match(skipped.last_error ?? "", /disabled/);
  assert.equal(receiver.requests.length, 1, "nothing more was sent to the disabled URL");
});

test("the SSRF guard refuses loopback targets without the allowance, once, without retrying", async (t) => {
  const receiver = await startWebhookReceiver();
  const port = new URL(receiver.url).port;
  const h = await startHarness(t, {
    ...FAST_OUTBOX,
    outboundAllowlist: ["hooks.example.com"],
    callbackUrlTemplate: `${receiver.url}/runs/{runIdentifier}`,
  });
  t.after(() => receiver.stop());
  const session = await h.client.spawn({
    prompt: "@say done",
    workDir: h.tempDir(),
    runIdentifier: "RUN-9",
    // A name, not a literal: refused on the address it resolves to.
    webhooks: [{ url: `http://localhost:${port}/hook` }],
  });
  await h.waitFor(isTurnEnd(session.id));
  const literal = await waitForDelivery(
    h,
    (row) => row.channel === "callback" && row.status !== "pending",
    "callback",
  );
  const named = await waitForDelivery(
    h,
    (row) => row.channel === "webhook" && row.status !== "pending",
    "webhook",
  );
  for (const row of [literal, named]) {
    assert.equal(row.status, "refused");
    assert.equal(row.attempts, 1);
    assert.match(row.last_error ?? "", /allowPrivateTargets/);
  }
  assert.match(named.last_error ?? "", /resolves to (127\.0\.0\.1|::1)/);
  assert.equal(receiver.requests.length, 0, "nothing reached the loopback receiver");
});
