import type { BatonEvent } from "./catalogue.ts";

/** Bucket width below FINE_LIMIT_MS, and the 1 ms buckets above it up to COARSE_LIMIT_MS (then overflow). */
const FINE_STEP_MS = 0.05;
const FINE_LIMIT_MS = 100;
const COARSE_LIMIT_MS = 10_000;
const FINE_BUCKETS = FINE_LIMIT_MS / FINE_STEP_MS;
const BUCKETS = FINE_BUCKETS + (COARSE_LIMIT_MS - FINE_LIMIT_MS) + 1;

/**
 * A latency histogram cheap enough to record every delivery (a hundred subscribers at a thousand events a
 * second is 100,000 records a second: an array increment each, where prom-client's observe costs ~140 ns),
 * and fine enough for percentiles: 0.05 ms buckets up to 100 ms, 1 ms buckets up to 10 s.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sumMs = 0;

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    const index =
      value < FINE_LIMIT_MS
        ? Math.floor(value / FINE_STEP_MS)
        : Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor(value - FINE_LIMIT_MS));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count += 1;
    this.sumMs += value;
  }

  /** The upper bound of the bucket holding the p-th percentile, in ms (NaN when empty). */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index += 1) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return upperBoundMs(index);
    }
    return Number.POSITIVE_INFINITY;
  }

  /** How many records were at most `ms` (to the bucket: a Prometheus `le` bucket, cumulative). */
  countUpTo(ms: number): number {
    let total = 0;
    for (let index = 0; index < BUCKETS && upperBoundMs(index) <= ms + 1e-9; index += 1)
      total += this.counts[index] ?? 0;
    return total;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
  }

  /** What was recorded, to be added to another process's histogram (see absorb). */
  snapshot(): HistogramSnapshot {
    return { counts: this.counts.slice(), count: this.count, sumMs: this.sumMs };
  }

  /** Adds another histogram's records (the fan-out process's deliveries) to this one. */
  absorb(snapshot: HistogramSnapshot): void {
    for (let index = 0; index < BUCKETS; index += 1)
      this.counts[index] = (this.counts[index] ?? 0) + (snapshot.counts[index] ?? 0);
    this.count += snapshot.count;
    this.sumMs += snapshot.sumMs;
  }
}

export interface HistogramSnapshot {
  counts: Uint32Array;
  count: number;
  sumMs: number;
}

function upperBoundMs(index: number): number {
  if (index < FINE_BUCKETS) return (index + 1) * FINE_STEP_MS;
  if (index < BUCKETS - 1) return FINE_LIMIT_MS + (index - FINE_BUCKETS + 1);
  return Number.POSITIVE_INFINITY;
}

/** When one live event was accepted and when the bus published it (performance.now() ms). */
export interface DeliveryStamp {
  acceptedAt: number;
  publishedAt: number;
}

/**
 * Baton's own part of an event's latency, measured inside Baton: from the event being accepted (the
 * `POST /events` handler, or the write that records one of Baton's own events) to its frame being handed to
 * each subscriber's socket (the write returned). Split in two so the tail can be placed: accept → publish
 * is the publish batching, the commit and its fsync (once per event); publish → write is the fan-out and
 * the write batching (once per delivery). Only live deliveries count: replayed events carry no stamp.
 */
export class DeliveryTiming {
  readonly acceptToWrite = new LatencyHistogram();
  readonly acceptToPublish = new LatencyHistogram();
  readonly publishToWrite = new LatencyHistogram();
  /** Socket writes that carried live events: deliveries per write is what the write batching achieved. */
  writes = 0;
  private readonly stamps = new WeakMap<BatonEvent, DeliveryStamp>();
  private remote: (() => Promise<void>) | undefined;

  /** Stamps an event as accepted now, or at `at` when it was accepted earlier (a batched publish). */
  accepted(event: BatonEvent, at = performance.now()): void {
    const stamp = this.stamps.get(event);
    if (stamp) stamp.acceptedAt = Math.min(stamp.acceptedAt, at);
    else this.stamps.set(event, { acceptedAt: at, publishedAt: Number.NaN });
  }

  published(events: readonly BatonEvent[]): void {
    const at = performance.now();
    for (const event of events) {
      const stamp = this.stamps.get(event);
      if (!stamp) continue;
      stamp.publishedAt = at;
      this.acceptToPublish.record(at - stamp.acceptedAt);
    }
  }

  stampOf(event: BatonEvent): DeliveryStamp | undefined {
    return this.stamps.get(event);
  }

  /** The frames of these stamps' events went to one socket at `writtenAt`. */
  written(stamps: readonly DeliveryStamp[], writtenAt: number): void {
    this.writes += 1;
    for (const stamp of stamps) {
      this.acceptToWrite.record(writtenAt - stamp.acceptedAt);
      this.publishToWrite.record(writtenAt - stamp.publishedAt);
    }
  }

  reset(): void {
    this.acceptToWrite.reset();
    this.acceptToPublish.reset();
    this.publishToWrite.reset();
    this.writes = 0;
  }

  /**
   * Deliveries are also recorded in another process (the fan-out process), which reports them here every
   * second; `collect` brings in what it has recorded up to now.
   */
  recordedElsewhere(collect: (() => Promise<void>) | undefined): void {
    this.remote = collect;
  }

  /** Resolves when the deliveries recorded anywhere so far are in these histograms. */
  async collect(): Promise<void> {
    await this.remote?.();
  }

  /** The deliveries recorded here (publish → write happens in the fan-out process when there is one). */
  deliveries(): DeliverySnapshot {
    return {
      acceptToWrite: this.acceptToWrite.snapshot(),
      publishToWrite: this.publishToWrite.snapshot(),
      writes: this.writes,
    };
  }

  absorbDeliveries(snapshot: DeliverySnapshot): void {
    this.acceptToWrite.absorb(snapshot.acceptToWrite);
    this.publishToWrite.absorb(snapshot.publishToWrite);
    this.writes += snapshot.writes;
  }
}

export interface DeliverySnapshot {
  acceptToWrite: HistogramSnapshot;
  publishToWrite: HistogramSnapshot;
  writes: number;
}
