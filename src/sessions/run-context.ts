import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import type { MessageRow } from "../store/message-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { CredentialLimitSettings, CredentialLimits } from "./credential-limits.ts";
import type { LiveRun } from "./live-run.ts";
import type { LiveRuns } from "./live-runs.ts";
import type { ModelLimit } from "./model-limit.ts";
import type { NodeMailbox } from "./node-mailbox.ts";
import type { PermissionBroker } from "./permission-broker.ts";
import type { AgentRunner, AgentTool, InputMessage, ToolCallCheck } from "./runner-port.ts";
import type { HealthSettings, RestartReason } from "./self-healing.ts";
import type { SessionLifecycle } from "./session-lifecycle.ts";
import type { SlotScheduler } from "./slot-scheduler.ts";
import type { StartThrottle } from "./start-throttle.ts";
import type { TreeBudgetLedger } from "./tree-ledger.ts";
import type { TurnCounts } from "./turn-outcome.ts";
import type { TurnTracer } from "./turn-trace.ts";

export interface SupervisorSettings extends HealthSettings, Partial<CredentialLimitSettings> {
  maxConcurrent: number;
  maxPerOwner: number;
  keepAliveMs: number;
  idleAction: "notify" | "interrupt" | "fail";
  recoveryPolicy: "resume" | "fail";
  queueTimeoutMs: number;
  /** Streamed text is coalesced into one session.output delta per this many ms (see OutputDeltas). */
  outputDeltaMs: number;
}

/** What the composition root hands the supervisor: the parts it shares with others, and its callbacks. */
export interface SupervisorDeps {
  store: Store;
  log: EventLog;
  runner: AgentRunner;
  settings: SupervisorSettings;
  /** One task at a time per session, shared with every part that changes a session. */
  serial: KeyedSerial;
  lifecycle: SessionLifecycle;
  runs: LiveRuns;
  permissions: PermissionBroker;
  scheduler: SlotScheduler;
  /** Reservations against tree budgets (maxTreeBudgetUsd): see tree-ledger.ts. */
  treeBudget: TreeBudgetLedger;
  /**
   * What a new process of the session gets: its environment (BATON_URL, BATON_SESSION_ID and a token of
   * its own) and, when `withTools`, Baton's coordination tools acting with that token.
   */
  prepareAgent(
    sessionId: string,
    withTools: boolean,
  ): Promise<{ env: Record<string, string>; tools: AgentTool[] }>;
  /** Checks a tool call before it runs (workspace locks); may wait, may deny. */
  checkToolCall?(sessionId: string, call: ToolCallCheck): Promise<{ deny: string } | undefined>;
  /** A session's turn ended, or its process is gone: release what it held for the turn (locks). */
  onTurnSettled?(sessionId: string): Promise<void>;
  onError(error: unknown, context: string): void;
  /** The id of the model credential agents start with (credential-id.ts); limits are kept per credential. */
  credential?(): string;
  /** A span per turn (OpenTelemetry, ops/tracing.ts); absent when tracing is off. */
  tracer?: TurnTracer | undefined;
  /** In a cluster (src/cluster): takes over the working sessions no live node owns, for recovery. */
  ownership?: { claimOrphans(includeOwn: boolean): Promise<SessionRow[]> };
  /** Simultaneous process starts (start-throttle.ts); absent: unthrottled. */
  throttle?: StartThrottle | undefined;
  /** Queued sessions waiting for memory, and since when (memory-admission.ts). */
  memoryWaits?: (() => ReadonlyMap<string, string>) | undefined;
  /** In a cluster (src/cluster): commands for sessions whose process another node runs go there. */
  mailbox?: NodeMailbox | undefined;
}

/** How a run starts: resumed or fresh, what it is told first, what `session.resumed` will say. */
export interface RunStart {
  resume: boolean;
  inputs: InputMessage[];
  pending: readonly MessageRow[];
  announce?: Record<string, unknown>;
}

/**
 * What the supervisor's role objects (starts, turn ends, timers, healing, recovery) ask of each other.
 * The supervisor implements it; each role receives it instead of reaching into the others.
 */
export interface RunContext extends SupervisorDeps {
  readonly stopping: boolean;
  /** Runs `task` in the session's serial queue without awaiting it; failures are reported. */
  detach(sessionId: string, context: string, task: () => Promise<unknown>): void;
  startRun(row: SessionRow, start: RunStart): Promise<void>;
  deliver(
    sessionId: string,
    live: LiveRun,
    messages: readonly MessageRow[],
    leading?: readonly InputMessage[],
  ): Promise<void>;
  close(sessionId: string, mode: "graceful" | "force"): Promise<void>;
  /** Cuts the session's current turn short, here or on the node that runs it. */
  interrupt(sessionId: string): Promise<boolean>;
  dispatch(sessionId: string): Promise<void>;
  drainQueue(): Promise<void>;
  /** Lets other parts release what the session held for its turn (workspace locks); never throws. */
  settled(sessionId: string): Promise<void>;
  heal(sessionId: string, reason: RestartReason, error: string, counts?: TurnCounts): Promise<boolean>;
  /** A turn succeeded: the session's count of restarts in a row starts again. */
  healthy(sessionId: string): void;
  armWatchdogs(sessionId: string, live: LiveRun, idleTimeoutMs: number): void;
  armKeepAlive(sessionId: string, live: LiveRun): void;
  /** Parking at usage limits and refused credentials (credential-limits.ts). */
  readonly limits: CredentialLimits;
  /** Parks the session at a model limit and ends its process; resolves false when it was not parked. */
  park(sessionId: string, live: LiveRun, limit: ModelLimit, counts?: TurnCounts): Promise<boolean>;
}
