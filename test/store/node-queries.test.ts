import assert from "node:assert/strict";
import { test } from "node:test";
import {
  claimOrphanSessions,
  deleteDeadNodes,
  selectNodes,
  upsertNode,
} from "../../src/store/node-queries.ts";
import { insertSession } from "../../src/store/session-queries.ts";
import { BACKENDS, freshStore } from "../support/store-backends.ts";
import { at, sessionRow } from "./contract-rows.ts";

/** Who may adopt what in a cluster (src/cluster), the same on both backends. */
for (const backend of BACKENDS) {
  test(`${backend.name}: orphan claims take dead, missing and unowned owners' working sessions, never a live node's`, {
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
    await upsertNode(store.db, node("live", 100));
    await upsertNode(store.db, node("dead", 5));
    await upsertNode(store.db, node("me", 100));
    await store.transaction(async (tx) => {
      const running = { status: "running" as const, lease_epoch: 3 };
      await insertSession(tx, sessionRow("ses_live", { ...running, owner_node: "live" }));
      await insertSession(tx, sessionRow("ses_dead", { ...running, owner_node: "dead" }));
      await insertSession(tx, sessionRow("ses_gone", { ...running, owner_node: "vanished" }));
      await insertSession(tx, sessionRow("ses_none", { status: "waiting", owner_node: null }));
      await insertSession(tx, sessionRow("ses_mine", { ...running, owner_node: "me" }));
      await insertSession(tx, sessionRow("ses_done", { status: "completed", owner_node: "dead" }));
    });
    const query = { node: "me", now: at(10), statuses: ["running", "waiting"] as const, includeOwn: false };

    const claimed = await store.transaction((tx) => claimOrphanSessions(tx, query, store.dialect));
    assert.deepEqual(
      claimed.map((row) => [row.id, row.owner_node, row.lease_epoch]),
      [
        ["ses_dead", "me", 4],
        ["ses_gone", "me", 4],
        ["ses_none", "me", 1],
      ],
    );
    const again = await store.transaction((tx) => claimOrphanSessions(tx, query, store.dialect));
    assert.deepEqual(again, [], "claimed once");
    const atStart = { ...query, includeOwn: true };
    const own = await store.transaction((tx) => claimOrphanSessions(tx, atStart, store.dialect));
    assert.deepEqual(
      own.map((row) => row.id),
      ["ses_dead", "ses_gone", "ses_mine", "ses_none"],
      "at start-up a node takes back its own (the live node's stays)",
    );

    // "dead" owns a completed session only: forgotten; the live nodes stay.
    await deleteDeadNodes(store.db, at(10), ["running", "waiting"]);
    assert.deepEqual((await selectNodes(store.db)).map((row) => row.id).sort(), ["live", "me"]);
  });
}
