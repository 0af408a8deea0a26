import { sql } from "kysely";
import pg from "pg";
import type { Tx } from "./schema.ts";

/**
 * Events across the nodes of a cluster on PostgreSQL: each write transaction that recorded events sends
 * its last seq on one channel (delivered at commit, never for a rolled-back one), and every node listens.
 * The payload is only a hint: the listener reads the events from the log, so a lost notification costs
 * latency (the next one, or the heartbeat's check, fills the gap), never an event.
 */
const CHANNEL = "baton_events";

export async function notifyEventsCommitted(tx: Tx, lastSeq: number): Promise<void> {
  await sql`select pg_notify(${CHANNEL}, ${String(lastSeq)})`.execute(tx);
}

export interface EventSeqListener {
  close(): Promise<void>;
}

/**
 * A connection of its own (LISTEN holds it; a pooled one would be handed to other queries) that calls
 * `onSeq` with each committed seq, and `onLost` when the connection breaks (the caller reconnects).
 */
export async function listenForEventSeqs(
  url: string,
  onSeq: (seq: number) => void,
  onLost: (error: Error) => void,
): Promise<EventSeqListener> {
  const client = new pg.Client({ connectionString: url });
  let closing = false;
  client.on("notification", (message) => {
    const seq = Number(message.payload);
    if (Number.isSafeInteger(seq)) onSeq(seq);
  });
  client.on("error", (error) => {
    if (!closing) onLost(error);
  });
  client.on("end", () => {
    if (!closing) onLost(new Error("the LISTEN connection ended"));
  });
  await client.connect();
  await client.query(`listen ${CHANNEL}`);
  return {
    close: async () => {
      closing = true;
      await client.end().catch(() => undefined);
    },
  };
}
