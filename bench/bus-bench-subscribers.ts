// The event-bus benchmark's subscribers: a hundred of them share one process with the publisher, so they
// are written to cost as little CPU as possible (on a 2-core machine every ms they spend is taken from the
// Baton being measured). Both speak their protocol over a raw TCP socket and never build a string or an
// object per event: they find the event frames in the bytes and read `"seq":` and `"sentAt":` from them.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { TEST_TOKEN } from "../test/support/auth.ts";
import { now } from "./bus-bench-clients.ts";

/**
 * One subscriber's record: which seqs it saw, and the latency of each from publish (the stamp the
 * publisher put in `data.sentAt`) to receipt. Preallocated typed arrays and a seen-bitmap: the garbage a Set
 * and growing arrays made showed up as GC pauses in the very latencies being measured.
 */
export class Receipts {
  private readonly seen: Uint8Array;
  private readonly latencyBuffer: Float64Array;
  private recorded = 0;
  /** How many distinct seqs arrived, and the highest. */
  count = 0;
  lastSeq = 0;

  constructor(capacity: number) {
    this.seen = new Uint8Array(capacity + 1);
    this.latencyBuffer = new Float64Array(capacity);
  }

  get latencies(): Float64Array {
    return this.latencyBuffer.subarray(0, this.recorded);
  }

  /** Records the event whose JSON is `bytes[start, end)` (Baton writes `"seq":` and `"sentAt":` once each). */
  record(bytes: Buffer, start: number, end: number, received: number): void {
    const seqAt = bytes.indexOf(SEQ, start);
    if (seqAt < 0 || seqAt >= end) return;
    const seq = numberAt(bytes, seqAt + SEQ.length, end);
    if (!(seq > 0) || seq >= this.seen.length || this.seen[seq] === 1) return;
    this.seen[seq] = 1;
    this.count += 1;
    this.lastSeq = Math.max(this.lastSeq, seq);
    const sentAtAt = bytes.indexOf(SENT_AT, seqAt);
    if (sentAtAt < 0 || sentAtAt >= end) return;
    this.latencyBuffer[this.recorded] = received - numberAt(bytes, sentAtAt + SENT_AT.length, end);
    this.recorded += 1;
  }

  /** Forgets the latencies so far (after the warm-up); the seqs seen stay counted. */
  reset(): void {
    this.recorded = 0;
  }
}

const SEQ = Buffer.from('"seq":');
const SENT_AT = Buffer.from('"sentAt":');
const EVENT_FRAME = Buffer.from('{"type":"event"');
const SUBSCRIBED_FRAME = Buffer.from('{"type":"subscribed"');
const SSE_DATA = Buffer.from("\ndata: ");
const HEAD_END = Buffer.from("\r\n\r\n");

/** The non-negative decimal number (digits, an optional fraction) at `bytes[at]`. */
function numberAt(bytes: Buffer, at: number, end: number): number {
  let value = 0;
  let index = at;
  for (; index < end; index += 1) {
    const digit = (bytes[index] ?? 0) - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (bytes[index] !== 46) return value; // "."
  let scale = 0.1;
  for (index += 1; index < end; index += 1, scale /= 10) {
    const digit = (bytes[index] ?? 0) - 48;
    if (digit < 0 || digit > 9) break;
    value += digit * scale;
  }
  return value;
}

export interface Subscriber {
  receipts: Receipts;
  close(): void;
}

/**
 * Opens a TCP connection, sends `request` and hands every byte after the response head to `onBody`
 * (with what was left over from the previous call prepended: a frame may span TCP segments); `onBody`
 * returns how many bytes it consumed.
 */
function rawStream(
  url: string,
  request: string,
  onOpen: (socket: Socket, head: string) => void,
  onBody: (bytes: Buffer, received: number) => number,
): Socket {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.setNoDelay(true);
  let pending: Buffer | undefined;
  let open = false;
  socket.once("connect", () => socket.write(request));
  socket.on("data", (chunk: Buffer) => {
    const received = now();
    let bytes = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    if (!open) {
      const headEnd = bytes.indexOf(HEAD_END);
      if (headEnd < 0) {
        pending = bytes;
        return;
      }
      open = true;
      onOpen(socket, bytes.toString("latin1", 0, headEnd));
      bytes = bytes.subarray(headEnd + 4);
    }
    const consumed = onBody(bytes, received);
    if (consumed < bytes.length) pending = Buffer.from(bytes.subarray(consumed));
  });
  return socket;
}

/** A WebSocket subscriber on `bench.*`, live from now; resolves once Baton confirmed the subscription. */
export function subscribeWs(url: string, capacity: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts(capacity);
    const { host } = new URL(url);
    const request =
      `GET /ws HTTP/1.1\r\nhost: ${host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
      `sec-websocket-key: ${randomBytes(16).toString("base64")}\r\nsec-websocket-version: 13\r\n` +
      `authorization: Bearer ${TEST_TOKEN}\r\n\r\n`;
    const socket = rawStream(
      url,
      request,
      (open, head) => {
        if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`WebSocket upgrade: ${head}`));
        const subscribe = JSON.stringify({ type: "subscribe", id: "b", topics: ["bench.*"] });
        open.write(maskedTextFrame(subscribe));
      },
      (bytes, received) => {
        // Server frames (RFC 6455 §5.2) are unmasked: 2 header bytes, then 0, 2 or 8 length bytes.
        let at = 0;
        while (bytes.length - at >= 2) {
          const opcode = (bytes[at] ?? 0) & 0x0f;
          const short = (bytes[at + 1] ?? 0) & 0x7f;
          const header = short === 126 ? 4 : short === 127 ? 10 : 2;
          if (bytes.length - at < header) break;
          const length =
            short === 126
              ? bytes.readUInt16BE(at + 2)
              : short === 127
                ? Number(bytes.readBigUInt64BE(at + 2))
                : short;
          const start = at + header;
          const end = start + length;
          if (end > bytes.length) break;
          if (opcode === 9)
            socket.write(maskedFrame(0x8a, bytes.subarray(start, end))); // ping → pong
          else if (opcode === 1 && bytes.indexOf(EVENT_FRAME, start) === start) {
            receipts.record(bytes, start, end, received);
          } else if (opcode === 1 && bytes.indexOf(SUBSCRIBED_FRAME, start) === start) {
            resolve({ receipts, close: () => socket.destroy() });
          }
          at = end;
        }
        return at;
      },
    );
    socket.once("error", reject);
  });
}

function maskedTextFrame(text: string): Buffer {
  return maskedFrame(0x81, Buffer.from(text));
}

/** A client frame must be masked (RFC 6455 §5.3); payloads here are short (< 126 bytes). */
function maskedFrame(first: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = first;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let index = 0; index < payload.length; index += 1)
    frame[6 + index] = (payload[index] ?? 0) ^ (mask[index % 4] ?? 0);
  return frame;
}

/**
 * An SSE subscriber on `GET /events?topics=bench.*`, live from now; resolves once the headers are in.
 * The body is chunked, but Baton writes whole SSE messages per chunk, so a `data:` line never contains
 * chunk framing: only complete lines are read, the rest waits for the next segment.
 */
export function subscribeSse(url: string, capacity: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const receipts = new Receipts(capacity);
    const { host } = new URL(url);
    const request =
      `GET /events?topics=bench.* HTTP/1.1\r\nhost: ${host}\r\naccept: text/event-stream\r\n` +
      `authorization: Bearer ${TEST_TOKEN}\r\n\r\n`;
    const socket = rawStream(
      url,
      request,
      (_open, head) => {
        if (!head.startsWith("HTTP/1.1 200"))
          return reject(new Error(`SSE answered ${head.split("\r\n")[0]}`));
        resolve({ receipts, close: () => socket.destroy() });
      },
      (bytes, received) => {
        let consumed = 0;
        for (;;) {
          const start = bytes.indexOf(SSE_DATA, consumed);
          if (start < 0) return Math.max(consumed, bytes.length - SSE_DATA.length);
          const end = bytes.indexOf(10, start + SSE_DATA.length);
          if (end < 0) return start;
          receipts.record(bytes, start + SSE_DATA.length, end, received);
          consumed = end;
        }
      },
    );
    socket.once("error", reject);
  });
}
