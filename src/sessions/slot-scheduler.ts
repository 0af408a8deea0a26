import { Mutex } from "../core/serial.ts";
import type { EventLog, WriteContext } from "../events/event-log.ts";
import type { Store } from "../store/open-store.ts";
import type { Executor, Tx } from "../store/schema.ts";
import { countSessionsInStatuses, type SessionRow, selectQueue } from "../store/session-queries.ts";
import { lockSlots } from "../store/slot-lock-queries.ts";
import { sessionFenceOf } from "./session-fence.ts";
import { WORKING } from "./session-status.ts";
import {
  type EventSpec,
  type TransitionRequest,
  transitionInWrite,
  transitionSession,
} from "./session-writes.ts";

/** The memory rule a process start must also pass (memory-admission.ts); absent: slots alone decide. */
export interface StartAdmission {
  fits(sessionId: string): boolean;
  /** Marks the session waiting for memory without reading it again (one behind a start that did not fit). */
  hold(sessionId: string): void;
  forget(sessionId: string): void;
  retain(queued: ReadonlySet<string>): void;
}

/** Where a new process should start in a cluster (cluster/node-placement.ts); absent: always here. */
export interface StartPlacement {
  /** Another live node is clearly the better place for a new process of this session: leave it queued. */
  leaveToPeer(sessionId: string): boolean;
}

/**
 * What `admitNew` did with a new session: claimed a slot for it (the caller starts its process), or left it
 * queued at `position` (for a free slot, free memory, or a better placed node to start).
 */
export type Admission = { kind: "claimed"; row: SessionRow } | { kind: "queued"; position: number };

export interface SlotLimits {
  maxConcurrent: number;
  maxPerOwner: number;
}

/**
 * Scheduling policy: who may hold one of the `maxConcurrent` slots (and `maxPerOwner` per owner), in what
 * order the queue starts (priority, then first come), and the queue positions callers are told. Every
 * decision runs under one mutex and re-reads the store, so concurrent spawns, turn ends and restarts
 * cannot overfill a slot; and every claim re-counts in its own write transaction under the cluster-wide
 * slot lock (slot-lock-queries.ts), so the nodes of a cluster cannot overfill one together either. It only
 * moves statuses; starting processes is the supervisor's job.
 */
export class SlotScheduler {
  private readonly mutex = new Mutex();
  /** The queue position last announced per queued session, so only changes are announced. */
  private readonly announced = new Map<string, number>();
  private readonly store: Store;
  private readonly log: EventLog;
  private readonly limits: SlotLimits;
  /** True while no turn may start at all (a usage limit or refused credential: credential-limits.ts). */
  private readonly blocked: () => boolean;
  private readonly memory: StartAdmission | undefined;
  private readonly placement: StartPlacement | undefined;

  constructor(deps: {
    store: Store;
    log: EventLog;
    limits: SlotLimits;
    blocked?: () => boolean;
    memory?: StartAdmission | undefined;
    placement?: StartPlacement | undefined;
  }) {
    this.store = deps.store;
    this.log = deps.log;
    this.limits = deps.limits;
    this.blocked = deps.blocked ?? (() => false);
    this.memory = deps.memory;
    this.placement = deps.placement;
  }

  /**
   * May a new process of `sessionId` start on this node? Not when a peer is the better place (it stays
   * queued for that node's drain); else memory for one more process (a refusal marks it waiting).
   */
  private startsHere(sessionId: string): boolean {
    if (this.placement?.leaveToPeer(sessionId)) {
      this.memory?.forget(sessionId);
      return false;
    }
    return this.memory?.fits(sessionId) ?? true;
  }

  /**
   * The check a claim makes in its own transaction, under the cluster-wide slot lock: the slot counts (and,
   * for a new session, nobody eligible queued ahead) read again, now that no other node can claim between
   * this read and this write.
   */
  private roomFor(row: SessionRow, mindQueue: boolean): (tx: Tx) => Promise<boolean> {
    return async (tx) => {
      await lockSlots(tx, this.store.dialect);
      const counts = await countSessionsInStatuses(tx, WORKING);
      const ownerHasRoom = (owner: string) => (counts.byOwner.get(owner) ?? 0) < this.limits.maxPerOwner;
      if (counts.total >= this.limits.maxConcurrent || !ownerHasRoom(row.owner)) return false;
      if (!mindQueue) return true;
      const queue = await selectQueue(tx);
      return !queue.some(
        (queued) => queued.id !== row.id && queued.priority >= row.priority && ownerHasRoom(queued.owner),
      );
    };
  }

  /**
   * A new session: `insert` writes its row (status queued) and `session.created`, and in that same
   * transaction it either claims a slot (status running: the caller starts its process) or is announced
   * `session.queued`. No node's queue drain can see the row before this node has decided, so a session
   * starts where it was spawned unless placement or the limits leave it to the queue.
   */
  async admitNew(row: SessionRow, insert: (context: WriteContext) => Promise<void>): Promise<Admission> {
    return this.mutex.run(async () => {
      const counts = await this.countSlots();
      const ownerHasRoom = (owner: string) => (counts.byOwner.get(owner) ?? 0) < this.limits.maxPerOwner;
      // Someone queued before it, at least as important and able to run now, goes first.
      const eligibleAhead = (await selectQueue(this.store.db)).some(
        (queued) => queued.priority >= row.priority && ownerHasRoom(queued.owner),
      );
      const free =
        counts.total < this.limits.maxConcurrent &&
        ownerHasRoom(row.owner) &&
        !eligibleAhead &&
        !this.blocked();
      const tryHere = free && this.startsHere(row.id);
      const admission = await this.log
        .write(async (context): Promise<Admission> => {
          await insert(context);
          const claimed =
            tryHere &&
            (await transitionInWrite(
              this.log,
              context,
              row,
              this.claimRequest(row, this.roomFor(row, true)),
            ));
          if (claimed) return { kind: "claimed", row: claimed };
          const position = (await readQueuePositions(context.tx)).get(row.id) ?? 0;
          await context.emit("session.queued", row.id, { position });
          return { kind: "queued", position };
        })
        .catch((error: unknown) => {
          this.memory?.forget(row.id);
          throw error;
        });
      if (admission.kind === "claimed") sessionFenceOf(this.log)?.committed(admission.row);
      else this.announced.set(row.id, admission.position);
      return admission;
    });
  }

  /**
   * A follow-up to a finished session: claims a slot (resolves the running row) or queues the session.
   * `announce`: record `session.resumed` with the claim (a warm process takes the message at once); a cold
   * resume is announced by the supervisor once the new process proved who it is (resume-check.ts).
   */
  async admitResume(
    row: SessionRow,
    messageId: string | undefined,
    announce: boolean,
  ): Promise<SessionRow | undefined> {
    return this.mutex.run(async () => {
      const counts = await this.countSlots();
      const free =
        counts.total < this.limits.maxConcurrent &&
        (counts.byOwner.get(row.owner) ?? 0) < this.limits.maxPerOwner &&
        !this.blocked();
      // A warm process takes the message with no new memory, here; a cold resume starts one.
      if (free && (announce || this.startsHere(row.id))) {
        const claimed = await this.claim(row, announce, messageId, this.roomFor(row, false));
        // Refused: another node took the last slot since the count above. It queues instead.
        if (claimed) return claimed;
      }
      // Its place is read in the transaction that queues it, by the same order the queue starts in.
      let position = 0;
      await transitionSession(this.log, row.id, {
        to: "queued",
        from: ["completed", "failed"],
        also: async (context) => {
          position = (await readQueuePositions(context.tx)).get(row.id) ?? 0;
          await context.emit("session.queued", row.id, { position });
        },
      });
      this.announced.set(row.id, position);
      return undefined;
    });
  }

  /** Claims slots for queued sessions in queue order while there is room; resolves the claimed rows. */
  async claimQueued(): Promise<SessionRow[]> {
    return this.mutex.run(async () => {
      const claimed: SessionRow[] = [];
      const counts = await this.countSlots();
      if (this.blocked()) return claimed;
      const queue = await selectQueue(this.store.db);
      this.memory?.retain(new Set(queue.map((row) => row.id)));
      let memoryShort = false;
      for (const row of queue) {
        if (counts.total >= this.limits.maxConcurrent) {
          this.memory?.forget(row.id);
          continue;
        }
        if ((counts.byOwner.get(row.owner) ?? 0) >= this.limits.maxPerOwner) {
          this.memory?.forget(row.id);
          continue;
        }
        // A peer with clearly more memory takes it from the queue (its own drain: node-placement.ts).
        if (this.placement?.leaveToPeer(row.id)) {
          this.memory?.forget(row.id);
          continue;
        }
        // Once one start does not fit, those behind it wait for memory too (in queue order).
        memoryShort ||= !(this.memory?.fits(row.id) ?? true);
        if (memoryShort) {
          this.memory?.hold(row.id);
          continue;
        }
        // A queued resume starts a new process: the supervisor announces it once verified.
        const updated = await this.claim(row, false, undefined, this.roomFor(row, false));
        if (!updated) continue;
        counts.total += 1;
        counts.byOwner.set(row.owner, (counts.byOwner.get(row.owner) ?? 0) + 1);
        claimed.push(updated);
      }
      return claimed;
    });
  }

  /**
   * A position another node of the cluster announced (heard on the shared bus): not announced again from
   * here, so each move of the one queue is announced once, not once per node.
   */
  heard(sessionId: string, position: number): void {
    this.announced.set(sessionId, position);
  }

  /** Announces `session.queued` with the new position for every queued session whose position moved. */
  async renumber(): Promise<void> {
    await this.mutex.run(async () => {
      const queue = await selectQueue(this.store.db);
      const current = new Set(queue.map((row) => row.id));
      for (const id of this.announced.keys()) if (!current.has(id)) this.announced.delete(id);
      const moved = [...positionsIn(queue)]
        .map(([id, position]) => ({ id, position }))
        .filter(({ id, position }) => this.announced.get(id) !== position);
      if (moved.length === 0) return;
      await this.log.write(async ({ emit }) => {
        for (const { id, position } of moved) await emit("session.queued", id, { position });
      });
      for (const { id, position } of moved) this.announced.set(id, position);
    });
  }

  private countSlots(): Promise<{ total: number; byOwner: Map<string, number> }> {
    return countSessionsInStatuses(this.store.db, WORKING);
  }

  /** Moves a queued, completed or failed session to running, recording why, if `room` still says so. */
  private claim(
    row: SessionRow,
    resumed: boolean,
    messageId: string | undefined,
    room: (tx: Tx) => Promise<boolean>,
  ): Promise<SessionRow | undefined> {
    return transitionSession(this.log, row.id, this.claimRequest(row, room, resumed, messageId));
  }

  private claimRequest(
    row: SessionRow,
    room: (tx: Tx) => Promise<boolean>,
    resumed = false,
    messageId?: string,
  ): TransitionRequest {
    const now = new Date().toISOString();
    const events: EventSpec[] = resumed ? [["session.resumed", messageId ? { messageId } : {}]] : [];
    return {
      to: "running",
      from: ["queued", "completed", "failed"],
      changes: { started_at: row.started_at ?? now, ended_at: null, error: null, failure_reason: null },
      events,
      admissible: room,
    };
  }
}

/** Queue positions (1 = next to start), in the order the queue starts: priority, then first come. */
export async function readQueuePositions(db: Executor): Promise<Map<string, number>> {
  return positionsIn(await selectQueue(db));
}

function positionsIn(queue: readonly SessionRow[]): Map<string, number> {
  return new Map(queue.map((row, index) => [row.id, index + 1]));
}
