import type { BatonEvent } from "../events/catalogue.ts";
import type { EventBus } from "../events/event-bus.ts";
import { selectSessionOwnership, selectSessionOwnershipById } from "../store/access-queries.ts";
import type { Store } from "../store/open-store.ts";

interface Entry {
  owner: string;
  parent: string | undefined;
}

/** A session and its ancestors, nearest first: what every authorization decision on a session needs. */
export type Ancestry = readonly { id: string; owner: string }[];

/** Parent chains are short; this bounds a walk over a corrupt (cyclic) chain. */
const MAX_DEPTH = 64;

/**
 * Who owns each session and who its parent is. Both never change after spawn, so they are cached: the
 * event streams of `user` and `agent` principals ask "may this principal see session X" for every event,
 * synchronously and in order. The cache is filled from the store on first use (a few dozen bytes a session)
 * and kept current by `session.created` events, which the bus delivers before any other event of that
 * session. Deployments where only admins and viewers connect never load it.
 */
export class SessionDirectory {
  private readonly store: Store;
  private readonly entries = new Map<string, Entry>();
  private loading: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(store: Store, bus: EventBus) {
    this.store = store;
    // Subscribed from the start, so a session created while the table is being read is not missed.
    this.unsubscribe = bus.subscribe((event) => this.onEvent(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Loads every session's owner and parent once; later calls share the same promise. */
  ready(): Promise<void> {
    this.loading ??= (async () => {
      for (const row of await selectSessionOwnership(this.store.db)) {
        if (!this.entries.has(row.id)) this.remember(row);
      }
    })();
    return this.loading;
  }

  /** The session and its ancestors, read from the store for any link the cache does not hold yet. */
  async ancestry(sessionId: string): Promise<Ancestry> {
    const chain: { id: string; owner: string }[] = [];
    let id: string | undefined = sessionId;
    while (id && chain.length < MAX_DEPTH) {
      let entry = this.entries.get(id);
      if (!entry) {
        const row = await selectSessionOwnershipById(this.store.db, id);
        if (!row) break;
        entry = this.remember(row);
      }
      chain.push({ id, owner: entry.owner });
      id = entry.parent;
    }
    return chain;
  }

  /** Synchronous: does `owner` own this session or one of its ancestors? Call after `ready()`. */
  ownedBy(sessionId: string, owner: string): boolean {
    let id: string | undefined = sessionId;
    for (let depth = 0; id && depth < MAX_DEPTH; depth++) {
      const entry = this.entries.get(id);
      if (!entry) return false;
      if (entry.owner === owner) return true;
      id = entry.parent;
    }
    return false;
  }

  private onEvent(event: BatonEvent): void {
    if (event.topic !== "session.created" || !event.sessionId) return;
    const config = event.data.config as { owner?: unknown; parentSessionId?: unknown } | undefined;
    if (typeof config?.owner !== "string") return;
    this.remember({
      id: event.sessionId,
      owner: config.owner,
      parent_session_id: typeof config.parentSessionId === "string" ? config.parentSessionId : null,
    });
  }

  private remember(row: { id: string; owner: string; parent_session_id: string | null }): Entry {
    const entry = { owner: row.owner, parent: row.parent_session_id ?? undefined };
    this.entries.set(row.id, entry);
    return entry;
  }
}
