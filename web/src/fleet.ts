import type { BatonEvent, SessionEventData } from "../../src/events/catalogue.ts";
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
    if (this.movedInQueue(event)) this.changed();
    else if (event.sessionId && event.topic !== "session.output") this.markDirty(event.sessionId);
    else if (event.topic.startsWith("session.permission")) this.changed();
  }

  children(id: string): Session[] {
    return [...this.sessions.values()].filter((session) => session.parentSessionId === id);
  }

  pendingFor(sessionId: string): PendingPermission[] {
    return [...this.pending.values()].filter((request) => request.sessionId === sessionId);
  }

  /**
   * A queue move announces the new position of every session behind it (a thousand events when the head of
   * a thousand-session queue goes): for a session already queued the event says all that changed, so it is
   * applied as it is rather than costing a re-read each.
   */
  private movedInQueue(event: BatonEvent): boolean {
    const session = event.sessionId ? this.sessions.get(event.sessionId) : undefined;
    if (event.topic !== "session.queued" || session?.status !== "queued") return false;
    const { position } = event.data as SessionEventData<"session.queued">;
    this.sessions.set(session.id, { ...session, queuePosition: position });
    return true;
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
          this.sessions.set(id, session);
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

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

async function allSessions(): Promise<Session[]> {
  const sessions: Session[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.list({ limit: 500, ...(cursor && { cursor }) });
    sessions.push(...page.sessions);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return sessions;
}
