import type { Executor, WaitsTable } from "./schema.ts";

export type WaitRow = WaitsTable;

export async function insertWait(tx: Executor, row: WaitRow): Promise<void> {
  await tx.insertInto("waits").values(row).execute();
}

export async function selectActiveWaitsOn(db: Executor, targetSessionId: string): Promise<WaitRow[]> {
  return db
    .selectFrom("waits")
    .selectAll()
    .where("target_session_id", "=", targetSessionId)
    .where("status", "=", "active")
    .orderBy("created_at")
    .execute();
}

export async function selectExpiredWaits(db: Executor, now: string): Promise<WaitRow[]> {
  return db
    .selectFrom("waits")
    .selectAll()
    .where("status", "=", "active")
    .where("deadline", "<=", now)
    .execute();
}

export async function settleWait(
  tx: Executor,
  id: string,
  status: "fired" | "expired",
  at: string,
): Promise<void> {
  await tx
    .updateTable("waits")
    .set({ status, settled_at: at })
    .where("id", "=", id)
    .where("status", "=", "active")
    .execute();
}
