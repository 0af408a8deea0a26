import type { Executor, PermissionRequestsTable, Tx } from "./schema.ts";

export type PermissionRow = PermissionRequestsTable;

export async function insertPermission(tx: Tx, row: PermissionRow): Promise<void> {
  await tx.insertInto("permission_requests").values(row).execute();
}

export async function updatePermission(
  tx: Executor,
  id: string,
  changes: Partial<PermissionRow>,
): Promise<void> {
  await tx.updateTable("permission_requests").set(changes).where("id", "=", id).execute();
}

export async function selectPermission(db: Executor, id: string): Promise<PermissionRow | undefined> {
  return db.selectFrom("permission_requests").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function selectPermissions(
  db: Executor,
  filter: { status?: string | undefined; sessionId?: string | undefined; limit: number },
): Promise<PermissionRow[]> {
  let select = db.selectFrom("permission_requests").selectAll();
  if (filter.status) select = select.where("status", "=", filter.status);
  if (filter.sessionId) select = select.where("session_id", "=", filter.sessionId);
  return select.orderBy("created_at").orderBy("id").limit(filter.limit).execute();
}

/**
 * A request for the same tool call that is still pending or was answered but never handed to a waiting
 * call (both happen across a Baton restart): the resumed agent's identical ask reuses it.
 */
export async function selectReusablePermission(
  db: Executor,
  sessionId: string,
  toolName: string,
  input: string,
): Promise<PermissionRow | undefined> {
  return db
    .selectFrom("permission_requests")
    .selectAll()
    .where("session_id", "=", sessionId)
    .where("tool_name", "=", toolName)
    .where("input", "=", input)
    .where("consumed", "=", 0)
    .where("status", "in", ["pending", "allowed", "denied"])
    .orderBy("created_at", "desc")
    .executeTakeFirst();
}

export async function countPendingPermissions(db: Executor, sessionId: string): Promise<number> {
  const row = await db
    .selectFrom("permission_requests")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("session_id", "=", sessionId)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/** Pending requests of these sessions, oldest first (what `waitingOn` reports). */
export async function selectPendingPermissionsOf(
  db: Executor,
  sessionIds: readonly string[],
): Promise<PermissionRow[]> {
  if (sessionIds.length === 0) return [];
  return db
    .selectFrom("permission_requests")
    .selectAll()
    .where("session_id", "in", [...sessionIds])
    .where("status", "=", "pending")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}
