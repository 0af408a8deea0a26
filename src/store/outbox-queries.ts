import type { Executor, OutboxAttemptsTable, OutboxTable } from "./schema.ts";

export type DeliveryRow = OutboxTable;
export type AttemptRow = OutboxAttemptsTable;

const CURSOR = "notify_cursor";

/** Inserts a delivery unless one already exists for the same event and endpoint; true when inserted. */
export async function insertDelivery(tx: Executor, row: DeliveryRow): Promise<boolean> {
  const result = await tx
    .insertInto("outbox")
    .values(row)
    .onConflict((conflict) => conflict.columns(["event_seq", "endpoint"]).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Pending deliveries whose time has come, oldest due first. */
export async function selectDueDeliveries(db: Executor, now: string, limit: number): Promise<DeliveryRow[]> {
  return db
    .selectFrom("outbox")
    .selectAll()
    .where("status", "=", "pending")
    .where("next_attempt_at", "<=", now)
    .orderBy("next_attempt_at")
    .orderBy("id")
    .limit(limit)
    .execute();
}

/**
 * Claims a due delivery for one attempt: counts the attempt and pushes `next_attempt_at` to the end of a
 * lease, so a crash mid-send makes it due again once the lease runs out instead of losing it. Returns
 * false when someone else changed the row first.
 */
export async function claimDelivery(db: Executor, row: DeliveryRow, leaseUntil: string): Promise<boolean> {
  const result = await db
    .updateTable("outbox")
    .set({ attempts: row.attempts + 1, next_attempt_at: leaseUntil, updated_at: new Date().toISOString() })
    .where("id", "=", row.id)
    .where("status", "=", "pending")
    .where("next_attempt_at", "=", row.next_attempt_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function updateDelivery(db: Executor, id: string, changes: Partial<DeliveryRow>): Promise<void> {
  await db
    .updateTable("outbox")
    .set({ ...changes, updated_at: new Date().toISOString() })
    .where("id", "=", id)
    .execute();
}

export async function insertAttempt(tx: Executor, row: AttemptRow): Promise<void> {
  await tx
    .insertInto("outbox_attempts")
    .values(row)
    .onConflict((conflict) => conflict.columns(["delivery_id", "attempt"]).doNothing())
    .execute();
}

/** The earliest time any pending delivery becomes due, for the worker's next wake-up. */
export async function selectNextDueAt(db: Executor): Promise<string | undefined> {
  const row = await db
    .selectFrom("outbox")
    .select((eb) => eb.fn.min("next_attempt_at").as("next"))
    .where("status", "=", "pending")
    .executeTakeFirst();
  return row?.next ?? undefined;
}

export async function selectDeliveries(
  db: Executor,
  filter: { sessionId?: string; channel?: string; target?: string } = {},
): Promise<DeliveryRow[]> {
  let select = db.selectFrom("outbox").selectAll();
  if (filter.sessionId) select = select.where("session_id", "=", filter.sessionId);
  if (filter.channel) select = select.where("channel", "=", filter.channel);
  if (filter.target) select = select.where("target", "=", filter.target);
  return select.orderBy("created_at").orderBy("id").execute();
}

export async function selectDeliveryById(db: Executor, id: string): Promise<DeliveryRow | undefined> {
  return db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function selectAttempts(db: Executor, deliveryId: string): Promise<AttemptRow[]> {
  return db
    .selectFrom("outbox_attempts")
    .selectAll()
    .where("delivery_id", "=", deliveryId)
    .orderBy("attempt")
    .execute();
}

export async function insertDisabledEndpoint(tx: Executor, url: string, reason: string): Promise<void> {
  await tx
    .insertInto("disabled_endpoints")
    .values({ url, reason, disabled_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.column("url").doNothing())
    .execute();
}

export async function selectDisabledEndpoint(
  db: Executor,
  url: string,
): Promise<{ url: string; disabled_at: string; reason: string } | undefined> {
  return db.selectFrom("disabled_endpoints").selectAll().where("url", "=", url).executeTakeFirst();
}

/** The seq of the last event the dispatcher turned into deliveries (created by migration 002). */
export async function selectNotifyCursor(db: Executor): Promise<number> {
  const row = await db.selectFrom("counters").select("value").where("name", "=", CURSOR).executeTakeFirst();
  return Number(row?.value ?? 0);
}

/** Moves the cursor forward only: a late writer can never rewind it. */
export async function advanceNotifyCursor(tx: Executor, seq: number): Promise<void> {
  await tx
    .updateTable("counters")
    .set({ value: seq })
    .where("name", "=", CURSOR)
    .where("value", "<", seq)
    .execute();
}

/** Sets the cursor anywhere (tests replaying the log, operators re-sending after an outage). */
export async function setNotifyCursor(tx: Executor, seq: number): Promise<void> {
  await tx.updateTable("counters").set({ value: seq }).where("name", "=", CURSOR).execute();
}

/** Deliveries not yet delivered nor given up on (the `baton_outbox_pending` gauge). */
export async function countPendingDeliveries(db: Executor): Promise<number> {
  const row = await db
    .selectFrom("outbox")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("status", "=", "pending")
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}
