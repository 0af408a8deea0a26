import type { Histogram } from "prom-client";
import type { BatonEvent } from "../events/catalogue.ts";

/** Starts kept at most: a start whose end never comes (a lost event) cannot grow memory without bound. */
const MAX_OPEN = 10_000;

/** Pairs a start event with its end event by a key and observes the time between them (event timestamps). */
class Stopwatch {
  private readonly open = new Map<string, number>();
  private readonly histogram: Histogram;

  constructor(histogram: Histogram) {
    this.histogram = histogram;
  }

  start(key: string, at: number, restart = true): void {
    if (!restart && this.open.has(key)) return;
    this.open.delete(key);
    this.open.set(key, at);
    if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value as string);
  }

  stop(key: string, at: number): void {
    const started = this.open.get(key);
    if (started === undefined) return;
    this.open.delete(key);
    this.histogram.observe(Math.max(0, (at - started) / 1000));
  }

  drop(key: string): void {
    this.open.delete(key);
  }
}

/**
 * The latency histograms, fed from the live event bus: spawn (POST, i.e. `session.created`, to the first
 * `session.spawned`), turn (`session.spawned` or `session.resumed` to the turn's end) and permission wait
 * (`session.permission_requested` to `session.permission_resolved`). In memory: histograms restart at zero
 * with Baton, as Prometheus expects of a process's histograms.
 */
export class EventTimers {
  private readonly spawn: Stopwatch;
  private readonly turn: Stopwatch;
  private readonly permission: Stopwatch;

  constructor(histograms: { spawn: Histogram; turn: Histogram; permissionWait: Histogram }) {
    this.spawn = new Stopwatch(histograms.spawn);
    this.turn = new Stopwatch(histograms.turn);
    this.permission = new Stopwatch(histograms.permissionWait);
  }

  observe(event: BatonEvent): void {
    const id = event.sessionId;
    if (!id) return;
    const at = Date.parse(event.ts);
    switch (event.topic) {
      case "session.created":
        this.spawn.start(id, at);
        return;
      case "session.spawned":
        this.spawn.stop(id, at);
        this.turn.start(id, at, false);
        return;
      case "session.resumed":
        this.turn.start(id, at, false);
        return;
      case "session.completed":
      case "session.failed":
      case "session.killed":
        this.spawn.drop(id);
        this.turn.stop(id, at);
        return;
      case "session.permission_requested":
        this.permission.start(String(event.data.requestId), at);
        return;
      case "session.permission_resolved":
        this.permission.stop(String(event.data.requestId), at);
        return;
    }
  }
}
