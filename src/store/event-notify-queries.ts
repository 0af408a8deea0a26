import { sql } from "kysely";
import pg from "pg";
import type { Tx } from "./schema.ts";

/**
 * Events across the nodes of a cluster on PostgreSQL: each write transaction that recorded events sends
 * its last seq on one channel (delivered at commit, never for a rolled-back one), and every node listens.
 * The payload is only a hint: the listener reads the events from the log, so a lost notification costs
 * latency (the next one, or the heartbeat's check, fills the gap), never an event.
 */
export const EVENT_CHANNEL = "baton_events";

export async function notifyEventsCommitted(tx: Tx, lastSeq: number): Promise<void> {
  await sql`select pg_notify(${EVENT_CHANNEL}, ${String(lastSeq)})`.execute(tx);
}

/** The seq an event notification carries, or undefined for a payload that is not one. */
export function parseEventSeq(payload: string): number | undefined {
  const seq = Number(payload);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export interface NotificationListener {
  close(): Promise<void>;
}

/**
 * A connection of its own (LISTEN holds it; a pooled one would be handed to other queries) that hands each
 * notification's payload to the handler of its channel, and calls `onLost` when the connection breaks (the
 * caller reconnects). One connection serves every channel a node listens on.
 */
export async function listenForNotifications(
  url: string,
  handlers: Readonly<Record<string, (payload: string) => void>>,
  onLost: (error: Error) => void,
): Promise<NotificationListener> {
  const client = new pg.Client({ connectionString: url });
  let closing = false;
  client.on("notification", (message) => handlers[message.channel]?.(message.payload ?? ""));
  client.on("error", (error) => {
    if (!closing) onLost(error);
  });
  client.on("end", () => {
    if (!closing) onLost(new Error("the LISTEN connection ended"));
  });
  await client.connect();
  for (const channel of Object.keys(handlers)) await client.query(`listen ${channel}`);
  return {
    close: async () => {
      closing = true;
      await client.end().catch(() => undefined);
    },
  };
}
