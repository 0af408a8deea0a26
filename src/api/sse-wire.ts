import type { ChunkFraming } from "./write-batch.ts";

/**
 * The bytes of an SSE stream after its head, shared by Baton's process and the fan-out process
 * (src/api/fanout) so a stream reads the same whichever of them writes it.
 */

/** A client whose unsent backlog passes this is cut off rather than growing Baton's memory without bound. */
export const SSE_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export const SSE_HEARTBEAT = Buffer.from(": heartbeat\n\n");

/** One chunk of a chunked body: its size in hex, CRLF, the data, CRLF. */
export const CHUNKED: ChunkFraming = {
  prefix: (bytes) => Buffer.from(`${bytes.toString(16)}\r\n`),
  suffix: Buffer.from("\r\n"),
};

/** The chunk that ends a chunked body. */
export const LAST_CHUNK = "0\r\n\r\n";

/** `id:` is the seq, `event:` the topic, `data:` the event's JSON (one line: JSON.stringify has no newline). */
export function sseMessage(seq: number, topic: string, json: string): Buffer {
  return Buffer.from(`id: ${seq}\nevent: ${topic}\ndata: ${json}\n\n`);
}
