/**
 * Bounds a wait: rejects after `ms` (naming what never happened) or as soon as `signal` aborts, so a
 * benchmark that hits a stuck agent fails and cleans up instead of hanging.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(new Error(`aborted while waiting for ${what}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`${what}: not within ${ms} ms`))), ms);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
