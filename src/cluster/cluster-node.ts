import { clearTimers } from "../sessions/live-run.ts";
import type { RunContext } from "../sessions/run-context.ts";
import { resumeOrphans } from "../sessions/run-recovery.ts";
import { WORKING } from "../sessions/session-status.ts";
import {
  EVENT_CHANNEL,
  listenForNotifications,
  type NotificationListener,
  parseEventSeq,
} from "../store/event-notify-queries.ts";
import { NODE_COMMAND_CHANNEL } from "../store/node-command-queries.ts";
import {
  deleteDeadNodes,
  deleteNode,
  type NodeRow,
  selectNodes,
  selectOwnership,
  upsertNode,
} from "../store/node-queries.ts";
import { type SessionRow, selectSessionById } from "../store/session-queries.ts";
import type { ClusterMailbox } from "./cluster-mailbox.ts";
import { LeaseWatchdog, withDeadline } from "./lease-watchdog.ts";
import type { NodePlacement } from "./node-placement.ts";
import type { BatonNode } from "./node-schema.ts";
import { carryOutRunCommand, RunCommandCatchUp } from "./run-command-handler.ts";
import type { SessionOwnership } from "./session-ownership.ts";

/** What `GET /nodes` reads: the cluster's nodes, or this one alone (SQLite). */
export interface Membership {
  list(): Promise<BatonNode[]>;
}

export interface ClusterSettings {
  nodeHeartbeatMs: number;
  nodeLeaseMs: number;
}

export interface ClusterNodeDeps {
  /** The PostgreSQL URL, for the LISTEN connection. */
  dbUrl: string;
  settings: ClusterSettings;
  ownership: SessionOwnership;
  /** Commands between nodes: this node receives its own on the LISTEN connection. */
  mailbox: ClusterMailbox;
  placement: NodePlacement;
  /** The run supervisor: its store, log, live runs and serial queue, and what recovery needs. */
  runs: RunContext;
  /** The URL this node answers on (known once it listens). */
  url(): string;
  info(message: string): void;
  /** Something an operator should look at (this node stopping its agents because it lost the database). */
  warn(message: string): void;
  onError(error: unknown, context: string): void;
}

/**
 * One `baton serve` in a cluster on PostgreSQL: its row in `nodes`, renewed every `nodeHeartbeatMs` with a
 * lease of `nodeLeaseMs`; on each beat it fences off sessions it lost, adopts the sessions of nodes whose
 * lease expired (resuming each in its conversation), and checks the log for commits it did not hear of.
 * It also listens for other nodes' commits, so its bus delivers their events live, and for the commands
 * other nodes send it for the sessions it runs (cluster-mailbox.ts), catching up on missed ones each beat.
 * It drains the cluster's queue whenever it hears of queued work or a freed slot on any node (and on each
 * beat): whichever node is the better place (node-placement.ts) starts the work, under the slot lock.
 */
export class ClusterNode implements Membership {
  private readonly deps: ClusterNodeDeps;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private listener: NotificationListener | undefined;
  private unsubscribe: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private stopped = false;
  private readonly catchUp: RunCommandCatchUp;
  private readonly watchdog: LeaseWatchdog;
  /** Resumes of adopted or self-stopped sessions: they wait for start permits, so the beat must not. */
  private readonly resuming = new Set<Promise<void>>();

  constructor(deps: ClusterNodeDeps) {
    this.deps = deps;
    this.watchdog = new LeaseWatchdog(
      { runs: deps.runs, abandon: (id) => abandonRun(deps.runs, id), warn: deps.warn },
      deps.settings,
    );
    this.catchUp = new RunCommandCatchUp(deps.runs, deps.ownership.node, () => deps.mailbox.locksReleased());
    deps.mailbox.handleWith((command) => carryOutRunCommand(deps.runs, command));
  }

  get id(): string {
    return this.deps.ownership.node;
  }

  /** Registers the node (its lease live before it claims anything) and starts listening and beating. */
  async start(): Promise<void> {
    await this.renewLease();
    await this.listen();
    this.unsubscribe = this.deps.runs.log.bus.subscribe((event) => {
      if (event.topic === "session.queued" && event.sessionId)
        this.deps.runs.scheduler.heard(event.sessionId, Number(event.data.position));
      if (QUEUE_MOVES.has(event.topic)) this.drainSoon();
    });
    this.schedule();
  }

  /** After the supervisor closed its processes: no more beats, and the node leaves the table. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchdog.stop();
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    await this.draining;
    await Promise.all(this.resuming);
    await this.listener?.close();
    await deleteNode(this.deps.runs.store.db, this.id).catch((error: unknown) =>
      this.deps.onError(error, "leaving the cluster"),
    );
  }

  async list(): Promise<BatonNode[]> {
    const now = new Date().toISOString();
    const rows = await selectNodes(this.deps.runs.store.db);
    return rows.map((row) => ({
      id: row.id,
      url: row.url,
      startedAt: row.started_at,
      lastSeenAt: row.last_seen_at,
      liveSessions: row.live_sessions,
      freeMemoryMb: row.free_memory_mb,
      alive: row.lease_expires_at >= now,
      self: row.id === this.id,
    }));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat()
        .catch((error: unknown) => this.deps.onError(error, "node heartbeat"))
        .finally(() => this.schedule());
    }, this.deps.settings.nodeHeartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { runs, ownership } = this.deps;
    await this.renewLease();
    for (const id of await ownership.fenceLost())
      this.deps.info(`session ${id} was adopted by another node: its process here is stopped`);
    await this.resumeStopped();
    // A stopping node closes its processes for others to adopt; it takes none on.
    if (!runs.stopping) await this.adopt();
    if (!this.listener) await this.listen();
    // Queued work another node left for this one, or a slot freed while a notification was lost.
    this.drainSoon();
    // A notification lost with a broken connection: the log's newest seq says what to read, the rows what
    // the commands this node missed asked for.
    runs.log.bus.announce((await runs.log.bounds()).latest);
    if (!runs.stopping) await this.catchUp.run();
  }

  private async adopt(): Promise<void> {
    const { runs, ownership } = this.deps;
    const adopted = await ownership.claimOrphans(false);
    if (adopted.length > 0) {
      const from = [...new Set(adopted.map((row) => row.owner_node))].join(", ");
      this.deps.info(`adopting ${adopted.length} session(s) of a node whose lease expired (${from})`);
      this.resumeInBackground(adopted, "resuming adopted sessions");
    }
    await deleteDeadNodes(runs.store.db, new Date().toISOString(), WORKING);
  }

  /**
   * The sessions the lease watchdog stopped while the database was out of reach, that no other node
   * adopted meanwhile (the row still names this node as its owner): resumed here, in their
   * conversations, as an adopter would.
   */
  private async resumeStopped(): Promise<void> {
    const { runs } = this.deps;
    const stopped = this.watchdog.stoppedIds();
    if (stopped.length === 0 || runs.stopping) return;
    const stillOwn = (await selectOwnership(runs.store.db, stopped)).filter(
      (row) => row.owner_node === this.id,
    );
    const rows: SessionRow[] = [];
    for (const { id } of stillOwn) {
      const row = await selectSessionById(runs.store.db, id);
      if (row && WORKING.includes(row.status)) rows.push(row);
    }
    this.watchdog.forget(stopped);
    if (rows.length === 0) return;
    this.deps.info(`resuming ${rows.length} session(s) stopped while this node could not reach the database`);
    this.resumeInBackground(rows, "resuming sessions stopped while the database was out of reach");
  }

  /**
   * Resumes sessions this node now owns without holding up the heartbeat: each start waits for a start
   * permit (start-throttle.ts), and a beat that waited for a dozen of them would let this node's own lease
   * run out.
   */
  private resumeInBackground(rows: readonly SessionRow[], context: string): void {
    const work = resumeOrphans(this.deps.runs, rows, "node_lost").catch((error: unknown) =>
      this.deps.onError(error, context),
    );
    this.resuming.add(work);
    void work.finally(() => this.resuming.delete(work));
  }

  /** One queue drain at a time; a reason to drain heard meanwhile runs one more after it. */
  private drainSoon(): void {
    if (this.stopped || this.deps.runs.stopping) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.deps.runs
      .drainQueue()
      .catch((error: unknown) => this.deps.onError(error, "draining the cluster's queue"))
      .finally(() => {
        this.draining = undefined;
        if (!this.drainAgain) return;
        this.drainAgain = false;
        this.drainSoon();
      });
  }

  private async renewLease(): Promise<void> {
    const now = Date.now();
    const { placement, runs } = this.deps;
    const row: NodeRow = {
      id: this.id,
      url: this.deps.url(),
      started_at: this.startedAt,
      last_seen_at: new Date(now).toISOString(),
      lease_expires_at: new Date(now + this.deps.settings.nodeLeaseMs).toISOString(),
      live_sessions: runs.runs.size,
      // A stopping node takes no new work: nobody should leave any to it.
      free_memory_mb: runs.stopping ? null : placement.freeMemoryMb(),
    };
    await withDeadline(upsertNode(runs.store.db, row), this.deps.settings.nodeLeaseMs, "renewing the lease");
    this.watchdog.renewed(now + this.deps.settings.nodeLeaseMs);
    placement.learn(await selectNodes(runs.store.db));
  }

  private async listen(): Promise<void> {
    const bus = this.deps.runs.log.bus;
    try {
      const handlers = {
        [EVENT_CHANNEL]: (payload: string) => {
          const seq = parseEventSeq(payload);
          if (seq !== undefined) bus.announce(seq);
        },
        [NODE_COMMAND_CHANNEL]: (payload: string) => this.deps.mailbox.receive(payload),
      };
      this.listener = await listenForNotifications(this.deps.dbUrl, handlers, (error) => {
        this.deps.onError(
          error,
          "listening for other nodes' events and commands (reconnecting at the next heartbeat)",
        );
        const lost = this.listener;
        this.listener = undefined;
        void lost?.close();
      });
    } catch (error) {
      this.deps.onError(
        error,
        "listening for other nodes' events and commands (retrying at the next heartbeat)",
      );
    }
  }
}

/** Events after which the cluster's queue may start something: work queued, or a slot freed. */
const QUEUE_MOVES = new Set(["session.queued", "session.completed", "session.failed", "session.killed"]);

/**
 * Stops the process of a session another node adopted, writing nothing: its row belongs to the new owner.
 * The run leaves the live table first, so its exit callbacks find it is no longer current and do nothing.
 */
export async function abandonRun(ctx: RunContext, sessionId: string): Promise<void> {
  const live = ctx.runs.get(sessionId);
  if (!live) return;
  clearTimers(live);
  ctx.runs.delete(sessionId);
  ctx.permissions.dropWaiters(sessionId);
  ctx.treeBudget.release(sessionId);
  await live.run?.close("force");
}
