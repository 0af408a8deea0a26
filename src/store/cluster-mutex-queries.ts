import { sql } from "kysely";
import type { Store } from "./open-store.ts";

/**
 * Runs `task` while holding the cluster-wide mutex `name`: on PostgreSQL a transaction-scoped advisory lock
 * in a transaction of its own (released when it ends, or when its connection dies with its node), so a
 * check-then-write that several nodes run (may this lock be granted?) happens on one node at a time. The
 * task's own writes go through other connections and commit before the mutex is let go. SQLite has one
 * process per database: nothing to take.
 *
 * Not `store.transaction`: that one takes the writers' row lock, which the task's own writes need.
 */
export async function withClusterMutex<T>(store: Store, name: string, task: () => Promise<T>): Promise<T> {
  if (store.dialect !== "postgres") return task();
  return store.db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(tx);
    return task();
  });
}
