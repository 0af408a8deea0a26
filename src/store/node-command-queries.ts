import { sql } from "kysely";
import type { SessionStatus } from "../core/session-status-names.ts";
import type { Executor } from "./schema.ts";

/**
 * Commands between the nodes of a cluster on PostgreSQL (src/cluster/cluster-mailbox.ts): one channel, the
 * target node named in the payload, every node listening. The payload is only a nudge to act on rows already
 * committed; a node that missed one catches up from these tables on its next heartbeat.
 */
export const NODE_COMMAND_CHANNEL = "baton_node_commands";

/** Sent at once (outside any transaction): callers notify only after their own writes committed. */
export async function notifyNodeCommand(db: Executor, payload: string): Promise<void> {
  await sql`select pg_notify(${NODE_COMMAND_CHANNEL}, ${payload})`.execute(db);
}

/** The node that owns the session, if its lease is live at `now`. */
export async function selectLiveOwner(
  db: Executor,
  sessionId: string,
  now: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom("sessions")
    .innerJoin("nodes", "nodes.id", "sessions.owner_node")
    .select("nodes.id")
    .where("sessions.id", "=", sessionId)
    .where("nodes.lease_expires_at", ">=", now)
    .executeTakeFirst();
  return row?.id;
}

export interface PendingDeliveryQuery {
  /** The node asking. */
  node: string;
  /** ISO instant: a lease that expired before it is dead. */
  now: string;
  /** Statuses in which this node delivers to the sessions it owns. */
  owned: readonly SessionStatus[];
  /** Statuses in which it delivers to sessions no live node owns (between turns: no process anywhere). */
  unowned: readonly SessionStatus[];
}

/**
 * Sessions with messages still pending that `node` should deliver: its own, and those between turns whose
 * owner is dead or gone (a message accepted just before its owner died), each with the queued seq of its
 * newest pending message: the heartbeat dispatches each once per newest message, so a session that cannot
 * take its messages now is not retried on every beat.
 */
export async function selectPendingDeliveries(
  db: Executor,
  query: PendingDeliveryQuery,
): Promise<Array<{ sessionId: string; newest: number }>> {
  const rows = await db
    .selectFrom("messages")
    .innerJoin("sessions", "sessions.id", "messages.session_id")
    .leftJoin("nodes", "nodes.id", "sessions.owner_node")
    .select((eb) => ["messages.session_id", eb.fn.max("messages.queued_seq").as("newest")])
    .where("messages.status", "=", "pending")
    .where((eb) =>
      eb.or([
        eb.and([eb("sessions.owner_node", "=", query.node), eb("sessions.status", "in", [...query.owned])]),
        eb.and([
          eb("sessions.status", "in", [...query.unowned]),
          eb.or([
            eb("sessions.owner_node", "is", null),
            eb("nodes.id", "is", null),
            eb("nodes.lease_expires_at", "<", query.now),
          ]),
        ]),
      ]),
    )
    .groupBy("messages.session_id")
    .execute();
  return rows.map((row) => ({ sessionId: row.session_id, newest: Number(row.newest) }));
}

/** Of these sessions, the ones whose row says killed (their process here must go). */
export async function selectKilledAmong(db: Executor, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("sessions")
    .select("id")
    .where("id", "in", [...ids])
    .where("status", "=", "killed")
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Records that the current turn of a session is to be interrupted (read back by the owner's catch-up), if
 * it still has one: a turn that ended meanwhile must not leave a request for the next.
 */
export async function markInterruptRequested(
  db: Executor,
  sessionId: string,
  at: string,
  working: readonly SessionStatus[],
): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ interrupt_requested_at: at })
    .where("id", "=", sessionId)
    .where("status", "in", [...working])
    .execute();
}

/** Which of `ids` (the sessions a node runs) have an interrupt asked for that their turn has not ended by. */
export async function selectInterruptRequestedAmong(db: Executor, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("sessions")
    .select("id")
    .where("id", "in", [...ids])
    .where("interrupt_requested_at", "is not", null)
    .execute();
  return rows.map((row) => row.id);
}
