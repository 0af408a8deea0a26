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
 * Group commit for `POST /events`. Each commit fsyncs (synchronous=FULL) and node:sqlite blocks the event
 * loop meanwhile, so at high publish rates one transaction per event makes the fsync, not the fan-out, the
 * bottleneck. Publishes that arrive in the same event-loop turn are written in one transaction and
 * acknowledged together once it committed: still durable before "201 Created", a fraction of the fsyncs.
 * The flush waits for setImmediate so the requests that queued up during the previous commit are parsed
 * (I/O phase) before the next batch is cut.
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
        const events = await this.log.write(async ({ emitPublished }) => {
          const written: BatonEvent[] = [];
          for (const item of batch) {
            const event = await emitPublished(item.topic, item.data);
            this.log.timing.accepted(event, item.acceptedAt);
            written.push(event);
          }
          return written;
        });
        for (const [index, item] of batch.entries()) item.resolve(events[index] as BatonEvent);
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
