import type { Store } from "../store/open-store.ts";
import {
  deleteTranscript,
  hasTranscriptLines,
  insertTranscriptLines,
  ROWS_PER_INSERT,
  selectTranscriptLines,
  selectTranscriptSessions,
  selectTranscriptSubpaths,
  type TranscriptKeyRow,
} from "../store/transcript-queries.ts";

/*
 * Agent transcripts in Baton's database, shaped as the Agent SDK's `SessionStore` (the runner hands this
 * object to `query()` as `options.sessionStore`; the domain does not import the SDK, the shapes match
 * structurally). The CLI still writes its local JSONL file; the SDK mirrors every line here, and a resume
 * loads the conversation from here into a temporary config dir, so any node of a cluster can resume a
 * session whose file lives (or lived) on another machine.
 */

/** Which transcript: `projectKey` is the SDK's encoding of the cwd; `subpath` names a subagent's file. */
export interface TranscriptKey {
  projectKey: string;
  sessionId: string;
  /** Absent for the main conversation, e.g. `subagents/agent-<id>` for a subagent's. */
  subpath?: string;
}

/** One transcript line: opaque JSON to Baton, handed back deep-equal on load. */
export interface TranscriptEntry {
  type: string;
  uuid?: string;
  timestamp?: string;
  [field: string]: unknown;
}

/** The SDK calls `append` after each flush of mirrored lines and `load`/`listSubkeys` before a resume. */
export class TranscriptStore {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /**
   * Stores a batch in order. The SDK retries a rejected batch, so a line whose `uuid` is already stored is
   * skipped; lines without a uuid (titles, mode markers) are always added.
   */
  async append(key: TranscriptKey, entries: TranscriptEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const lines = entries.map((entry) => ({
      uuid: typeof entry.uuid === "string" ? entry.uuid : null,
      entry: JSON.stringify(entry),
    }));
    const appendedAt = new Date().toISOString();
    const rowKey = rowKeyOf(key);
    // One statement is atomic on its own; a batch past one statement's rows takes a transaction (not the
    // store's, which serialises every writer behind the event counter: mirrored lines need no such order).
    if (lines.length <= ROWS_PER_INSERT)
      await insertTranscriptLines(this.store.db, rowKey, lines, appendedAt);
    else
      await this.store.db.transaction().execute((tx) => insertTranscriptLines(tx, rowKey, lines, appendedAt));
    await this.store.durable();
  }

  /** The transcript in append order; null when it was never written (or was deleted). */
  async load(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    const lines = await selectTranscriptLines(this.store.db, rowKeyOf(key));
    if (lines.length === 0) return null;
    return lines.map((line) => JSON.parse(line) as TranscriptEntry);
  }

  /** The project's main transcripts; `mtime` is epoch milliseconds of the latest append. */
  async listSessions(projectKey: string): Promise<{ sessionId: string; mtime: number }[]> {
    const rows = await selectTranscriptSessions(this.store.db, projectKey);
    return rows.map((row) => ({ sessionId: row.session_id, mtime: Math.floor(Date.parse(row.appended_at)) }));
  }

  /** Without a subpath: the session's main transcript and every subagent transcript; else that one only. */
  async delete(key: TranscriptKey): Promise<void> {
    await deleteTranscript(this.store.db, {
      project_key: key.projectKey,
      session_id: key.sessionId,
      subpath: key.subpath || undefined,
    });
    await this.store.durable();
  }

  /** Whether any line of the conversation reached the store (its project key aside). */
  hasConversation(sessionId: string): Promise<boolean> {
    return hasTranscriptLines(this.store.db, sessionId);
  }

  /** The session's subagent transcripts, so a resume materialises them too. */
  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    return selectTranscriptSubpaths(this.store.db, {
      project_key: key.projectKey,
      session_id: key.sessionId,
    });
  }
}

/** The SDK calls an empty subpath invalid and omits it for the main transcript: both are the main one. */
function rowKeyOf(key: TranscriptKey): TranscriptKeyRow {
  return { project_key: key.projectKey, session_id: key.sessionId, subpath: key.subpath ?? "" };
}
