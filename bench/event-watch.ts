import { performance } from "node:perf_hooks";
import type { Baton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { followEvents } from "../src/client/event-stream.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import { within } from "./deadline.ts";

/** Where an event was observed: Baton's SSE stream over HTTP, or its in-process bus. */
export type EventSource = "sse" | "bus";

export interface Arrival {
  event: BatonEvent;
  /** performance.now() when the event reached this observer. */
  at: number;
}

interface Waiter {
  source: EventSource;
  predicate: (event: BatonEvent) => boolean;
  resolve: (arrival: Arrival) => void;
}

/**
 * Records when every Baton event arrives, through both paths a caller could use: one long-lived SSE stream
 * on `/events` (what an HTTP client sees) and a direct `log.bus` subscription (the commit itself). Arrival
 * times are taken on receipt, so a wait registered after the event still gets the true time.
 */
export class EventWatch {
  private readonly arrivals: Record<EventSource, Arrival[]> = { sse: [], bus: [] };
  private readonly waiters = new Set<Waiter>();
  private readonly controller = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private following: Promise<void> | undefined;

  static async start(baton: Baton, url: string): Promise<EventWatch> {
    const watch = new EventWatch();
    const after = baton.log.bus.latestSeq;
    watch.unsubscribe = baton.log.bus.subscribe((event) => watch.record("bus", event));
    watch.following = followEvents({
      url,
      token: baton.adminToken,
      path: "/events",
      after,
      signal: watch.controller.signal,
      retryDelayMs: 100,
      onEvent: (event) => watch.record("sse", event),
    }).catch(() => undefined);
    // The stream is live once an event published after subscribing comes through it.
    const ready = await new BatonClient({ url, token: baton.adminToken }).publish("bench.ready", {});
    await watch.waitFor("sse", (event) => event.seq === ready.seq, 10_000);
    return watch;
  }

  /** The first arrival (past or future) on `source` matching `predicate`. */
  waitFor(
    source: EventSource,
    predicate: (event: BatonEvent) => boolean,
    timeoutMs = 30_000,
    signal?: AbortSignal,
  ): Promise<Arrival> {
    const seen = this.arrivals[source].find((arrival) => predicate(arrival.event));
    if (seen) return Promise.resolve(seen);
    let waiter: Waiter | undefined;
    const arrived = new Promise<Arrival>((resolve) => {
      waiter = { source, predicate, resolve };
      this.waiters.add(waiter);
    });
    return within(arrived, timeoutMs, `a matching event on ${source}`, signal).finally(() => {
      if (waiter) this.waiters.delete(waiter);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.controller.abort();
    await this.following;
  }

  private record(source: EventSource, event: BatonEvent): void {
    const arrival = { event, at: performance.now() };
    this.arrivals[source].push(arrival);
    for (const waiter of [...this.waiters]) {
      if (waiter.source !== source || !waiter.predicate(event)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(arrival);
    }
  }
}
