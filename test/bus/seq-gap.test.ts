import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { EventBus, type SeqGap } from "../../src/events/event-bus.ts";
import { EventFeed } from "../../src/events/event-feed.ts";
import { EventLog } from "../../src/events/event-log.ts";
import { insertEvent } from "../../src/store/event-queries.ts";
import { openStore } from "../../src/store/open-store.ts";
import { waitUntil } from "../support/wait-until.ts";

function event(seq: number): BatonEvent {
  return { seq, topic: "lab.step", ts: new Date(0).toISOString(), data: { seq } };
}

test("events another process wrote to the database reach live subscribers from the log, in order", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "baton-seq-gap-"));
  const store = await openStore(join(dir, "baton.db"));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const gaps: SeqGap[] = [];
  const log = await EventLog.open(store, undefined, { onGap: (gap) => gaps.push(gap) });
  const emit = (n: number) => log.write(({ emitPublished }) => emitPublished("lab.step", { n }));
  await emit(1);
  const live: BatonEvent[] = [];
  log.bus.subscribe((received) => live.push(received));
  const fed: BatonEvent[] = [];
  const feed = new EventFeed(log, { topics: [], includeOutput: false }, 0, (sent) => fed.push(sent));
  await feed.start();
  t.after(() => feed.close());

  // Another writer commits seqs 2-4 straight to the store: nothing publishes them on this bus.
  await store.transaction(async (tx) => {
    for (const n of [2, 3, 4]) {
      await insertEvent(tx, {
        topic: "lab.step",
        session_id: null,
        ts: new Date().toISOString(),
        data: `{"n":${n}}`,
      });
    }
  });
  await emit(5);
  await waitUntil(() => live.length === 4, 5000, `4 live events, got ${live.length}`);
  assert.deepEqual(
    live.map((received) => [received.seq, received.data.n]),
    [
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ],
    "the missing events first, from the log, then the one that exposed the gap",
  );
  assert.deepEqual(
    fed.map((sent) => sent.seq),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(gaps, [{ from: 2, to: 4, found: 3 }], "the gap is reported (Baton logs a warning)");
  assert.equal(log.bus.latestSeq, 5);
  await emit(6);
  assert.deepEqual(live.at(-1)?.seq, 6, "after the catch-up, own events flow at once again");
  assert.equal(gaps.length, 1);
});

test("a commit reported out of order fills its own gap: no read from the log", async () => {
  const reads: Array<[number, number]> = [];
  const bus = new EventBus(0, {
    readStored: async (after, upTo) => {
      reads.push([after, upTo]);
      return [];
    },
    gapWaitMs: 20,
  });
  const seen: number[] = [];
  bus.subscribe((received) => seen.push(received.seq));
  bus.publish([event(2)]);
  bus.publish([event(1)]);
  assert.deepEqual(seen, [1, 2]);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(reads, [], "the gap closed before the wait was over");
});

test("a seq the log no longer has (pruned meanwhile) is stepped over, never waited for", async () => {
  const bus = new EventBus(0, { readStored: async () => [event(2)], gapWaitMs: 1 });
  const seen: number[] = [];
  bus.subscribe((received) => seen.push(received.seq));
  bus.publish([event(3)]);
  await waitUntil(() => seen.length === 2, 5000, "the stalled event delivered");
  assert.deepEqual(seen, [2, 3]);
  bus.publish([event(4)]);
  assert.deepEqual(seen, [2, 3, 4]);
});
