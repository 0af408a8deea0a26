import type { RunObserver } from "./runner-port.ts";

/** A start still holding its permit this long (a CLI that never speaks) lets the next one go anyway. */
const MAX_HOLD_MS = 20_000;

/**
 * At most `max` agent processes starting at once: a start costs about half a CPU-second (measured), so on a
 * small box a spawn storm would otherwise push every start, and every running session, out by seconds. A
 * start holds its permit until its process first speaks (or exits).
 */
export class StartThrottle {
  private readonly max: number;
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /** Starts in flight plus those waiting for a permit. */
  get pending(): number {
    return this.inFlight + this.waiters.length;
  }

  get starting(): number {
    return this.inFlight;
  }

  async acquire(): Promise<StartPermit> {
    if (this.inFlight >= this.max) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.inFlight += 1;
    return new StartPermit(() => this.release());
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.inFlight -= 1;
  }
}

export class StartPermit {
  private released = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onRelease: () => void;

  constructor(onRelease: () => void) {
    this.onRelease = onRelease;
    this.timer = setTimeout(() => this.release(), MAX_HOLD_MS);
    this.timer.unref();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    this.onRelease();
  }

  /**
   * The same observer, releasing this permit at the process's first word: any callback but `onSpawned`
   * (the SDK reports the spawn before the process has done anything), its exit included.
   */
  watch(observer: RunObserver): RunObserver {
    const watched = { ...observer };
    for (const key of Object.keys(observer) as (keyof RunObserver)[]) {
      if (key === "onSpawned") continue;
      const callback = observer[key] as (...args: unknown[]) => unknown;
      (watched as Record<string, unknown>)[key] = (...args: unknown[]) => {
        this.release();
        return callback(...args);
      };
    }
    return watched;
  }
}
