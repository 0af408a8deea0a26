/* The transcript table (015-transcripts); part of `Database` in schema.ts. */
import type { Generated } from "kysely";

/** One line of an agent's transcript (the SDK's SessionStoreEntry), in the order it was appended. */
export interface TranscriptEntriesTable {
  /** The append order (assigned by the database). */
  id: Generated<number>;
  project_key: string;
  session_id: string;
  /** '' for the main conversation, else the SDK's subpath (e.g. `subagents/agent-<id>`). */
  subpath: string;
  /** The line's own `uuid` when it has one: the idempotency key of a retried append. */
  uuid: string | null;
  /** The line as JSON. */
  entry: string;
  appended_at: string;
}
