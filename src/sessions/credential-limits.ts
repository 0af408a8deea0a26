import type { EventLog, WriteContext } from "../events/event-log.ts";
import {
  type CredentialLimitRow,
  deleteCredentialLimit,
  deleteParkedSession,
  insertParkedSession,
  restartQueueClocks,
  selectAllParkedSessions,
  selectCredentialLimits,
  selectParkedSession,
  upsertCredentialLimit,
} from "../store/credential-limit-queries.ts";
import type { Store } from "../store/open-store.ts";
import type { SessionRow } from "../store/session-queries.ts";
import type { ModelLimit } from "./model-limit.ts";
import type { WaitingOn } from "./session-schema.ts";
import { transitionSession } from "./session-writes.ts";

/**
 * Parking at usage limits and refused credentials. A session whose model request was refused for a limit
 * (429) or for its credential (401) is parked: `waiting`, its process closed, a `parked_sessions` row with
 * the moment it resumes. The credential itself is marked limited (`credential_limits`), so no new turn
 * starts against it (the slot scheduler asks `blockedNow`; spawns queue). When the limit resets (plus a
 * jitter chosen once and stored, so several Batons on one account do not all return in the same second)
 * the parked sessions continue their conversations, oldest park first, then the queue drains. An auth
 * limit has no end: a new credential in the configuration (SIGHUP) resumes them. Everything is in the
 * store, so a restart picks the timers up again.
 */
export interface CredentialLimitSettings {
  /** A 429 the CLI would itself retry sooner than this is left to the CLI (same process, no restart). */
  usageLimitParkMinMs: number;
  /** The wait when the API named no reset time; doubles with each limit in a row, up to MAX_BACKOFF_MS. */
  usageLimitBackoffMs: number;
  /** Up to this much random extra wait before parked sessions resume. */
  usageLimitJitterMs: number;
}

export const CREDENTIAL_LIMIT_DEFAULTS: CredentialLimitSettings = Object.freeze({
  usageLimitParkMinMs: 2000,
  usageLimitBackoffMs: 60_000,
  usageLimitJitterMs: 3000,
});

/**
 * What a parked session is told when it continues. A Baton note without directives: the scripted model
 * (src/mock-model) goes on with the script it was following.
 */
export const UNPARK_NOTE =
  "[Baton note: the model API refused your last request (a usage or rate limit, or the credential). " +
  "It can be used again now. Continue the task where you left off.]";

export interface CredentialLimitsDeps {
  store: Store;
  log: EventLog;
  settings: Partial<CredentialLimitSettings>;
  /** The id of the credential agents are started with now (credentialId). */
  credential(): string;
  /** Continues a parked session in its conversation (the supervisor; it calls `unpark` first). */
  resume(sessionId: string): Promise<void>;
  drainQueue(): void;
  onError(error: unknown, context: string): void;
}

const MAX_BACKOFF_MS = 60 * 60 * 1000;
/** Timers longer than this are re-armed in steps (setTimeout overflows past ~24.8 days). */
const MAX_TIMER_MS = 60 * 60 * 1000;

export class CredentialLimits {
  private readonly deps: CredentialLimitsDeps;
  private readonly settings: CredentialLimitSettings;
  /** The stored limits by credential, mirrored so admission decisions need no query. */
  private readonly limits = new Map<string, CredentialLimitRow>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private resuming: Promise<void> | undefined;

  constructor(deps: CredentialLimitsDeps) {
    this.deps = deps;
    const given = Object.entries(deps.settings).filter(([, value]) => value !== undefined);
    this.settings = { ...CREDENTIAL_LIMIT_DEFAULTS, ...Object.fromEntries(given) };
  }

  /** Loads the stored limits, resumes what a new credential or a passed reset frees, arms the timer. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const row of await selectCredentialLimits(this.deps.store.db)) this.limits.set(row.credential, row);
    await this.forgetOtherCredentials();
    await this.resumeFreed();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Why no turn may start against the current credential now, or undefined when it may. */
  blockedNow(now = Date.now()): WaitingOn | undefined {
    const limit = this.limits.get(this.deps.credential());
    if (!limit || !isActive(limit, now)) return undefined;
    return {
      kind: limit.kind === "auth" ? "auth" : "usage_limit",
      since: limit.since,
      ...(limit.resume_at && { resumeAt: limit.resume_at }),
    };
  }

  /** Baton takes over the wait unless the CLI is about to retry by itself within usageLimitParkMinMs. */
  shouldPark(limit: ModelLimit): boolean {
    if (limit.kind === "auth" || limit.resetAt || limit.retryInMs === undefined) return true;
    return limit.retryInMs >= this.settings.usageLimitParkMinMs;
  }

  /**
   * Parks a running or waiting session: resolves its row, or undefined when it was in no state to park.
   * `also` adds writes to the same transaction (the turn's cost and usage rows).
   */
  async park(
    sessionId: string,
    limit: ModelLimit,
    changes: Partial<SessionRow> = {},
    also?: (context: WriteContext, row: SessionRow) => Promise<void>,
  ): Promise<SessionRow | undefined> {
    const now = Date.now();
    const credential = this.deps.credential();
    const stored = this.limits.get(credential);
    const next = this.nextLimit(credential, limit, stored, now);
    const since = new Date(now).toISOString();
    const row = await transitionSession(this.deps.log, sessionId, {
      to: "waiting",
      from: ["running", "waiting"],
      changes,
      events: [
        [
          "session.parked",
          { kind: limit.kind, reason: limit.message, ...(next.resume_at && { resumeAt: next.resume_at }) },
        ],
      ],
      also: async (context, updated) => {
        await also?.(context, updated);
        await upsertCredentialLimit(context.tx, next);
        await insertParkedSession(context.tx, {
          session_id: sessionId,
          credential,
          kind: next.kind,
          since,
          resume_at: next.resume_at,
          reason: limit.message,
        });
      },
    });
    if (row) {
      this.limits.set(credential, next);
      this.arm();
    }
    return row;
  }

  /** Moves a parked session back to running, recording `session.unparked`; undefined if it is not parked. */
  async unpark(sessionId: string): Promise<SessionRow | undefined> {
    const parked = await selectParkedSession(this.deps.store.db, sessionId);
    if (!parked) return undefined;
    const parkedMs = Math.max(0, Date.now() - Date.parse(parked.since));
    const row = await transitionSession(this.deps.log, sessionId, {
      to: "running",
      from: ["waiting"],
      events: [["session.unparked", { kind: parked.kind, parkedMs }]],
      also: (context) => deleteParkedSession(context.tx, sessionId),
    });
    // Killed (or otherwise moved on) meanwhile: the row is stale.
    if (!row) await this.deps.log.write((context) => deleteParkedSession(context.tx, sessionId));
    return row;
  }

  /** Parked sessions: a restart leaves them waiting for their time (recover() does not resume them). */
  async parkedIds(): Promise<Set<string>> {
    return new Set((await selectAllParkedSessions(this.deps.store.db)).map((row) => row.session_id));
  }

  /**
   * The configuration was reloaded (SIGHUP): sessions parked on another credential resume now, and an
   * auth failure of the current one is tried again (the operator may have fixed the account meanwhile).
   */
  async credentialsReloaded(): Promise<void> {
    const current = this.deps.credential();
    if (this.limits.get(current)?.kind === "auth") await this.forget(current);
    await this.forgetOtherCredentials();
    await this.resumeFreed();
  }

  /** Limits of a credential no longer configured say nothing about the one in use (waitingOn reads them). */
  private async forgetOtherCredentials(): Promise<void> {
    for (const credential of [...this.limits.keys()])
      if (credential !== this.deps.credential()) await this.forget(credential);
  }

  private async forget(credential: string): Promise<void> {
    this.limits.delete(credential);
    await this.deps.log.write((context) => deleteCredentialLimit(context.tx, credential));
  }

  /**
   * Resumes, oldest park first, every parked session whose credential is no longer limited (reset passed)
   * or is not the one in use any more, then lets the queue start. One pass at a time.
   */
  private resumeFreed(): Promise<void> {
    this.resuming ??= (async () => {
      try {
        const now = Date.now();
        const current = this.deps.credential();
        const freed = (await selectAllParkedSessions(this.deps.store.db)).filter((parked) => {
          const limit = this.limits.get(parked.credential);
          return parked.credential !== current || !limit || !isActive(limit, now);
        });
        if (!this.blockedNow(now)) await this.deps.log.write((context) => restartQueueClocks(context.tx));
        for (const parked of freed) {
          if (this.stopped) return;
          await this.deps.resume(parked.session_id);
        }
        this.deps.drainQueue();
      } finally {
        this.resuming = undefined;
        this.arm();
      }
    })().catch((error) => this.deps.onError(error, "resuming parked sessions"));
    return this.resuming;
  }

  /** One timer, for the earliest future reset of any stored limit. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const now = Date.now();
    const next = Math.min(
      ...[...this.limits.values()].filter((l) => isActive(l, now) && l.resume_at).map(resumeAtMs),
    );
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(() => void this.resumeFreed(), Math.min(MAX_TIMER_MS, next - now + 5));
    this.timer.unref();
  }

  private nextLimit(
    credential: string,
    limit: ModelLimit,
    stored: CredentialLimitRow | undefined,
    now: number,
  ): CredentialLimitRow {
    const since = stored && isActive(stored, now) ? stored.since : new Date(now).toISOString();
    if (limit.kind === "auth")
      return { credential, kind: "auth", since, resume_at: null, reason: limit.message, strikes: 0 };
    // A reset the API named is kept as is; without one each limit in a row waits twice as long.
    const known = limit.resetAt ? Date.parse(limit.resetAt) : limit.retryInMs && now + limit.retryInMs;
    // A limit soon after the previous one ended is "in a row"; a later one starts the backoff afresh.
    const inARow = stored && now - resumeAtMs(stored) < this.settings.usageLimitBackoffMs;
    const strikes = known ? 0 : (inARow ? stored.strikes : 0) + 1;
    const backoff = Math.min(MAX_BACKOFF_MS, this.settings.usageLimitBackoffMs * 2 ** (strikes - 1));
    const reset = known || now + backoff;
    // An active limit that already ends later (with its jitter chosen) stays as it is.
    if (stored && isActive(stored, now) && stored.kind !== "auth" && resumeAtMs(stored) >= reset)
      return { ...stored, reason: limit.message };
    const jitter = Math.floor(Math.random() * (this.settings.usageLimitJitterMs + 1));
    const resumeAt = new Date(Math.max(reset, now) + jitter).toISOString();
    return { credential, kind: "usage_limit", since, resume_at: resumeAt, reason: limit.message, strikes };
  }
}

function resumeAtMs(limit: CredentialLimitRow): number {
  return limit.resume_at ? Date.parse(limit.resume_at) : Number.POSITIVE_INFINITY;
}

function isActive(limit: CredentialLimitRow, now: number): boolean {
  return limit.kind === "auth" || resumeAtMs(limit) > now;
}
