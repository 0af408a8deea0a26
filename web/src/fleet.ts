import type { BatonEvent } from "../../src/events/catalogue.ts";
import type { PermissionRequest } from "../../src/sessions/permission-schema.ts";
import type { Session } from "../../src/sessions/session-schema.ts";
import { client } from "./api.ts";

/** A permission request waiting for a person, as the inbox and the session view show it. */
export type PendingPermission = Pick<
  PermissionRequest,
  "id" | "sessionId" | "toolName" | "input" | "createdAt"
>;

/** Events come in bursts (a turn is several): one re-read per session per this many ms. */
const REFRESH_DELAY_MS = 50;
/** A queue move shifts every position behind it, with no event for those: re-read the queue at most this often. */
const QUEUE_REFRESH_MS = 1000;

/**
 * What the page knows about the fleet: every session the login may see and every pending permission
 * request. Loaded once, then kept current by events: a session an event names is re-read from the API
 * (batched), so the page shows exactly what the API says rather than re-deriving the state machine.
 */
export class FleetStore {
  readonly sessions = new Map<string, Session>();
  readonly pending = new Map<string, PendingPermission>();
  loaded = false;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: BatonEvent) => void>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private queueTimer: ReturnType<typeof setTimeout> | undefined;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every live event, for the session view's stream. */
  onEvent(listener: (event: BatonEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  async load(): Promise<void> {
    const [sessions, { permissions }] = await Promise.all([
      allSessions(),
      client.permissions({ status: "pending", limit: 500 }),
    ]);
    this.sessions.clear();
    for (const session of sessions) this.sessions.set(session.id, session);
    this.pending.clear();
    for (const request of permissions) this.pending.set(request.id, request);
    this.loaded = true;
    this.changed();
  }

  apply(event: BatonEvent): void {
    if (event.topic === "session.permission_requested" && event.sessionId) {
      const data = event.data as { requestId: string; toolName: string; input: unknown };
      this.pending.set(data.requestId, {
        id: data.requestId,
        sessionId: event.sessionId,
        toolName: data.toolName,
        input: data.input,
        createdAt: event.ts,
      });
    } else if (event.topic === "session.permission_resolved") {
      this.pending.delete((event.data as { requestId: string }).requestId);
    }
    for (const listener of this.eventListeners) listener(event);
    if (event.sessionId && event.topic !== "session.output") this.markDirty(event.sessionId);
    else if (event.topic.startsWith("session.permission")) this.changed();
  }

  children(id: string): Session[] {
    return [...this.sessions.values()].filter((session) => session.parentSessionId === id);
  }

  pendingFor(sessionId: string): PendingPermission[] {
    return [...this.pending.values()].filter((request) => request.sessionId === sessionId);
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    if (this.timer === undefined) this.timer = setTimeout(() => void this.refresh(), REFRESH_DELAY_MS);
  }

  private async refresh(): Promise<void> {
    const ids = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      ids.map(async (id) => {
        try {
          const session = await client.get(id);
          const before = this.sessions.get(id);
          this.sessions.set(id, session);
          if ((before?.status === "queued") !== (session.status === "queued")) this.queueMoved();
          // A request of a session that ended was cancelled with it.
          if (session.status === "killed") {
            for (const request of this.pendingFor(id)) this.pending.delete(request.id);
          }
        } catch {
          this.sessions.delete(id); // gone, or no longer ours to see
        }
      }),
    );
    this.timer = undefined;
    if (this.dirty.size > 0) this.markDirty([...this.dirty][0] as string);
    this.changed();
  }

  /** Someone joined or left the queue: the positions (and reasons) of the others come from the API again. */
  private queueMoved(): void {
    if (this.queueTimer !== undefined) return;
    this.queueTimer = setTimeout(async () => {
      try {
        for (const session of await allSessions({ status: "queued" })) this.sessions.set(session.id, session);
        this.changed();
      } catch {
        // The next queue move tries again; a reset reloads everything.
      } finally {
        this.queueTimer = undefined;
      }
    }, QUEUE_REFRESH_MS);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

async function allSessions(filter: { status?: string } = {}): Promise<Session[]> {
  const sessions: Session[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.list({ ...filter, limit: 500, ...(cursor && { cursor }) });
    sessions.push(...page.sessions);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return sessions;
}
