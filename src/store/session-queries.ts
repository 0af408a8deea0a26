import type { SessionStatus } from "../core/session-status-names.ts";
import type { Executor, SessionsTable, Tx } from "./schema.ts";
import { configHasWorkDir } from "./session-workdir-filter.ts";

export type SessionRow = SessionsTable;

export async function insertSession(tx: Tx, row: SessionRow): Promise<void> {
  await tx.insertInto("sessions").values(row).execute();
}

export async function updateSessionRow(
  tx: Executor,
  id: string,
  changes: Partial<SessionRow>,
): Promise<void> {
  await tx.updateTable("sessions").set(changes).where("id", "=", id).execute();
}

export async function selectSessionById(db: Executor, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The live session with this name, or else the newest session that ever had it. */
export async function selectSessionByName(db: Executor, name: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("name", "=", name)
    .orderBy((eb) => eb.case().when("status", "=", "killed").then(1).else(0).end())
    .orderBy("id", "desc")
    .executeTakeFirst();
}

export async function selectLiveSessionByName(db: Executor, name: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("name", "=", name)
    .where("status", "<>", "killed")
    .executeTakeFirst();
}

export interface SessionFilter {
  status?: SessionStatus[] | undefined;
  owner?: string | undefined;
  parentSessionId?: string | undefined;
  /** Exact `config.workDir` (see workDirFilter in session-workdir-filter.ts). */
  workDir?: string | undefined;
  /** Exclusive: sessions with an id before this one (ids sort by creation time). */
  before?: string | undefined;
  limit: number;
}

/** Newest first, so a dashboard's first page shows what just happened. */
export async function selectSessions(db: Executor, filter: SessionFilter): Promise<SessionRow[]> {
  let select = db.selectFrom("sessions").selectAll();
  if (filter.status && filter.status.length > 0) select = select.where("status", "in", filter.status);
  if (filter.owner) select = select.where("owner", "=", filter.owner);
  if (filter.parentSessionId) select = select.where("parent_session_id", "=", filter.parentSessionId);
  if (filter.workDir) select = select.where(configHasWorkDir(db, filter.workDir));
  if (filter.before) select = select.where("id", "<", filter.before);
  return select.orderBy("id", "desc").limit(filter.limit).execute();
}

/** Sessions waiting (a permission, a lock, a usage limit) whose turn another cluster node runs. */
export async function selectWaitingOwnedElsewhere(db: Executor, node: string): Promise<SessionRow[]> {
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("status", "=", "waiting")
    .where("owner_node", "is not", null)
    .where("owner_node", "<>", node)
    .orderBy("id")
    .execute();
}

/** Queued sessions in the order they will start: higher priority first, then first come. */
export async function selectQueue(db: Executor): Promise<SessionRow[]> {
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("status", "=", "queued")
    .orderBy("priority", "desc")
    .orderBy("id")
    .execute();
}

export async function countSessionsByStatus(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom("sessions")
    .select(["status", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy("status")
    .execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}

/** How many sessions are in `statuses` (the slot-holding ones), in total and per owner. */
export async function countSessionsInStatuses(
  db: Executor,
  statuses: readonly SessionStatus[],
): Promise<{ total: number; byOwner: Map<string, number> }> {
  const rows = await db
    .selectFrom("sessions")
    .select(["owner", (eb) => eb.fn.countAll<number>().as("count")])
    .where("status", "in", [...statuses])
    .groupBy("owner")
    .execute();
  const byOwner = new Map(rows.map((row) => [row.owner, Number(row.count)]));
  let total = 0;
  for (const count of byOwner.values()) total += count;
  return { total, byOwner };
}

/** Sessions in any of `statuses` (recovery reads the ones that were working). */
export async function selectSessionsInStatuses(
  db: Executor,
  statuses: readonly SessionStatus[],
): Promise<SessionRow[]> {
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("status", "in", [...statuses])
    .execute();
}

/** Ids of queued sessions that entered the queue before `cutoff` (a queued row changes only on leaving it). */
export async function selectQueuedSince(db: Executor, cutoff: string): Promise<string[]> {
  const rows = await db
    .selectFrom("sessions")
    .select("id")
    .where("status", "=", "queued")
    .where("updated_at", "<", cutoff)
    .execute();
  return rows.map((row) => row.id);
}

/** The direct children of any of `parentIds`. */
export async function selectChildrenOf(db: Executor, parentIds: readonly string[]): Promise<SessionRow[]> {
  if (parentIds.length === 0) return [];
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("parent_session_id", "in", [...parentIds])
    .execute();
}
