import type { StartThrottle } from "./start-throttle.ts";

/** What a new agent process is taken to need until live ones can be measured (idle PSS ~110-120 MB, RSS ~200). */
const DEFAULT_FOOTPRINT_BYTES = 250 * 1024 * 1024;
/** A completed session's process is only given back after this long idle (its follow-up may be on its way). */
export const RELEASE_GRACE_MS = 5000;
/** How often a spawn waiting for memory looks again (memory also frees when processes exit). */
const POLL_MS = 1000;
const MB = 1024 * 1024;

/** Readings of the box, from /proc (runner/proc-memory.ts) or, in tests, from a file they write. */
export interface MemoryProbe {
  /** MemAvailable in bytes; undefined when it cannot be read (admission then lets everything start). */
  availableBytes(): number | undefined;
  /** Memory of each live agent process, in bytes (PSS where the kernel reports it). */
  agentBytes(): number[];
}

/** Processes that can be given back under pressure, cheapest first. */
export interface MemoryReleasers {
  /** Closes the least recently used completed session's process idle past `graceMs`; false if none. */
  releaseIdleRun(graceMs: number): Promise<boolean>;
  /** Closes one parked spare; false if none. */
  releaseSpare(): Promise<boolean>;
  /** Memory was given back or freed: try the queue again. */
  retryQueue(): Promise<void>;
}

export interface MemoryAdmissionSettings {
  reserveBytes: number;
  probe: MemoryProbe;
  throttle: StartThrottle;
}

/**
 * Memory-aware admission: a process starts only if MemAvailable, less what starts in flight will still
 * take, leaves the expected footprint of one more process plus the reserve. A spawn that does not fit stays
 * queued (`waitingOn.kind: "memory"`) while idle processes are given back (completed sessions idle past a
 * short grace, least recently used first, then parked spares); it starts as soon as it fits.
 */
export class MemoryAdmission {
  private readonly settings: MemoryAdmissionSettings;
  private releasers: MemoryReleasers | undefined;
  /** Queued sessions that did not fit, and since when. */
  private readonly waiting = new Map<string, string>();
  private relieving: Promise<void> | undefined;
  private stopped = false;

  constructor(settings: MemoryAdmissionSettings) {
    this.settings = settings;
  }

  /** Wired after construction: the releasers (supervisor, runner) are built after the admission. */
  connect(releasers: MemoryReleasers): void {
    this.releasers = releasers;
  }

  /** The footprint of one more process: the median of the live ones, or a default before any runs. */
  expectedFootprint(): number {
    const sizes = this.settings.probe.agentBytes().sort((a, b) => a - b);
    return sizes[Math.floor(sizes.length / 2)] ?? DEFAULT_FOOTPRINT_BYTES;
  }

  /** Memory left above the reserve once starts in flight and one more process are counted (may be < 0). */
  headroomBytes(extraStarts = 1): number | undefined {
    const available = this.settings.probe.availableBytes();
    if (available === undefined) return undefined;
    const footprint = this.expectedFootprint();
    return (
      available - (this.settings.throttle.pending + extraStarts) * footprint - this.settings.reserveBytes
    );
  }

  /** May `sessionId` start a process now? If not, it is recorded as waiting for memory. */
  fits(sessionId: string): boolean {
    const headroom = this.headroomBytes();
    if (headroom === undefined || headroom >= 0) {
      this.waiting.delete(sessionId);
      return true;
    }
    this.hold(sessionId);
    return false;
  }

  hold(sessionId: string): void {
    if (!this.waiting.has(sessionId)) this.waiting.set(sessionId, new Date().toISOString());
    this.relieve();
  }

  /** A parked spare may be started only with room for it and one more session, and nobody waiting. */
  mayPrewarm(): boolean {
    if (this.waiting.size > 0 || this.settings.throttle.pending > 0) return false;
    const headroom = this.headroomBytes(2);
    return headroom === undefined || headroom >= 0;
  }

  /** Sessions waiting for memory, and since when (waitingOn). */
  waitingSince(): ReadonlyMap<string, string> {
    return this.waiting;
  }

  /** Keeps only the marks of sessions still queued (others started, were killed or timed out). */
  retain(queued: ReadonlySet<string>): void {
    for (const id of this.waiting.keys()) if (!queued.has(id)) this.waiting.delete(id);
  }

  /** The session waits for a slot, not for memory (its turn in the queue has not come). */
  forget(sessionId: string): void {
    this.waiting.delete(sessionId);
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.relieving ?? Promise.resolve();
  }

  describe(): string {
    const available = this.settings.probe.availableBytes();
    return `available ${available === undefined ? "?" : Math.round(available / MB)} MB, reserve ${Math.round(this.settings.reserveBytes / MB)} MB`;
  }

  /** In the background, never under the scheduler's lock: closing a process takes its session's queue. */
  private relieve(): void {
    if (this.relieving || this.stopped) return;
    this.relieving = this.relieveNow().finally(() => {
      this.relieving = undefined;
    });
  }

  private async relieveNow(): Promise<void> {
    const releasers = this.releasers;
    if (!releasers) return;
    while (!this.stopped && this.waiting.size > 0) {
      const headroom = this.headroomBytes();
      const short = headroom !== undefined && headroom < 0;
      const released =
        short && ((await releasers.releaseIdleRun(RELEASE_GRACE_MS)) || (await releasers.releaseSpare()));
      if (!released) await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      // The queue re-checks every waiting session: those that fit start, the rest stay marked.
      await releasers.retryQueue();
    }
  }
}
