import { BatonError } from "../core/errors.ts";
import { selectSessionKey } from "../store/key-queries.ts";
import { selectMessageById } from "../store/message-queries.ts";
import type { Store } from "../store/open-store.ts";
import {
  countSessionsByStatus,
  type SessionRow,
  selectSessionById,
  selectSessionByName,
  selectSessions,
} from "../store/session-queries.ts";
import { toReceipt } from "./message-receipt.ts";
import { configOf, toSession } from "./session-mapper.ts";
import type { ListSessionsQuery, MessageReceipt, Session } from "./session-schema.ts";
import { readQueuePositions } from "./slot-scheduler.ts";
import { waitingOnOf } from "./waiting-on.ts";

/** Reading sessions as callers see them: with queue position and why they wait; resolving names. */
export class SessionReads {
  private readonly store: Store;
  /** Queued sessions waiting for memory, and since when (memory-admission.ts). */
  private readonly memoryWaits: () => ReadonlyMap<string, string>;

  constructor(store: Store, memoryWaits: () => ReadonlyMap<string, string> = () => new Map()) {
    this.store = store;
    this.memoryWaits = memoryWaits;
  }

  /** What became of a message: queued, delivered, or refused (the session was killed first). */
  async messageReceipt(idOrName: string, messageId: string): Promise<MessageReceipt> {
    const session = await this.resolve(idOrName);
    const message = await selectMessageById(this.store.db, session.id, messageId);
    if (!message) {
      throw new BatonError("MESSAGE_NOT_FOUND", `session ${label(session)} has no message ${messageId}`);
    }
    return toReceipt(message);
  }

  /** The live session holding `key`, if any. */
  async byKey(key: string): Promise<Session | undefined> {
    const row = await selectSessionKey(this.store.db, key);
    return row ? this.getById(row.session_id) : undefined;
  }

  async get(idOrName: string): Promise<Session> {
    const row = await this.resolve(idOrName);
    return this.withQueuePosition(row);
  }

  async list(query: ListSessionsQuery): Promise<{ sessions: Session[]; nextCursor: string | null }> {
    const rows = await selectSessions(this.store.db, {
      status: query.status,
      owner: query.owner,
      parentSessionId: query.parentSessionId,
      workDir: query.workDir,
      before: query.cursor,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const positions = await readQueuePositions(this.store.db);
    // The store matches workDir exactly (an indexed JSON extract); re-checked on the parsed config anyway.
    const exact = query.workDir ? page.filter((row) => configOf(row).workDir === query.workDir) : page;
    const waits = await waitingOnOf(this.store.db, exact, this.memoryWaits());
    const sessions = exact.map((row) => toSession(row, positions.get(row.id), waits.get(row.id)));
    return { sessions, nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async counts(): Promise<Record<string, number>> {
    return countSessionsByStatus(this.store.db);
  }

  /** Resolves an id or a name to its session row; 404 when neither matches. */
  async resolve(idOrName: string): Promise<SessionRow> {
    const row = idOrName.startsWith("ses_")
      ? await selectSessionById(this.store.db, idOrName)
      : await selectSessionByName(this.store.db, idOrName);
    if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id or name "${idOrName}"`);
    return row;
  }

  async getById(id: string): Promise<Session> {
    return this.withQueuePosition(await this.requireRow(id));
  }

  async requireRow(id: string): Promise<SessionRow> {
    const row = await selectSessionById(this.store.db, id);
    if (!row) throw new BatonError("SESSION_NOT_FOUND", `no session with id "${id}"`);
    return row;
  }

  private async withQueuePosition(row: SessionRow): Promise<Session> {
    const waitingOn = (await waitingOnOf(this.store.db, [row], this.memoryWaits())).get(row.id);
    if (row.status !== "queued") return toSession(row, undefined, waitingOn);
    return toSession(row, (await readQueuePositions(this.store.db)).get(row.id), waitingOn);
  }
}

export function label(row: SessionRow): string {
  return row.name ? `"${row.name}" (${row.id})` : row.id;
}
