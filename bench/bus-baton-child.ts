// Baton for the event-bus benchmark, in a child process of its own so its RSS is measured alone.
// Usage: node bench/bus-baton-child.ts <home> <port> <async|blocking>. "async" is Baton as shipped;
// "blocking" sets SQLite's synchronous=FULL, an fsync inside every commit (see Durability).
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { sql } from "kysely";
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";

const [home, port, durability] = process.argv.slice(2);
if (!home || !port || (durability !== "async" && durability !== "blocking")) {
  process.stderr.write("usage: bus-baton-child.ts <home> <port> <async|blocking>\n");
  process.exit(2);
}
const baton = await createBaton(
  loadConfig({
    env: {},
    flags: {
      home,
      port,
      token: TEST_TOKEN,
      logLevel: "warn",
      // BUS_BENCH_FANOUT_PROCESS=1: subscribers are served by the fan-out process (src/api/fanout).
      fanoutProcess: process.env.BUS_BENCH_FANOUT_PROCESS === "1",
    },
  }),
);
if (durability === "blocking") await sql`PRAGMA synchronous = FULL`.execute(baton.store.db);
await baton.listen();
// Where Baton's time goes, for the benchmark: its own accept → socket-write latency (log.timing, also
// behind /metrics), how late the event loop ran, and the GC pauses, over the measured part of a run.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count += 1;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ["gc"] });
const { timing } = baton.log;
const percentiles = (histogram: typeof timing.acceptToWrite) => ({
  p50: histogram.percentile(50),
  p99: histogram.percentile(99),
  max: histogram.percentile(100),
  count: histogram.count,
});
process.on("message", async (message) => {
  if (message === "reset-timing") {
    await timing.collect(); // what the fan-out process recorded so far is reset too
    timing.reset();
    loopDelay.reset();
    Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 });
    process.send?.({ reset: true });
  } else if (message === "timing") {
    await timing.collect();
    process.send?.({
      acceptToWrite: percentiles(timing.acceptToWrite),
      acceptToPublish: percentiles(timing.acceptToPublish),
      publishToWrite: percentiles(timing.publishToWrite),
      socketWrites: timing.writes,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      gc: { ...gc },
    });
  } else if (message === "live-heap") {
    // The heap that survives a full GC (the child runs with --expose-gc).
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ liveHeapBytes: process.memoryUsage().heapUsed });
  }
});
const stop = () => void baton.stop().then(() => process.exit(0));
process.once("SIGTERM", stop);
// The IPC channel closes when the run that started this process dies: do not outlive it.
process.once("disconnect", stop);
