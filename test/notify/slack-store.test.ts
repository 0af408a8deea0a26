import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  deleteSlackInboundBefore,
  insertSlackInbound,
  markSlackInboundHandled,
  type SlackInboundRow,
  selectPendingSlackInbound,
} from "../../src/store/slack-queries.ts";
import { BACKENDS, freshStore } from "../support/store-backends.ts";

function row(
  messageKey: string,
  receivedAt: string,
  changes: Partial<SlackInboundRow> = {},
): SlackInboundRow {
  const [channel = "", ts = ""] = messageKey.split(":");
  return {
    message_key: messageKey,
    event_id: `Ev${ts}`,
    channel,
    thread_ts: null,
    user_id: "U0ALICE",
    text: `text of ${ts}`,
    received_at: receivedAt,
    handled_at: null,
    ...changes,
  };
}

for (const backend of BACKENDS) {
  describe(`slack inbox store: ${backend.name}`, { skip: backend.skip }, () => {
    test("one row per message: a retry or a twin event is not stored again", async (t) => {
      const store = await freshStore(t, backend);
      assert.equal(await insertSlackInbound(store.db, row("C1:100.1", "2030-01-01T00:00:00.000Z")), true);
      const twin = row("C1:100.1", "2030-01-01T00:00:01.000Z", { event_id: "EvOther", text: "changed" });
      assert.equal(await insertSlackInbound(store.db, twin), false);
      const pending = await selectPendingSlackInbound(store.db, 10);
      assert.deepEqual(
        pending.map((r) => [r.message_key, r.event_id, r.text]),
        [["C1:100.1", "Ev100.1", "text of 100.1"]],
      );
    });

    test("pending rows come in arrival order; handled ones leave the queue and are pruned only when old", async (t) => {
      const store = await freshStore(t, backend);
      await insertSlackInbound(store.db, row("C1:300.1", "2030-01-01T00:00:02.000Z"));
      await insertSlackInbound(store.db, row("C2:200.1", "2030-01-01T00:00:01.000Z", { thread_ts: "150.1" }));
      await insertSlackInbound(store.db, row("C1:100.1", "2030-01-01T00:00:03.000Z"));
      const keys = async () => (await selectPendingSlackInbound(store.db, 10)).map((r) => r.message_key);
      assert.deepEqual(await keys(), ["C2:200.1", "C1:300.1", "C1:100.1"]);
      assert.equal((await selectPendingSlackInbound(store.db, 1)).length, 1);

      await markSlackInboundHandled(store.db, "C2:200.1", "2030-01-01T00:00:05.000Z");
      assert.deepEqual(await keys(), ["C1:300.1", "C1:100.1"]);
      await deleteSlackInboundBefore(store.db, "2030-01-02T00:00:00.000Z");
      // The handled row is gone (a retry now would be new); pending rows stay however old they are.
      assert.equal(await insertSlackInbound(store.db, row("C2:200.1", "2030-01-02T00:00:00.000Z")), true);
      assert.deepEqual(await keys(), ["C1:300.1", "C1:100.1", "C2:200.1"]);
    });
  });
}
