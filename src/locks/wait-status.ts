import type { KeyedSerial } from "../core/serial.ts";
import type { EventLog } from "../events/event-log.ts";
import { transitionSession } from "../sessions/session-writes.ts";
import type { Store } from "../store/open-store.ts";
import { countPendingPermissions } from "../store/permission-queries.ts";

export interface LockWaitAnnouncement {
  resource: string;
  holder: string;
  holderName?: string;
  reason?: string;
  timeoutMs: number;
}

/**
 * A session's status while it waits for a lock: `running -> waiting` with `session.lock_waiting`, and back
 * once nothing blocks it. Both run as short tasks in the session's serial queue and are never awaited by
 * the lock service: the queue may be busy with the very kill that will release the lock.
 */
export class WaitStatus {
  private readonly deps: {
    store: Store;
    log: EventLog;
    serial: KeyedSerial;
    onError(error: unknown, context: string): void;
  };

  constructor(deps: WaitStatus["deps"]) {
    this.deps = deps;
  }

  enter(sessionId: string, announcement: LockWaitAnnouncement): void {
    void this.deps.serial
      .run(sessionId, () =>
        transitionSession(this.deps.log, sessionId, {
          to: "waiting",
          from: ["running", "waiting"],
          events: [["session.lock_waiting", { ...announcement }]],
        }),
      )
      .catch((error) => this.deps.onError(error, `lock wait of ${sessionId}`));
  }

  /** Back to running unless `stillWaiting` (another lock) or a pending permission request keeps it waiting. */
  leave(sessionId: string, stillWaiting: () => boolean): void {
    void this.deps.serial
      .run(sessionId, async () => {
        if (stillWaiting()) return;
        if ((await countPendingPermissions(this.deps.store.db, sessionId)) > 0) return;
        await transitionSession(this.deps.log, sessionId, { to: "running", from: ["waiting"] });
      })
      .catch((error) => this.deps.onError(error, `lock wait end of ${sessionId}`));
  }
}
