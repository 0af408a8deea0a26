import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { LatencyHistogram } from "../../src/events/delivery-timing.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { Scrape } from "../support/prometheus.ts";
import { waitUntil } from "../support/wait-until.ts";
import { WsProbe } from "./ws-probe.ts";

const EVENTS = 12;

/** Counts the `data:` lines of an SSE stream as they arrive; the stream is cancelled after the test. */
async function countSseEvents(t: TestContext, url: string): Promise<{ received(): number }> {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const response = await fetch(url, {
    headers: authHeaders({ accept: "text/event-stream" }),
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  const body = response.body;
  assert.ok(body);
  let received = 0;
  void (async () => {
    try {
      for await (const text of body.pipeThrough(new TextDecoderStream()))
        received += text.split("\ndata: ").length - 1 + (text.startsWith("data: ") ? 1 : 0);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return { received: () => received };
}

function deliveries(scrape: Scrape) {
  const sample = scrape.family("baton_event_delivery_seconds").metrics[0];
  assert.ok(sample?.buckets, "a histogram with buckets");
  return {
    count: Number(sample.count),
    sum: Number(sample.sum),
    // By bound: object keys that look like integers ("1") come first in a Record's own order.
    buckets: Object.entries(sample.buckets)
      .map(([le, count]) => [le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(count)] as const)
      .sort((a, b) => a[0] - b[0]),
  };
}

test("baton_event_delivery_seconds counts every live delivery to a socket, over WebSocket and SSE, and no replay", async (t) => {
  const h = await startHarness(t);
  const probe = await WsProbe.open(t, h.url);
  await probe.subscribe({ id: "live", topics: ["lab.*"] });
  const sse = await countSseEvents(t, `${h.url}/events?topics=lab.*`);

  let last = 0;
  for (let index = 0; index < EVENTS; index += 1) last = (await h.client.publish("lab.tick", { index })).seq;
  await probe.waitForSeq("live", last);
  await waitUntil(() => (sse.received() >= EVENTS ? true : undefined), 10_000, `${EVENTS} SSE events`);

  const live = deliveries(new Scrape(await h.client.metrics()));
  assert.equal(live.count, 2 * EVENTS, "one delivery per event and subscriber");
  assert.ok(live.sum > 0 && live.sum / live.count < 10, `a plausible mean (${live.sum / live.count} s)`);
  let previous = 0;
  for (const [le, count] of live.buckets) {
    assert.ok(count >= previous, `buckets are cumulative (le=${le})`);
    previous = count;
  }
  assert.equal(live.buckets.at(-1)?.[0], Number.POSITIVE_INFINITY);
  assert.equal(live.buckets.at(-1)?.[1], live.count, "+Inf holds every delivery");

  // A replay is a read of the stored log, not a delivery of a live event: it is not timed.
  await probe.subscribe({ id: "replay", topics: ["lab.*"], after: 0 });
  await probe.waitForSeq("replay", last);
  assert.equal(probe.events("replay").length, EVENTS);
  assert.equal(deliveries(new Scrape(await h.client.metrics())).count, 2 * EVENTS);
});

test("the delivery histogram's percentiles are the upper bounds of 0.05 ms buckets below 100 ms, 1 ms above", () => {
  const histogram = new LatencyHistogram();
  for (let index = 1; index <= 98; index += 1) histogram.record(index / 10); // 0.1 .. 9.8 ms
  histogram.record(250.4);
  histogram.record(20_000); // past the last bucket
  assert.equal(histogram.count, 100);
  assert.ok(Math.abs(histogram.percentile(50) - 5.05) < 1e-9, `p50 ${histogram.percentile(50)}`);
  assert.equal(histogram.percentile(99), 251);
  assert.equal(histogram.percentile(100), Number.POSITIVE_INFINITY);
  assert.equal(histogram.countUpTo(10), 98);
  histogram.reset();
  assert.ok(Number.isNaN(histogram.percentile(99)));
});
