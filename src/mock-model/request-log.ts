// The record of every model request the mock server received, and waiting for one to arrive.

export interface MockModelRequest {
  /** 1-based, in arrival order. */
  seq: number;
  /** ISO timestamp of arrival. */
  at: string;
  path: string;
  sessionId?: string;
  model?: string;
  instruction?: string;
  step?: number;
  messageCount: number;
  body: unknown;
}

type RequestPredicate = (request: MockModelRequest) => boolean;

interface Waiter {
  predicate: RequestPredicate;
  resolve: (request: MockModelRequest) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_WAIT_MS = 10_000;

export interface RequestLog {
  readonly requests: readonly MockModelRequest[];
  record(request: MockModelRequest): void;
  waitFor(predicate: RequestPredicate, timeoutMs?: number): Promise<MockModelRequest>;
  /** Rejects every pending waiter: nothing more will arrive. */
  close(reason: string): void;
}

export function makeRequestLog(): RequestLog {
  const requests: MockModelRequest[] = [];
  const waiters = new Set<Waiter>();
  let closedReason: string | undefined;

  const settle = (waiter: Waiter): void => {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
  };

  return {
    requests,
    record(request) {
      requests.push(request);
      for (const waiter of [...waiters]) {
        if (!waiter.predicate(request)) continue;
        settle(waiter);
        waiter.resolve(request);
      }
    },
    waitFor(predicate, timeoutMs = DEFAULT_WAIT_MS) {
      const existing = requests.find(predicate);
      if (existing !== undefined) return Promise.resolve(existing);
      if (closedReason !== undefined) return Promise.reject(new Error(closedReason));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            settle(waiter);
            reject(
              new Error(
                `mock model: no matching request within ${timeoutMs} ms (${requests.length} requests received)`,
              ),
            );
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    close(reason) {
      closedReason = reason;
      for (const waiter of [...waiters]) {
        settle(waiter);
        waiter.reject(new Error(reason));
      }
    },
  };
}
