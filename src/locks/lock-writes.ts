import type { EventLog } from "../events/event-log.ts";
import type { NodeMailbox } from "../sessions/node-mailbox.ts";
import { isWorking } from "../sessions/session-status.ts";
import {
  deleteLock,
  type HeldLockRow,
  insertLock,
  selectHeldLocks,
  updateLock,
} from "../store/lock-queries.ts";
import type { Store } from "../store/open-store.ts";
import { selectSessionById } from "../store/session-queries.ts";
import { cycleMessage } from "./lock-messages.ts";
import type { AcquireRequest, Outcome } from "./lock-requests.ts";
import type { WaitEdge } from "./wait-for-graph.ts";

/** Lock rows and their events, written together: what the lock service records, under its mutex. */
export interface LockStore {
  store: Store;
  log: EventLog;
  /** In a cluster: other nodes hear of releases, so the sessions waiting there can be granted. */
  mailbox?: Pick<NodeMailbox, "announceLocksReleased" | "onLocksReleased"> | undefined;
}

/** Every lock whose holder is still working; stale ones (holder ended without settling) are deleted. */
export async function selectLiveLocks(deps: LockStore): Promise<HeldLockRow[]> {
  const rows = await selectHeldLocks(deps.store.db);
  const stale = rows.filter((row) => !isWorking(row.holder_status ?? ""));
  if (stale.length > 0) await releaseLocks(deps, stale, "stale");
  return rows.filter((row) => isWorking(row.holder_status ?? ""));
}

/** Inserts the lock and records `lock.acquired` together; a lock the session already holds is kept as is. */
export async function grantLock(
  deps: LockStore,
  request: AcquireRequest,
  locks: readonly HeldLockRow[],
  waitingSince: Date | undefined,
): Promise<HeldLockRow | undefined> {
  const mine = locks.find((row) => row.resource === request.resource && row.session_id === request.sessionId);
  if (mine) {
    // Asked for explicitly what an edit already took: it now carries the caller's reason.
    if (request.kind === "explicit" && (mine.kind !== "explicit" || mine.reason !== request.reason))
      await updateLock(deps.store.db, mine.resource, { kind: "explicit", reason: request.reason });
    return undefined;
  }
  const row = {
    resource: request.resource,
    session_id: request.sessionId,
    kind: request.kind,
    reason: request.reason,
    acquired_at: new Date().toISOString(),
  };
  await deps.log.write(async ({ tx, emit }) => {
    await insertLock(tx, row);
    await emit("lock.acquired", request.sessionId, {
      resource: request.resource,
      kind: request.kind,
      ...(request.reason ? { reason: request.reason } : {}),
      ...(waitingSince ? { waitedMs: Date.now() - waitingSince.getTime() } : {}),
    });
  });
  return { ...row, holder_name: null, holder_status: "running" };
}

export async function releaseLocks(
  deps: LockStore,
  rows: readonly HeldLockRow[],
  why: string,
): Promise<void> {
  if (rows.length === 0) return;
  await deps.log.write(async ({ tx, emit }) => {
    for (const row of rows) {
      await deleteLock(tx, row.resource);
      await emit("lock.released", row.session_id, { resource: row.resource, kind: row.kind, why });
    }
  });
  await deps.mailbox?.announceLocksReleased();
}

export async function recordDenial(
  deps: LockStore,
  request: AcquireRequest,
  blocker: HeldLockRow,
  why: "cycle" | "timeout",
  message: string,
): Promise<void> {
  await deps.log.write(({ emit }) =>
    emit("lock.denied", request.sessionId, {
      resource: request.resource,
      holder: blocker.session_id,
      why,
      message,
    }),
  );
}

/** Denies a wait that would close a cycle, naming every session in it. */
export async function denyCycle(
  deps: LockStore,
  request: AcquireRequest,
  blocker: HeldLockRow,
  cycle: WaitEdge[],
): Promise<Outcome> {
  const names = new Map<string, string | null>();
  for (const edge of cycle) {
    if (!names.has(edge.waiter))
      names.set(edge.waiter, (await selectSessionById(deps.store.db, edge.waiter))?.name ?? null);
  }
  const message = cycleMessage(cycle, names);
  await recordDenial(deps, request, blocker, "cycle", message);
  return { granted: false, why: "cycle", message };
}
