import type { BatonEvent } from "./catalogue.ts";
import type { EventLog } from "./event-log.ts";

const MAX_BATCH = 500;

interface PendingPublish {
  topic: string;
  data: Record<string, unknown>;
  /** When the publish reached Baton (performance.now()): where its delivery latency starts. */
  acceptedAt: number;
  resolve(event: BatonEvent): void;
  reject(error: unknown): void;
}

/**
 * Group commit for `POST /events`. Publishes that arrive while the previous batch is being written are
 * written together in one transaction (one counter update, one INSERT, see insertEvents) and acknowledged
 * together once it is durable: still durable before "201 Created", with a fraction of the statements and
 * WAL fsyncs. The flush waits for setImmediate so the requests that queued up during the previous commit
 * are parsed (I/O phase) before the next batch is cut. Batches stay one after another (not the next commit
 * during the previous fsync): on a CPU-starved machine the bigger batches cost less CPU per event, and the
 * CPU is what the tail latency there is made of.
 */
export class PublishBatcher {
  private readonly log: EventLog;
  private pending: PendingPublish[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(log: EventLog) {
    this.log = log;
  }

  publish(topic: string, data: Record<string, unknown>): Promise<BatonEvent> {
    return new Promise((resolve, reject) => {
      this.pending.push({ topic, data, acceptedAt: performance.now(), resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushing = this.flushing.then(() => this.flush());
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const events = await this.log.write(async ({ emitPublishedBatch }) => {
          const written = await emitPublishedBatch(batch);
          for (const [index, event] of written.entries())
            this.log.timing.accepted(event, batch[index]?.acceptedAt);
          return written;
        });
        for (const [index, item] of batch.entries()) item.resolve(events[index] as BatonEvent);
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
