import { sql } from "kysely";
import type { Tx } from "./schema.ts";

/** One advisory lock key for the whole cluster's slots ("batonslt" in ASCII, as a 64-bit key). */
const SLOTS_LOCK_KEY = "7089075310401121396";

/**
 * Takes the cluster-wide slot lock for the rest of `tx` (PostgreSQL, released at commit or rollback), so
 * the count of slot-holding sessions a node reads next and the status write that claims a slot cannot
 * interleave with another node's: two nodes can never both see the last free slot, nor both move the same
 * queued session to running (the status read before a write is not a row lock; without this, both drains
 * would start it, found by test/cluster/cluster-property.test.ts). SQLite has one node and
 * one writer (and the scheduler's own mutex): nothing to take.
 */
export async function lockSlots(tx: Tx, dialect: "sqlite" | "postgres"): Promise<void> {
  if (dialect !== "postgres") return;
  await sql`select pg_advisory_xact_lock(${SLOTS_LOCK_KEY}::bigint)`.execute(tx);
}
