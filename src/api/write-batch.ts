/**
 * Fan-out writes, batched. Sending one event to a hundred clients is a hundred socket writes, and on a
 * small machine the syscalls (on loopback they include the receiver's TCP work) are most of the fan-out's
 * cost. So each connection queues its encoded frames in a WriteBatch and every batch with something queued
 * is written as one buffer by one shared flush:
 *   - after the current event-loop turn (setImmediate) when the previous flush is at least
 *     FLUSH_INTERVAL_MS old: a quiet bus adds no delay;
 *   - otherwise when it turns FLUSH_INTERVAL_MS old: a busy bus writes each socket at most every
 *     FLUSH_INTERVAL_MS, with everything that arrived meanwhile, instead of once per event.
 * Every frame of a connection goes through its batch, so frames stay in the order they were produced.
 */
export const FLUSH_INTERVAL_MS = 2;

/** Wraps each written chunk, e.g. in HTTP chunked-encoding framing; joined in the same single copy. */
export interface ChunkFraming {
  prefix(bytes: number): Buffer;
  suffix: Buffer;
}

export class WriteBatch {
  private readonly write: (chunk: Buffer) => void;
  private readonly framing: ChunkFraming | undefined;
  private frames: Buffer[] = [];
  private bytes = 0;

  constructor(write: (chunk: Buffer) => void, framing?: ChunkFraming) {
    this.write = write;
    this.framing = framing;
  }

  /** Bytes queued and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.bytes;
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.length;
    scheduleFlush(this);
  }

  /** Writes what is queued now (also called before a close, so the close goes out after the last frame). */
  flush(): void {
    if (this.frames.length === 0) return;
    const { framing, bytes } = this;
    const parts = framing ? [framing.prefix(bytes), ...this.frames, framing.suffix] : this.frames;
    const chunk = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    this.clear();
    this.write(chunk);
  }

  /** Drops what is queued: the connection is gone. */
  clear(): void {
    this.frames = [];
    this.bytes = 0;
  }
}

const dirty = new Set<WriteBatch>();
let flushScheduled = false;
let lastFlushAt = 0;

function scheduleFlush(batch: WriteBatch): void {
  dirty.add(batch);
  if (flushScheduled) return;
  flushScheduled = true;
  const wait = lastFlushAt + FLUSH_INTERVAL_MS - performance.now();
  if (wait <= 0) setImmediate(flushAll);
  else setTimeout(flushAll, wait);
}

function flushAll(): void {
  flushScheduled = false;
  lastFlushAt = performance.now();
  const batches = [...dirty];
  dirty.clear();
  for (const batch of batches) batch.flush();
}
