import { Histogram, type Registry } from "prom-client";
import type { DeliveryTiming } from "../events/delivery-timing.ts";

/** Seconds: a quiet bus delivers in well under a millisecond; a busy or starved one shows in the upper ones. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * `baton_event_delivery_seconds`, read at scrape time from the bus's own LatencyHistogram (see
 * events/delivery-timing.ts), which records every delivery for an array increment. prom-client's observe
 * costs ~140 ns, and at a hundred subscribers and a thousand events a second it would be called 100,000
 * times a second on the path being measured. prom-client has no way to hand it pre-counted buckets, so this
 * Histogram answers the registry's read method itself.
 */
/**
 * prom-client reads a metric through `getForPromString` (the text format; its `get` calls it too). The
 * method is not in prom-client's types, so this is its shape as the library's own Histogram returns it.
 */
interface PromHistogramData {
  name: string;
  help: string;
  type: "histogram";
  aggregator: "sum";
  values: Array<{
    metricName: string;
    labels: Record<string, string | number>;
    sharedLabels: Record<string, string>;
    value: number;
  }>;
}

class PrecountedHistogram extends Histogram {
  private readonly timing: DeliveryTiming;
  private readonly metric: { name: string; help: string };

  constructor(metric: { name: string; help: string }, timing: DeliveryTiming, registers: Registry[]) {
    super({ ...metric, buckets: BUCKETS, registers });
    this.metric = metric;
    this.timing = timing;
  }

  async getForPromString(): Promise<PromHistogramData> {
    // Deliveries written by the fan-out process (`fanoutProcess`) count as soon as they are made.
    await this.timing.collect();
    const source = this.timing.acceptToWrite;
    const metric = this.metric;
    const sample = (suffix: string, value: number, labels: Record<string, string | number> = {}) => ({
      metricName: `${metric.name}_${suffix}`,
      labels,
      sharedLabels: {},
      value,
    });
    return {
      ...metric,
      type: "histogram",
      aggregator: "sum",
      values: [
        ...BUCKETS.map((le) => sample("bucket", source.countUpTo(le * 1000), { le })),
        sample("bucket", source.count, { le: "+Inf" }),
        sample("sum", source.sumMs / 1000),
        sample("count", source.count),
      ],
    };
  }
}

export function registerDeliveryMetric(registers: Registry[], timing: DeliveryTiming): void {
  const help =
    "Time from an event being accepted (the POST /events handler, or Baton recording its own event) to its " +
    "frame being written to a subscriber's socket (WebSocket or SSE), per live delivery.";
  new PrecountedHistogram({ name: "baton_event_delivery_seconds", help }, timing, registers);
}
