import type { RunSpec } from "../sessions/runner-port.ts";
import { type SdkRunnerSettings, startKeyOf } from "./sdk-options.ts";
import { Spare } from "./spare.ts";

export interface WarmPoolSettings {
  /** Spares kept per distinct set of start-time options; 0 turns the pool off. */
  size: number;
  /** How many distinct option sets keep spares (the least recently used set's spares go first). */
  maxKinds: number;
  /** Wait after a claim before refilling, so the refill does not compete with the claimed session's start. */
  refillDelayMs: number;
  /** Wait after a failed prewarm before trying that option set again. */
  failureBackoffMs: number;
}

export const DEFAULT_POOL: Omit<WarmPoolSettings, "size"> = {
  maxKinds: 3,
  refillDelayMs: 500,
  failureBackoffMs: 30_000,
};

/**
 * Parked `claude` processes, per distinct set of start-time options (startKeyOf), refilled one at a time in
 * the background. Option sets are learned from spawns: the first spawn of a kind starts cold and teaches the
 * pool its options (tool definitions included); later ones claim a spare. Refills run only while `mayPrewarm`
 * says the box has room (memory admission, no process starting) and are the first memory given back.
 */
export class WarmPool {
  private readonly settings: WarmPoolSettings;
  private readonly runner: SdkRunnerSettings;
  /** Option sets in use, most recently used last, with a spec to prewarm them from. */
  private readonly kinds = new Map<string, RunSpec>();
  private readonly ready = new Map<string, Spare[]>();
  private readonly backoffUntil = new Map<string, number>();
  private warming: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private mayPrewarm: () => boolean = () => true;

  constructor(settings: WarmPoolSettings, runner: SdkRunnerSettings) {
    this.settings = settings;
    this.runner = runner;
  }

  /** Lets the box's admission rules veto a refill (checked before every prewarm). */
  setGate(mayPrewarm: () => boolean): void {
    this.mayPrewarm = mayPrewarm;
  }

  get size(): number {
    return this.settings.size;
  }

  get readyCount(): number {
    let count = 0;
    for (const spares of this.ready.values()) count += spares.length;
    return count;
  }

  /**
   * A ready spare for `spec`'s options, or undefined (start cold; always when `claim` is false). Either way
   * the kind is remembered.
   */
  take(spec: RunSpec, claim = true): Spare | undefined {
    if (this.stopped || this.settings.size <= 0) return undefined;
    const key = startKeyOf(spec);
    if (key === undefined) return undefined;
    this.remember(key, spec);
    const spare = claim ? this.ready.get(key)?.shift() : undefined;
    this.scheduleRefill(this.settings.refillDelayMs);
    return spare;
  }

  /** Gives back one parked spare (the oldest); resolves false when there was none. */
  async releaseOne(): Promise<boolean> {
    let oldest: Spare | undefined;
    for (const spares of this.ready.values())
      for (const spare of spares) if (!oldest || spare.parkedAt < oldest.parkedAt) oldest = spare;
    if (!oldest) return false;
    this.drop(oldest);
    await oldest.close();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.warming;
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((spare) => spare.close()));
  }

  private remember(key: string, spec: RunSpec): void {
    this.kinds.delete(key);
    this.kinds.set(key, spec);
    while (this.kinds.size > this.settings.maxKinds) {
      const [evicted] = this.kinds.keys();
      if (evicted === undefined) break;
      this.kinds.delete(evicted);
      // Options no spawn uses any more: their spares are discarded.
      for (const spare of this.ready.get(evicted) ?? []) void spare.close();
      this.ready.delete(evicted);
    }
  }

  private scheduleRefill(delayMs: number): void {
    if (this.stopped || this.timer || this.warming) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
    }, delayMs);
    this.timer.unref();
  }

  /** Prewarms one spare for the most recently used kind that lacks one, then looks again. */
  private refill(): void {
    if (this.stopped || this.warming) return;
    const now = Date.now();
    const wanted = [...this.kinds.entries()]
      .reverse()
      .find(
        ([key]) =>
          (this.ready.get(key)?.length ?? 0) < this.settings.size && (this.backoffUntil.get(key) ?? 0) <= now,
      );
    if (!wanted) return;
    if (!this.mayPrewarm()) {
      this.scheduleRefill(this.settings.refillDelayMs * 4);
      return;
    }
    const [key, template] = wanted;
    this.warming = Spare.start(key, template, this.runner)
      .then(
        (spare) => this.park(spare),
        () => {
          this.backoffUntil.set(key, Date.now() + this.settings.failureBackoffMs);
        },
      )
      .finally(() => {
        this.warming = undefined;
        this.scheduleRefill(0);
      });
  }

  /** Parks a fresh spare; one no longer wanted (stopped meanwhile, kind evicted) is closed instead. */
  private async park(spare: Spare): Promise<void> {
    if (this.stopped || !this.kinds.has(spare.key)) {
      await spare.close();
      return;
    }
    const spares = this.ready.get(spare.key) ?? [];
    spares.push(spare);
    this.ready.set(spare.key, spares);
    // A parked process that dies (OOM, a crash) is replaced.
    void spare.exited.then(() => {
      if (!this.drop(spare)) return;
      this.scheduleRefill(this.settings.refillDelayMs);
    });
  }

  private drop(spare: Spare): boolean {
    const spares = this.ready.get(spare.key);
    const index = spares?.indexOf(spare) ?? -1;
    if (!spares || index < 0) return false;
    spares.splice(index, 1);
    return true;
  }
}
