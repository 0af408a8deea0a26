import type { Executor } from "./schema.ts";

/** A transcript: the main conversation has subpath '' (the SDK leaves it undefined). */
export interface TranscriptKeyRow {
  project_key: string;
  session_id: string;
  subpath: string;
}

export interface TranscriptLine {
  uuid: string | null;
  /** The line as JSON. */
  entry: string;
}

/**
 * Rows per INSERT: a statement binds 6 values a row, and SQLite (32,766) and PostgreSQL (65,535) cap the
 * values of one statement; the SDK's own import sends batches of 500.
 */
export const ROWS_PER_INSERT = 500;

/**
 * Appends lines in their order. A line whose `uuid` the transcript already holds is skipped (a retried or
 * replayed batch), lines without one are always added. Callers run it in a transaction when it may take
 * more than one statement.
 */
export async function insertTranscriptLines(
  db: Executor,
  key: TranscriptKeyRow,
  lines: readonly TranscriptLine[],
  appendedAt: string,
): Promise<void> {
  for (let start = 0; start < lines.length; start += ROWS_PER_INSERT) {
    const rows = lines
      .slice(start, start + ROWS_PER_INSERT)
      .map((line) => ({ ...key, uuid: line.uuid, entry: line.entry, appended_at: appendedAt }));
    await db
      .insertInto("transcript_entries")
      .values(rows)
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  }
}

/** The lines of one transcript in append order (none: never written, or deleted). */
export async function selectTranscriptLines(db: Executor, key: TranscriptKeyRow): Promise<string[]> {
  const rows = await db
    .selectFrom("transcript_entries")
    .select("entry")
    .where("project_key", "=", key.project_key)
    .where("session_id", "=", key.session_id)
    .where("subpath", "=", key.subpath)
    .orderBy("id")
    .execute();
  return rows.map((row) => row.entry);
}

/** Whether any transcript line of this session id is stored (any project, any subpath). */
export async function hasTranscriptLines(db: Executor, sessionId: string): Promise<boolean> {
  const row = await db
    .selectFrom("transcript_entries")
    .select("id")
    .where("session_id", "=", sessionId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The main transcripts of a project, each with the time of its latest append (ISO). */
export async function selectTranscriptSessions(
  db: Executor,
  projectKey: string,
): Promise<{ session_id: string; appended_at: string }[]> {
  return db
    .selectFrom("transcript_entries")
    .select((eb) => ["session_id", eb.fn.max("appended_at").as("appended_at")])
    .where("project_key", "=", projectKey)
    .where("subpath", "=", "")
    .groupBy("session_id")
    .execute();
}

/** The subpaths (subagent transcripts) of one session, the main transcript excluded. */
export async function selectTranscriptSubpaths(
  db: Executor,
  key: Omit<TranscriptKeyRow, "subpath">,
): Promise<string[]> {
  const rows = await db
    .selectFrom("transcript_entries")
    .select("subpath")
    .distinct()
    .where("project_key", "=", key.project_key)
    .where("session_id", "=", key.session_id)
    .where("subpath", "<>", "")
    .orderBy("subpath")
    .execute();
  return rows.map((row) => row.subpath);
}

/** Deletes one transcript, or with no subpath the session's main transcript and all of its subpaths. */
export async function deleteTranscript(
  db: Executor,
  key: Omit<TranscriptKeyRow, "subpath"> & { subpath: string | undefined },
): Promise<void> {
  let query = db
    .deleteFrom("transcript_entries")
    .where("project_key", "=", key.project_key)
    .where("session_id", "=", key.session_id);
  if (key.subpath !== undefined) query = query.where("subpath", "=", key.subpath);
  await query.execute();
}

/** The node that owns the session whose agent conversation is `agentSessionId` (null: none, or no row). */
export async function selectConversationOwner(db: Executor, agentSessionId: string): Promise<string | null> {
  const row = await db
    .selectFrom("sessions")
    .select("owner_node")
    .where("agent_session_id", "=", agentSessionId)
    .executeTakeFirst();
  return row?.owner_node ?? null;
}
