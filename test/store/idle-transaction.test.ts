import assert from "node:assert/strict";
import { test } from "node:test";
import { openStore } from "../../src/store/open-store.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";

/**
 * A node frozen inside a write transaction (a paused VM or process) holds the writers' row lock that every
 * PostgreSQL write of the cluster takes first. PostgreSQL ends such a transaction after Baton's idle
 * timeout, so the other nodes' writes (adoption among them) go on; the frozen node, once it runs again,
 * finds that transaction failed and writes again on a fresh connection. (The partition test once saw B
 * blocked for a minute by an A stopped mid-transaction, before this timeout existed.)
 */
const skip = await postgresSkipReason();
const TIMEOUT_MS = 500;

test("a transaction whose node froze inside it is ended by PostgreSQL, and the other nodes' writes go on", {
  skip,
}, async (t) => {
  const database = await createTestDatabase();
  const frozen = await openStore(database.url, { idleTransactionTimeoutMs: TIMEOUT_MS });
  const other = await openStore(database.url, { idleTransactionTimeoutMs: TIMEOUT_MS });
  t.after(async () => {
    await frozen.close();
    await other.close();
    await database.drop();
  });
  const holding = Promise.withResolvers<void>();
  const thaw = Promise.withResolvers<void>();
  // Inside store.transaction the writers' lock is taken first; then the "node" stops between statements.
  const stuck = frozen.transaction(async (tx) => {
    holding.resolve();
    await thaw.promise;
    await tx.selectFrom("counters").select("value").execute();
  });
  stuck.catch(() => undefined);
  await holding.promise;

  const startedAt = Date.now();
  const read = await other.transaction((tx) =>
    tx.selectFrom("counters").select("value").where("name", "=", "event_seq").executeTakeFirst(),
  );
  const waited = Date.now() - startedAt;
  assert.ok(read, "the other node's write transaction ran");
  assert.ok(waited >= TIMEOUT_MS - 100, `it waited for the frozen node's lock first (${waited} ms)`);
  t.diagnostic(`the other node's write waited ${waited} ms (idle timeout ${TIMEOUT_MS} ms)`);

  thaw.resolve();
  await assert.rejects(stuck, "the frozen node's transaction did not commit");
  const again = await frozen.transaction((tx) => tx.selectFrom("counters").select("value").execute());
  assert.ok(again.length > 0, "the node that woke writes again on a fresh connection");
});
