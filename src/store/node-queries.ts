import type { SessionStatus } from "../core/session-status-names.ts";
import type { Executor, NodesTable, Tx } from "./schema.ts";
import type { SessionRow } from "./session-queries.ts";

export type NodeRow = NodesTable;

/** A heartbeat's row: a node that does not report its free memory (migration 016) stores null. */
export type NodeBeat = Omit<NodeRow, "free_memory_mb"> & { free_memory_mb?: number | null };

/** Registers a node or renews its lease (the heartbeat); `started_at` stays what the first beat wrote. */
export async function upsertNode(db: Executor, beat: NodeBeat): Promise<void> {
  const row: NodeRow = { ...beat, free_memory_mb: beat.free_memory_mb ?? null };
  await db
    .insertInto("nodes")
    .values(row)
    .onConflict((conflict) =>
      conflict.column("id").doUpdateSet({
        url: row.url,
        last_seen_at: row.last_seen_at,
        lease_expires_at: row.lease_expires_at,
        live_sessions: row.live_sessions,
        free_memory_mb: row.free_memory_mb,
      }),
    )
    .execute();
}

export async function deleteNode(db: Executor, id: string): Promise<void> {
  await db.deleteFrom("nodes").where("id", "=", id).execute();
}

export async function selectNodes(db: Executor): Promise<NodeRow[]> {
  return db.selectFrom("nodes").selectAll().orderBy("started_at").orderBy("id").execute();
}

export interface OrphanQuery {
  /** The node claiming. */
  node: string;
  /** ISO instant: a lease that expired before it is dead. */
  now: string;
  statuses: readonly SessionStatus[];
  /** At start-up a node takes back what it owned before (same node id); a heartbeat does not. */
  includeOwn: boolean;
}

/**
 * Takes over the sessions in `statuses` that no live node owns: owned by nobody (rows from before the
 * cluster), by a node whose lease expired or whose row is gone, or (at start-up) by this node. Each moves to
 * `node` with its epoch raised by one, so the old owner's writes are fenced off. `SKIP LOCKED` (PostgreSQL):
 * two nodes adopting at once each take different rows instead of waiting on each other.
 */
export async function claimOrphanSessions(
  tx: Tx,
  query: OrphanQuery,
  dialect: "sqlite" | "postgres",
): Promise<SessionRow[]> {
  let select = tx
    .selectFrom("sessions")
    .leftJoin("nodes", "nodes.id", "sessions.owner_node")
    .select("sessions.id")
    .where("sessions.status", "in", [...query.statuses])
    .where((eb) =>
      eb.or([
        eb("sessions.owner_node", "is", null),
        eb("nodes.id", "is", null),
        eb("nodes.lease_expires_at", "<", query.now),
        ...(query.includeOwn ? [eb("sessions.owner_node", "=", query.node)] : []),
      ]),
    );
  if (!query.includeOwn)
    select = select.where((eb) =>
      eb.or([eb("sessions.owner_node", "is", null), eb("sessions.owner_node", "<>", query.node)]),
    );
  if (dialect === "postgres") select = select.forUpdate("sessions").skipLocked();
  const ids = (await select.execute()).map((row) => row.id);
  if (ids.length === 0) return [];
  await tx
    .updateTable("sessions")
    .set((eb) => ({ owner_node: query.node, lease_epoch: eb("lease_epoch", "+", 1) }))
    .where("id", "in", ids)
    .execute();
  return tx.selectFrom("sessions").selectAll().where("id", "in", ids).orderBy("id").execute();
}

/** Who owns these sessions now, at which epoch (a node checks the sessions it runs against it). */
export async function selectOwnership(
  db: Executor,
  ids: readonly string[],
): Promise<Pick<SessionRow, "id" | "owner_node" | "lease_epoch">[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom("sessions")
    .select(["id", "owner_node", "lease_epoch"])
    .where("id", "in", [...ids])
    .execute();
}

/** Forgets nodes whose lease expired and that own no session in `statuses` any more (all adopted). */
export async function deleteDeadNodes(
  db: Executor,
  now: string,
  statuses: readonly SessionStatus[],
): Promise<void> {
  await db
    .deleteFrom("nodes")
    .where("lease_expires_at", "<", now)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("sessions")
            .select("sessions.id")
            .whereRef("sessions.owner_node", "=", "nodes.id")
            .where("sessions.status", "in", [...statuses]),
        ),
      ),
    )
    .execute();
}
