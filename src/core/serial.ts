/**
 * Runs tasks one at a time per key, in submission order. Sessions use it so that a send, a kill and the
 * SDK's own callbacks for one session never interleave their read-modify-write of that session's row.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /**
   * Queues a task that nobody awaits (a callback, a timer, a wake-up): its failure goes to `onFailure`
   * instead of becoming an unhandled rejection.
   */
  detach(key: string, task: () => Promise<unknown>, onFailure: (error: unknown) => void): void {
    this.run(key, task).catch(onFailure);
  }

  /** Resolves when every task submitted so far has settled. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/** A single-key KeyedSerial: a promise-chain mutex. */
export class Mutex {
  private readonly serial = new KeyedSerial();
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.serial.run("", task);
  }
}
