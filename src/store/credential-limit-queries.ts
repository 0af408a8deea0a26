import type { CredentialLimitsTable, Executor, ParkedSessionsTable } from "./schema.ts";

export type CredentialLimitRow = CredentialLimitsTable;
export type ParkedSessionRow = ParkedSessionsTable;

export async function selectCredentialLimits(db: Executor): Promise<CredentialLimitRow[]> {
  return db.selectFrom("credential_limits").selectAll().execute();
}

export async function selectCredentialLimit(
  db: Executor,
  credential: string,
): Promise<CredentialLimitRow | undefined> {
  return db
    .selectFrom("credential_limits")
    .selectAll()
    .where("credential", "=", credential)
    .executeTakeFirst();
}

/** Records (or extends) a credential's limit. */
export async function upsertCredentialLimit(tx: Executor, row: CredentialLimitRow): Promise<void> {
  const { credential, ...rest } = row;
  await tx
    .insertInto("credential_limits")
    .values(row)
    .onConflict((conflict) => conflict.column("credential").doUpdateSet(rest))
    .execute();
}

export async function deleteCredentialLimit(tx: Executor, credential: string): Promise<void> {
  await tx.deleteFrom("credential_limits").where("credential", "=", credential).execute();
}

export async function insertParkedSession(tx: Executor, row: ParkedSessionRow): Promise<void> {
  const { session_id, ...rest } = row;
  await tx
    .insertInto("parked_sessions")
    .values(row)
    .onConflict((conflict) => conflict.column("session_id").doUpdateSet(rest))
    .execute();
}

export async function deleteParkedSession(tx: Executor, sessionId: string): Promise<void> {
  await tx.deleteFrom("parked_sessions").where("session_id", "=", sessionId).execute();
}

export async function selectParkedSession(
  db: Executor,
  sessionId: string,
): Promise<ParkedSessionRow | undefined> {
  return db.selectFrom("parked_sessions").selectAll().where("session_id", "=", sessionId).executeTakeFirst();
}

export async function selectParkedSessionsOf(
  db: Executor,
  sessionIds: readonly string[],
): Promise<ParkedSessionRow[]> {
  if (sessionIds.length === 0) return [];
  return db
    .selectFrom("parked_sessions")
    .selectAll()
    .where("session_id", "in", [...sessionIds])
    .execute();
}

/** Every parked session, oldest park first (the order they resume in). */
export async function selectAllParkedSessions(db: Executor): Promise<ParkedSessionRow[]> {
  return db.selectFrom("parked_sessions").selectAll().orderBy("since").orderBy("session_id").execute();
}

/** Queued sessions' queue timeout counts from now: time spent waiting for a limit to reset is not theirs. */
export async function restartQueueClocks(tx: Executor): Promise<void> {
  await tx
    .updateTable("sessions")
    .set({ updated_at: new Date().toISOString() })
    .where("status", "=", "queued")
    .execute();
}
