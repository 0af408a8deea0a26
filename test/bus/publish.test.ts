import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";

test("concurrent publishes share commits but each gets its own stored, gap-free event", async (t) => {
  const h = await startHarness(t);
  const acknowledged = await Promise.all(
    Array.from({ length: 300 }, (_, index) => h.client.publish("lab.sample", { index })),
  );
  const seqs = acknowledged.map((event) => event.seq).sort((a, b) => a - b);
  assert.deepEqual(
    seqs,
    Array.from({ length: 300 }, (_, index) => index + 1),
    "seq 1..300, no gap, no repeat",
  );
  const { events } = await h.client.events({ topics: ["lab.sample"], limit: 1000 });
  assert.equal(events.length, 300, "every acknowledged event is stored");
  const stored = new Map(events.map((event) => [event.seq, event.data.index]));
  for (const event of acknowledged)
    assert.equal(stored.get(event.seq), event.data.index, "the ack names the stored event");
});
