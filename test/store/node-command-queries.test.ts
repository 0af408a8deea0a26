import assert from "node:assert/strict";
import { test } from "node:test";
import { insertMessage } from "../../src/store/message-queries.ts";
import {
  selectKilledAmong,
  selectLiveOwner,
  selectPendingDeliveries,
} from "../../src/store/node-command-queries.ts";
import { upsertNode } from "../../src/store/node-queries.ts";
import { insertSession } from "../../src/store/session-queries.ts";
import { BACKENDS, freshStore } from "../support/store-backends.ts";
import { at, messageRow, sessionRow } from "./contract-rows.ts";

/** Where cross-node commands go, and what a node's heartbeat catches up on (src/cluster), on both backends. */
for (const backend of BACKENDS) {
  test(`${backend.name}: a session's live owner, the sessions a node delivers pending messages to, killed rows among live runs`, {
    skip: backend.skip,
  }, async (t) => {
    const store = await freshStore(t, backend);
    const node = (id: string, leaseEnds: number) => ({
      id,
      url: `http://${id}`,
      started_at: at(0),
      last_seen_at: at(0),
      lease_expires_at: at(leaseEnds),
      live_sessions: 0,
    });
    await upsertNode(store.db, node("a", 100));
    await upsertNode(store.db, node("dead", 5));
    await store.transaction(async (tx) => {
      await insertSession(tx, sessionRow("ses_a", { status: "running", owner_node: "a" }));
      await insertSession(tx, sessionRow("ses_a_done", { status: "completed", owner_node: "a" }));
      await insertSession(tx, sessionRow("ses_a_queued", { status: "queued", owner_node: "a" }));
      await insertSession(tx, sessionRow("ses_a_killed", { status: "killed", owner_node: "a" }));
      await insertSession(tx, sessionRow("ses_dead", { status: "running", owner_node: "dead" }));
      await insertSession(tx, sessionRow("ses_none", { status: "completed", owner_node: null }));
      await insertSession(tx, sessionRow("ses_dead_done", { status: "completed", owner_node: "dead" }));
      await insertSession(tx, sessionRow("ses_gone_done", { status: "failed", owner_node: "vanished" }));
      const pending = (id: string, session: string, seq: number) =>
        insertMessage(tx, messageRow(id, { session_id: session, status: "pending", queued_seq: seq }));
      await pending("msg_1", "ses_a", 1);
      await pending("msg_2", "ses_a", 7);
      await pending("msg_3", "ses_a_done", 3);
      await pending("msg_4", "ses_a_queued", 4);
      await pending("msg_5", "ses_dead", 5);
      await pending("msg_7", "ses_dead_done", 10);
      await pending("msg_8", "ses_gone_done", 11);
      await insertMessage(
        tx,
        messageRow("msg_6", { session_id: "ses_a_done", status: "delivered", queued_seq: 9 }),
      );
    });

    assert.equal(await selectLiveOwner(store.db, "ses_a", at(10)), "a");
    assert.equal(await selectLiveOwner(store.db, "ses_dead", at(10)), undefined, "a dead owner is no owner");
    assert.equal(await selectLiveOwner(store.db, "ses_none", at(10)), undefined);
    assert.equal(await selectLiveOwner(store.db, "ses_missing", at(10)), undefined);

    const query = {
      node: "a",
      now: at(10),
      owned: ["running", "waiting", "completed", "failed"] as const,
      unowned: ["completed", "failed"] as const,
    };
    const pending = await selectPendingDeliveries(store.db, query);
    assert.deepEqual(
      pending.sort((x, y) => x.sessionId.localeCompare(y.sessionId)),
      [
        { sessionId: "ses_a", newest: 7 },
        { sessionId: "ses_a_done", newest: 3 },
        { sessionId: "ses_dead_done", newest: 10 },
        { sessionId: "ses_gone_done", newest: 11 },
      ],
      "a's working and finished sessions, and finished ones whose owner is dead or gone (a dead owner's " +
        "working session is adoption's, a queued one the queue's)",
    );
    assert.deepEqual((await selectKilledAmong(store.db, ["ses_a", "ses_a_killed", "ses_missing"])).sort(), [
      "ses_a_killed",
    ]);
    assert.deepEqual(await selectKilledAmong(store.db, []), []);
  });
}
