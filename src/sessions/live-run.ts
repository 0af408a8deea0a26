import type { ResumeExpectation } from "./resume-check.ts";
import type { AgentRun, InputMessage, ProcessInfo, TurnOutcome } from "./runner-port.ts";
import type { TurnTrace } from "./turn-trace.ts";

/**
 * What the supervisor knows about a session whose `claude` process is alive, and the two timers that
 * watch it: the idle watchdog while a turn runs, and the keep-alive that releases a warm process.
 */
export interface LiveRun {
  run: AgentRun | undefined;
  process: ProcessInfo | undefined;
  costBase: number;
  /** The session's cost when its conversation was last cleared: the SDK counts cost per conversation. */
  costOffset: number;
  turnsBase: number;
  maxTurns: number;
  /** Model requests in the running turn; with turnsBase, enforces maxTurns per conversation. */
  turnsInTurn: number;
  turnLimitHit: boolean;
  openTools: Set<string>;
  lastActivity: number;
  /** False until the process sent its first message: start-up time is not idleness. */
  heardFrom: boolean;
  idleReported: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** The stall watchdog (self-healing.ts): checks the same signs of life against stallTimeoutMs. */
  stallTimer: NodeJS.Timeout | undefined;
  keepAliveTimer: NodeJS.Timeout | undefined;
  interruptRequested: boolean;
  /** A resumed run whose process dies before finishing a turn failed to resume (e.g. transcript gone). */
  resumed: boolean;
  turnEnded: boolean;
  /**
   * A resumed run until its process proved who it is: what it must match, and what `session.resumed`
   * says once it did. Input is delivered only after that (resume-check.ts).
   */
  resumeCheck: { expected: ResumeExpectation; announce: Record<string, unknown> } | undefined;
  /** The conversation's fingerprint is in the store (written at its first start, or after a check). */
  fingerprintStored: boolean;
  /** Subagents working in the background (the parent's turn may have ended; the session has not). */
  backgroundSubagents: number;
  /** A turn that ended while subagents still worked: the session completes once they are done. */
  deferredOutcome: TurnOutcome | undefined;
  /** Completes the deferred turn if the CLI does not start one of its own once the subagents are done. */
  backgroundTimer: NodeJS.Timeout | undefined;
  /** Input for a resumed process, held until its check passed. */
  heldInputs: InputMessage[];
  /** The span of the running turn, when tracing is on (turn-trace.ts). */
  turnTrace: TurnTrace | undefined;
}

export function newLiveRun(start: {
  costBase: number;
  costOffset: number;
  turnsBase: number;
  maxTurns: number;
  resumed: boolean;
  resumeCheck?: LiveRun["resumeCheck"];
  fingerprintStored: boolean;
  turnTrace?: TurnTrace | undefined;
}): LiveRun {
  return {
    ...start,
    resumeCheck: start.resumeCheck,
    turnTrace: start.turnTrace,
    heldInputs: [],
    backgroundSubagents: 0,
    deferredOutcome: undefined,
    backgroundTimer: undefined,
    run: undefined,
    process: undefined,
    turnsInTurn: 0,
    turnLimitHit: false,
    openTools: new Set(),
    lastActivity: Date.now(),
    heardFrom: false,
    idleReported: false,
    idleTimer: undefined,
    stallTimer: undefined,
    keepAliveTimer: undefined,
    interruptRequested: false,
    turnEnded: false,
  };
}

const STARTUP_ALLOWANCE_MS = 30_000;

/**
 * The idle watchdog: calls `onIdle` once per quiet period of a running turn. Activity is any message from
 * the SDK; a tool call in progress is never idle (the CLI is working, not stuck); before the process's
 * first message, start-up gets STARTUP_ALLOWANCE_MS instead (several spawns at once on a small machine
 * take seconds).
 */
export function watchIdle(
  live: LiveRun,
  timeoutMs: number,
  hooks: { isCurrent(): boolean; onIdle(quietForMs: number): void },
): void {
  const check = () => {
    live.idleTimer = undefined;
    if (!hooks.isCurrent()) return;
    const limit = live.heardFrom ? timeoutMs : Math.max(timeoutMs, STARTUP_ALLOWANCE_MS);
    const quietFor = Date.now() - live.lastActivity;
    const busy = live.openTools.size > 0;
    if (quietFor >= limit && !busy && !live.idleReported) {
      live.idleReported = true;
      hooks.onIdle(quietFor);
    }
    // Never sleep longer than timeoutMs: the start-up allowance ends early when the first message arrives.
    const wait = busy || live.idleReported ? timeoutMs : Math.min(timeoutMs, limit - quietFor);
    live.idleTimer = setTimeout(check, Math.max(50, wait));
    live.idleTimer.unref();
  };
  live.idleTimer = setTimeout(check, timeoutMs);
  live.idleTimer.unref();
}

/**
 * The stall watchdog: calls `onStall` once when a running turn has been silent for `stallMs` with no tool
 * open, i.e. a model request that stopped answering (start-up gets STARTUP_ALLOWANCE_MS at least).
 */
export function watchStall(
  live: LiveRun,
  stallMs: number,
  hooks: { isCurrent(): boolean; onStall(quietForMs: number): void },
): void {
  const period = Math.max(50, Math.min(1000, Math.floor(stallMs / 4)));
  const check = () => {
    live.stallTimer = undefined;
    if (!hooks.isCurrent()) return;
    const limit = live.heardFrom ? stallMs : Math.max(stallMs, STARTUP_ALLOWANCE_MS);
    const quietFor = Date.now() - live.lastActivity;
    if (quietFor >= limit && live.openTools.size === 0) {
      hooks.onStall(quietFor);
      return;
    }
    live.stallTimer = setTimeout(check, period);
    live.stallTimer.unref();
  };
  live.stallTimer = setTimeout(check, period);
  live.stallTimer.unref();
}

export function clearTimers(live: LiveRun): void {
  if (live.idleTimer) clearTimeout(live.idleTimer);
  if (live.stallTimer) clearTimeout(live.stallTimer);
  if (live.backgroundTimer) clearTimeout(live.backgroundTimer);
  live.backgroundTimer = undefined;
  live.stallTimer = undefined;
  if (live.keepAliveTimer) clearTimeout(live.keepAliveTimer);
  live.idleTimer = undefined;
  live.keepAliveTimer = undefined;
}
