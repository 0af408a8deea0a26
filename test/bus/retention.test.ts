import assert from "node:assert/strict";
import { test } from "node:test";
import type { Baton } from "../../src/app.ts";
import { BatonApiError } from "../../src/client/baton-client.ts";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import { pruneEvents, RetentionPruner } from "../../src/events/retention.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { waitUntil } from "../support/wait-until.ts";
import { range, WsProbe } from "./ws-probe.ts";

function publish(baton: Baton, topic: string, data: Record<string, unknown> = {}) {
  return baton.log.write(({ emitPublished }) => emitPublished(topic, data));
}

async function publishMany(baton: Baton, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) await publish(baton, "keep.tick", { index });
}

test("pruning by count and by age cuts the oldest events only", async (t) => {
  const h = await startHarness(t);
  await publishMany(h.baton, 30);
  assert.equal(await pruneEvents(h.baton.store, { maxEvents: 10, maxAgeMs: 0 }), 20);
  assert.deepEqual(await h.baton.log.bounds(), { oldest: 21, latest: 30 });
  assert.equal(await pruneEvents(h.baton.store, { maxEvents: 10, maxAgeMs: 0 }), 0, "idempotent");

  await new Promise((resolve) => setTimeout(resolve, 20));
  const boundary = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await publishMany(h.baton, 5);
  // "Now" is one minute after the boundary and the age cap one minute: everything before it goes.
  assert.equal(await pruneEvents(h.baton.store, { maxEvents: 0, maxAgeMs: 60_000 }, boundary + 60_000), 10);
  assert.deepEqual(await h.baton.log.bounds(), { oldest: 31, latest: 35 });
  assert.equal(await pruneEvents(h.baton.store, { maxEvents: 0, maxAgeMs: 0 }), 0, "no caps, no pruning");
});

test("a cursor older than the oldest kept event gets an explicit reset, never a silent jump", async (t) => {
  const h = await startHarness(t);
  await publishMany(h.baton, 30);
  await pruneEvents(h.baton.store, { maxEvents: 10, maxAgeMs: 0 });

  const probe = await WsProbe.open(t, h.url);
  probe.send({ type: "subscribe", id: "old", after: 5 });
  const reset = await probe.waitFor((frame) => frame.type === "reset");
  assert.deepEqual(reset, { type: "reset", subscription: "old", oldestSeq: 21, latestSeq: 30 });
  assert.equal(probe.events("old").length, 0, "nothing delivered on an expired cursor");
  await probe.subscribe({ id: "old", after: 20 }); // oldest - 1 is still a whole history
  await probe.waitForSeq("old", 30);
  assert.deepEqual(
    probe.events("old").map((event) => event.seq),
    range(21, 30),
  );

  const http = await fetch(`${h.url}/events?after=5`, { headers: authHeaders() });
  assert.equal(http.status, 410);
  assert.equal(((await http.json()) as { error: { code: string } }).error.code, "CURSOR_EXPIRED");
  const sse = await fetch(`${h.url}/events`, {
    headers: authHeaders({ accept: "text/event-stream", "last-event-id": "5" }),
  });
  assert.equal(sse.status, 410);
  await sse.body?.cancel();

  const controller = new AbortController();
  t.after(() => controller.abort());
  await assert.rejects(
    followEventsOverWs({
      url: h.url,
      token: h.token,
      after: 5,
      signal: controller.signal,
      onEvent: () => undefined,
    }),
    (error: unknown) =>
      error instanceof BatonApiError && error.status === 410 && error.code === "CURSOR_EXPIRED",
  );
  const resumed: number[] = [];
  const resets: number[] = [];
  const following = followEventsOverWs({
    url: h.url,
    token: h.token,
    after: 5,
    signal: controller.signal,
    onEvent: (event) => resumed.push(event.seq),
    onReset: (notice) => {
      resets.push(notice.oldestSeq);
      return notice.oldestSeq - 1;
    },
  });
  await publish(h.baton, "keep.tick");
  await waitUntil(() => resumed.at(-1) === 31, 5000, "the follower went on from the oldest kept event");
  controller.abort();
  await following;
  assert.deepEqual(resets, [21]);
  assert.deepEqual(resumed, range(21, 31));
});

test("the configured caps are applied when Baton starts", async (t) => {
  const h = await startHarness(t);
  await publishMany(h.baton, 25);
  await h.restart({ retentionMaxEvents: 5 });
  assert.deepEqual(await h.baton.log.bounds(), { oldest: 21, latest: 25 });
  const stored = await h.client.events({ after: 20 });
  assert.deepEqual(
    stored.events.map((event) => event.seq),
    range(21, 25),
  );
});

test("the pruner runs periodically; start and stop are idempotent", async (t) => {
  const h = await startHarness(t);
  const errors: unknown[] = [];
  const pruner = new RetentionPruner({
    store: h.baton.store,
    policy: { maxEvents: 5, maxAgeMs: 0 },
    intervalMs: 20,
    onError: (error) => errors.push(error),
  });
  t.after(() => pruner.stop());
  assert.equal(pruner.start(), pruner.start(), "a second start shares the first");
  await pruner.start();
  await publishMany(h.baton, 20);
  await waitUntil(async () => (await h.baton.log.bounds()).oldest === 16, 5000, "a periodic prune");
  await Promise.all([pruner.stop(), pruner.stop()]);
  await publishMany(h.baton, 5);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal((await h.baton.log.bounds()).oldest, 16, "stopped means stopped");
  assert.deepEqual(errors, []);
});

test("a cursor past the newest event (another database's) is refused the same way, and a follower can step back", async (t) => {
  const h = await startHarness(t);
  await publishMany(h.baton, 5);

  const probe = await WsProbe.open(t, h.url);
  probe.send({ type: "subscribe", id: "foreign", after: 50 });
  const reset = await probe.waitFor((frame) => frame.type === "reset");
  assert.deepEqual(reset, { type: "reset", subscription: "foreign", oldestSeq: 1, latestSeq: 5 });

  const http = await fetch(`${h.url}/events?after=50`, { headers: authHeaders() });
  assert.equal(http.status, 410);
  const body = (await http.json()) as { error: { code: string; message: string; details: unknown } };
  assert.equal(body.error.code, "CURSOR_AHEAD");
  assert.match(body.error.message, /cursor 50 is past the newest event \(5\)/);
  assert.deepEqual(body.error.details, { oldestSeq: 1, latestSeq: 5, resetAfter: 0 });

  const controller = new AbortController();
  t.after(() => controller.abort());
  await assert.rejects(
    followEventsOverWs({
      url: h.url,
      token: h.token,
      after: 50,
      signal: controller.signal,
      onEvent: () => undefined,
    }),
    (error: unknown) =>
      error instanceof BatonApiError && error.status === 410 && error.code === "CURSOR_AHEAD",
  );
  const seen: number[] = [];
  const following = followEventsOverWs({
    url: h.url,
    token: h.token,
    after: 50,
    signal: controller.signal,
    onEvent: (event) => seen.push(event.seq),
    onReset: (notice) => notice.oldestSeq - 1, // start over: a cursor from another log means nothing here
  });
  await waitUntil(() => seen.length === 5, 5000, "the follower took everything kept");
  controller.abort();
  await following;
  assert.deepEqual(seen, range(1, 5));
});
