/**
 * Fan-out writes, batched. Sending one event to a hundred clients is a hundred socket writes, and on a
 * small machine the syscalls (on loopback they include the receiver's TCP work) are most of the fan-out's
 * cost. So each connection queues its encoded frames in a WriteBatch and every batch with something queued
 * is written as one buffer by one shared flush:
 *   - after the current event-loop turn (setImmediate) when the previous flush is at least the flush
 *     interval old: a quiet bus adds no delay;
 *   - otherwise when it turns that old: a busy bus writes each socket at most once an interval, with
 *     everything that arrived meanwhile, instead of once per event.
 * The interval (from one flush's start to the next) follows the cost of the flushes: FLUSH_COST_RATIO times
 * the last flush's duration, between MIN_ and MAX_FLUSH_INTERVAL_MS, so a busy bus spends at most about a
 * third of the time writing unless the cap is reached. A few subscribers
 * keep the 2 ms minimum; a hundred on a machine whose CPU is contended (where each write's loopback TCP
 * work, counted to Baton, was a quarter of its CPU at 2 ms) get fewer, larger writes, and the CPU saved
 * shortens the queue that the tail latency there is made of.
 * Every frame of a connection goes through its batch, so frames stay in the order they were produced.
 * An event frame may carry its event's DeliveryStamp: when the batch is written, the time from accept to
 * that write is recorded (DeliveryTiming), Baton's own part of the latency a subscriber sees.
 */
import type { DeliveryStamp, DeliveryTiming } from "../events/delivery-timing.ts";

export const MIN_FLUSH_INTERVAL_MS = 2;
export const MAX_FLUSH_INTERVAL_MS = 8;
const FLUSH_COST_RATIO = 3;

/** Wraps each written chunk, e.g. in HTTP chunked-encoding framing; joined in the same single copy. */
export interface ChunkFraming {
  prefix(bytes: number): Buffer;
  suffix: Buffer;
}

export class WriteBatch {
  private readonly write: (chunk: Buffer) => void;
  private readonly framing: ChunkFraming | undefined;
  private readonly timing: DeliveryTiming | undefined;
  private frames: Buffer[] = [];
  private stamps: DeliveryStamp[] = [];
  private bytes = 0;

  constructor(
    write: (chunk: Buffer) => void,
    options: { framing?: ChunkFraming; timing?: DeliveryTiming } = {},
  ) {
    this.write = write;
    this.framing = options.framing;
    this.timing = options.timing;
  }

  /** Bytes queued and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.bytes;
  }

  push(frame: Buffer, stamp?: DeliveryStamp): void {
    this.frames.push(frame);
    if (stamp) this.stamps.push(stamp);
    this.bytes += frame.length;
    scheduleFlush(this);
  }

  /** Writes what is queued now (also called before a close, so the close goes out after the last frame). */
  flush(): void {
    if (this.frames.length === 0) return;
    const { framing, bytes } = this;
    const parts = framing ? [framing.prefix(bytes), ...this.frames, framing.suffix] : this.frames;
    const chunk = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const stamps = this.stamps;
    this.clear();
    this.write(chunk);
    if (stamps.length > 0) this.timing?.written(stamps, performance.now());
  }

  /** Drops what is queued: the connection is gone. */
  clear(): void {
    this.frames = [];
    if (this.stamps.length > 0) this.stamps = [];
    this.bytes = 0;
  }
}

const dirty = new Set<WriteBatch>();
let flushScheduled = false;
let lastFlushAt = 0;
let flushInterval = MIN_FLUSH_INTERVAL_MS;

function scheduleFlush(batch: WriteBatch): void {
  dirty.add(batch);
  if (flushScheduled) return;
  flushScheduled = true;
  const wait = lastFlushAt + flushInterval - performance.now();
  if (wait <= 0) setImmediate(flushAll);
  else setTimeout(flushAll, wait);
}

function flushAll(): void {
  flushScheduled = false;
  lastFlushAt = performance.now();
  const batches = [...dirty];
  dirty.clear();
  for (const batch of batches) batch.flush();
  const took = performance.now() - lastFlushAt;
  flushInterval = Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(MIN_FLUSH_INTERVAL_MS, FLUSH_COST_RATIO * took));
}
