import type { Executor, LocksTable } from "./schema.ts";

export type LockRow = LocksTable;

/** A lock with what the holder looks like now: a lock whose holder is no longer working is stale. */
export interface HeldLockRow extends LockRow {
  holder_name: string | null;
  holder_status: string | null;
}

export async function insertLock(tx: Executor, row: LockRow): Promise<void> {
  await tx.insertInto("locks").values(row).execute();
}

export async function selectHeldLocks(db: Executor): Promise<HeldLockRow[]> {
  return db
    .selectFrom("locks")
    .leftJoin("sessions", "sessions.id", "locks.session_id")
    .select([
      "locks.resource",
      "locks.session_id",
      "locks.kind",
      "locks.reason",
      "locks.acquired_at",
      "sessions.name as holder_name",
      "sessions.status as holder_status",
    ])
    .orderBy("locks.acquired_at")
    .orderBy("locks.resource")
    .execute();
}

export async function deleteLock(tx: Executor, resource: string): Promise<void> {
  await tx.deleteFrom("locks").where("resource", "=", resource).execute();
}

export async function updateLock(tx: Executor, resource: string, changes: Partial<LockRow>): Promise<void> {
  await tx.updateTable("locks").set(changes).where("resource", "=", resource).execute();
}
