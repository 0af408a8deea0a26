import { isConnectionLost } from "../store/connection-errors.ts";
import type { Store } from "../store/open-store.ts";
import {
  deleteTranscript,
  hasTranscriptLines,
  insertTranscriptLines,
  ROWS_PER_INSERT,
  selectConversationOwner,
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

/**
 * How long a batch is retried while the database is out of reach: below the SDK's own 60 s timeout for an
 * `append`, past which it gives the batch up without a retry.
 */
const RETRY_FOR_MS = 45_000;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;

/** The SDK calls `append` after each flush of mirrored lines and `load`/`listSubkeys` before a resume. */
export class TranscriptStore {
  private readonly store: Store;
  /** In a cluster, this node's id: a batch retried after an outage is dropped once another node owns it. */
  private readonly node: string | undefined;
  /** Per transcript, the batches not yet stored, as one chain: each is written after the one before. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(store: Store, options: { node?: string | undefined } = {}) {
    this.store = store;
    this.node = options.node;
  }

  /**
   * Stores a batch, after every batch of the same transcript handed over before it. A write that never
   * reached the database (it restarting, a network cut) is retried for up to RETRY_FOR_MS: the SDK itself gives up
   * after three quick attempts and drops the lines, and a resume from a transcript missing its first lines
   * loses the conversation. A retry first checks that the session is still this node's: lines of a run
   * another node has since resumed would land after that node's own. The SDK also retries a rejected
   * batch, so a line whose `uuid` is already stored is skipped; lines without a uuid are always added.
   */
  append(key: TranscriptKey, entries: TranscriptEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const chainKey = chainKeyOf(key);
    const written = (this.pending.get(chainKey) ?? Promise.resolve()).then(() =>
      this.appendRetrying(key, entries),
    );
    const tail = written.catch(() => undefined);
    this.pending.set(chainKey, tail);
    void tail.then(() => {
      if (this.pending.get(chainKey) === tail) this.pending.delete(chainKey);
    });
    return written;
  }

  private async appendRetrying(key: TranscriptKey, entries: TranscriptEntry[]): Promise<void> {
    const deadline = Date.now() + RETRY_FOR_MS;
    let backoff = FIRST_BACKOFF_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (attempt > 0 && !(await this.stillOurs(key.sessionId))) return;
        await this.write(key, entries);
        return;
      } catch (error) {
        // A statement the database refuses (not one it never got) fails the same way again: no retry.
        if (!isConnectionLost(error) || Date.now() + backoff > deadline) throw error;
        // Unref: a Baton that stops meanwhile exits without waiting for the database to come back.
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async stillOurs(agentSessionId: string): Promise<boolean> {
    if (this.node === undefined) return true;
    const owner = await selectConversationOwner(this.store.db, agentSessionId);
    return owner === null || owner === this.node;
  }

  private async write(key: TranscriptKey, entries: TranscriptEntry[]): Promise<void> {
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

  /** The transcript in append order (with this process's batches still being written); null when never written. */
  async load(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    await this.pendingOf(key.projectKey, key.sessionId);
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

  /** Whether any line of the conversation reached the store (its project key aside), once written. */
  async hasConversation(sessionId: string): Promise<boolean> {
    const infix = `\u0000${sessionId}\u0000`;
    await Promise.all([...this.pending].filter(([key]) => key.includes(infix)).map(([, tail]) => tail));
    return hasTranscriptLines(this.store.db, sessionId);
  }

  /** The session's subagent transcripts, so a resume materialises them too. */
  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    await this.pendingOf(key.projectKey, key.sessionId);
    return selectTranscriptSubpaths(this.store.db, {
      project_key: key.projectKey,
      session_id: key.sessionId,
    });
  }

  /** Settles when the batches this process is still writing for the conversation (any subpath) are done. */
  private async pendingOf(projectKey: string, sessionId: string): Promise<void> {
    const prefix = chainKeyOf({ projectKey, sessionId, subpath: "" });
    await Promise.all([...this.pending].filter(([key]) => key.startsWith(prefix)).map(([, tail]) => tail));
  }
}

function chainKeyOf(key: TranscriptKey): string {
  return `${key.projectKey}\u0000${key.sessionId}\u0000${key.subpath ?? ""}`;
}

/** The SDK calls an empty subpath invalid and omits it for the main transcript: both are the main one. */
function rowKeyOf(key: TranscriptKey): TranscriptKeyRow {
  return { project_key: key.projectKey, session_id: key.sessionId, subpath: key.subpath ?? "" };
}
