import type { Executor, IdempotencyKeysTable, SessionKeysTable, Tx } from "./schema.ts";

export type IdempotencyRow = IdempotencyKeysTable;

export type SessionKeyRow = SessionKeysTable;

export async function insertSessionKey(tx: Tx, row: SessionKeyRow): Promise<void> {
  await tx.insertInto("session_keys").values(row).execute();
}

export async function selectSessionKey(db: Executor, key: string): Promise<SessionKeyRow | undefined> {
  return db.selectFrom("session_keys").selectAll().where("key", "=", key).executeTakeFirst();
}

/** Frees the keys a session held (it was killed). */
export async function deleteSessionKeys(tx: Tx, sessionId: string): Promise<void> {
  await tx.deleteFrom("session_keys").where("session_id", "=", sessionId).execute();
}

export async function insertIdempotencyKey(tx: Tx, row: IdempotencyRow): Promise<void> {
  await tx.insertInto("idempotency_keys").values(row).execute();
}

export async function selectIdempotencyKey(
  db: Executor,
  scopedKey: string,
): Promise<IdempotencyRow | undefined> {
  return db.selectFrom("idempotency_keys").selectAll().where("scoped_key", "=", scopedKey).executeTakeFirst();
}

/** Forgets keys older than `before` (ISO): a retry is expected within hours, not days. */
export async function deleteIdempotencyKeysBefore(db: Executor, before: string): Promise<void> {
  await db.deleteFrom("idempotency_keys").where("created_at", "<", before).execute();
}
