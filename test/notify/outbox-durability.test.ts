import assert from "node:assert/strict";
import { test } from "node:test";
import { selectDeliveries, setNotifyCursor } from "../../src/store/outbox-queries.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";
import { type ReceivedRequest, startWebhookReceiver } from "../support/webhook-receiver.ts";

function deliveryId(request: ReceivedRequest | undefined): string {
  return String(request?.headers["webhook-id"] ?? "");
}

test("nothing is lost across a restart: pending deliveries resume, missed events are caught up", async (t) => {
  let receiverUp = false;
  const receiver = await startWebhookReceiver(() => ({ status: receiverUp ? 200 : 503 }));
  const h = await startHarness(t, {
    allowPrivateTargets: true,
    callbackUrlTemplate: `${receiver.url}/runs/{runIdentifier}/complete`,
    outboxBaseDelayMs: 100,
    outboxMaxDelayMs: 300,
    outboxMaxAttempts: 100,
    outboxJitter: false,
  });
  t.after(() => receiver.stop());
  const forRun = (run: string) => (request: ReceivedRequest) => request.path === `/runs/${run}/complete`;

  // 1. A delivery the receiver keeps refusing, then Baton restarts: the same delivery goes out afterwards.
  await h.client.spawn({ prompt: "@say first run", workDir: h.tempDir(), runIdentifier: "RUN-A" });
  const [failed] = await receiver.waitFor((list) => list.some(forRun("RUN-A")));
  await h.restart();
  receiverUp = true;
  const delivered = await receiver.waitFor((list) =>
    list.some((r) => forRun("RUN-A")(r) && r.status === 200),
  );
  const success = delivered.find((r) => forRun("RUN-A")(r) && r.status === 200);
  assert.equal(deliveryId(success), deliveryId(failed), "the delivery kept its id across the restart");

  // 2. An event committed while notifications were down (a crash before the dispatcher saw it): the next
  // start catches up from the stored cursor.
  await h.baton.notifier.stop();
  const missed = await h.client.spawn({
    prompt: "@say second run",
    workDir: h.tempDir(),
    runIdentifier: "RUN-B",
  });
  await h.waitFor(isTurnEnd(missed.id));
  assert.equal((await selectDeliveries(h.baton.store.db, { sessionId: missed.id })).length, 0);
  await h.restart();
  const caughtUp = await receiver.waitFor((list) => list.some((r) => forRun("RUN-B")(r) && r.status === 200));
  assert.equal(caughtUp.filter(forRun("RUN-B")).length, 1);

  // 3. Replaying the whole log (the cursor rewound) inserts nothing twice.
  const before = await selectDeliveries(h.baton.store.db);
  assert.equal(before.length, 2);
  await waitUntil(
    async () => (await selectDeliveries(h.baton.store.db)).every((row) => row.status === "delivered"),
    10_000,
    "both deliveries delivered",
  );
  await setNotifyCursor(h.baton.store.db, 0);
  await h.baton.notifier.settle();
  const after = await selectDeliveries(h.baton.store.db);
  assert.deepEqual(
    after.map((row) => row.id),
    before.map((row) => row.id),
  );
  assert.equal(receiver.requests.filter((r) => r.status === 200).length, 2, "each callback succeeded once");
});
