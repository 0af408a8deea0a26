import type { AgentTokensTable, Executor, LoginsTable, Tx } from "./schema.ts";

export type AgentTokenRow = AgentTokensTable;

export type LoginRow = LoginsTable;

export async function insertLogin(db: Executor, row: LoginRow): Promise<void> {
  await db.insertInto("logins").values(row).execute();
}

/** The live login with this secret; expired ones are never returned. */
export async function selectLogin(
  db: Executor,
  secretSha256: string,
  kind: string,
  now: string,
): Promise<LoginRow | undefined> {
  return db
    .selectFrom("logins")
    .selectAll()
    .where("secret_sha256", "=", secretSha256)
    .where("kind", "=", kind)
    .where("expires_at", ">", now)
    .executeTakeFirst();
}

/** Deletes one login; resolves to whether it existed (a one-time code is spent by the first delete). */
export async function deleteLogin(db: Executor, secretSha256: string): Promise<boolean> {
  const result = await db.deleteFrom("logins").where("secret_sha256", "=", secretSha256).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function deleteExpiredLogins(db: Executor, now: string): Promise<void> {
  await db.deleteFrom("logins").where("expires_at", "<=", now).execute();
}

/** The session an agent token acts for, with what decides whether the token still works. */
export interface AgentTokenOwner {
  session_id: string;
  owner: string;
  status: string;
}

/** Replaces the session's token: a session has one live process, so it has one live token. */
export async function replaceAgentToken(tx: Tx, row: AgentTokenRow): Promise<void> {
  await tx.deleteFrom("agent_tokens").where("session_id", "=", row.session_id).execute();
  await tx.insertInto("agent_tokens").values(row).execute();
}

export async function deleteAgentTokens(db: Executor, sessionId: string): Promise<void> {
  await db.deleteFrom("agent_tokens").where("session_id", "=", sessionId).execute();
}

export async function selectAgentTokenOwner(
  db: Executor,
  tokenSha256: string,
): Promise<AgentTokenOwner | undefined> {
  return db
    .selectFrom("agent_tokens")
    .innerJoin("sessions", "sessions.id", "agent_tokens.session_id")
    .select(["agent_tokens.session_id", "sessions.owner", "sessions.status"])
    .where("agent_tokens.token_sha256", "=", tokenSha256)
    .executeTakeFirst();
}

/** Every session's owner and parent: what visibility checks walk (ids and two short strings per row). */
export async function selectSessionOwnership(
  db: Executor,
): Promise<{ id: string; owner: string; parent_session_id: string | null }[]> {
  return db.selectFrom("sessions").select(["id", "owner", "parent_session_id"]).execute();
}

export async function selectSessionOwnershipById(
  db: Executor,
  id: string,
): Promise<{ id: string; owner: string; parent_session_id: string | null } | undefined> {
  return db
    .selectFrom("sessions")
    .select(["id", "owner", "parent_session_id"])
    .where("id", "=", id)
    .executeTakeFirst();
}
