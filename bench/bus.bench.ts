// The event-bus benchmark: one publisher at 1,000 events/s to 100 subscribers, over WebSocket and over
// SSE, against a fresh Baton child process each. Reports publish-to-receive latency, events lost (must be
// 0) and Baton's RSS. Loopback only, bounded in events and time. Standalone: `node bench/bus.bench.ts`.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatonProcess,
  publishAtRate,
  type Subscriber,
  type SyncMode,
  startBatonProcess,
  subscribeSse,
  subscribeWs,
} from "./bus-bench-clients.ts";

/** The same shape as bench/table.ts's BenchTable, declared here so this file stands on its own. */
export interface BusBenchTable {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

const SUBSCRIBERS = 100;
const RATE_PER_SECOND = 1000;
const EVENTS = 5000;
const WARM_UP = 200;
const DRAIN_DEADLINE_MS = 15_000;
const TARGET_P99_MS = 20;

type Transport = "WebSocket" | "SSE";

export async function runBusBenchmark(): Promise<BusBenchTable> {
  const loadBefore = loadavg()[0] ?? 0;
  const rows: Array<Record<string, string | number>> = [];
  for (const transport of ["WebSocket", "SSE"] as const) {
    for (const syncMode of ["FULL", "NORMAL"] as const) rows.push(await measure(transport, syncMode));
  }
  return {
    title: `Event bus: ${RATE_PER_SECOND} events/s to ${SUBSCRIBERS} subscribers (${EVENTS} events)`,
    rows,
    notes: [
      "latency: from just before POST /events is sent to the subscriber parsing the event (one clock)",
      "insert→recv: from the event's ts (taken at insert, ms precision) to receipt: commit plus fan-out only",
      "publisher and all subscribers share one process; Baton runs in its own, on a fresh SQLite file",
      "sqlite FULL is what Baton ships (an fsync per commit, so per publish); NORMAL shows the fan-out alone",
      `target: p99 <= ${TARGET_P99_MS} ms and 0 lost; RSS is Baton's, with subscribers connected`,
      "CPU columns: Baton's and this process's (publisher + subscribers) during the measured publishing",
      `machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`,
    ],
  };
}

async function measure(transport: Transport, syncMode: SyncMode): Promise<Record<string, string | number>> {
  const home = mkdtempSync(join(tmpdir(), "baton-bench-bus-"));
  let baton: BatonProcess | undefined;
  const subscribers: Subscriber[] = [];
  try {
    baton = await startBatonProcess(home, syncMode);
    const url = baton.url;
    const subscribe = transport === "WebSocket" ? subscribeWs : subscribeSse;
    for (let index = 0; index < SUBSCRIBERS; index += 1) subscribers.push(await subscribe(url));
    await publishAtRate(url, WARM_UP, RATE_PER_SECOND); // JIT, SQLite pages, socket buffers
    await drained(subscribers, WARM_UP);
    for (const subscriber of subscribers) subscriber.receipts.reset();
    const rssBefore = baton.rssMiB();
    const cpuBefore = baton.cpuSeconds();
    const clientCpuBefore = process.cpuUsage();
    const achievedRate = await publishAtRate(url, EVENTS, RATE_PER_SECOND);
    await drained(subscribers, WARM_UP + EVENTS);
    const rssAfter = baton.rssMiB();
    const cpu = baton.cpuSeconds() - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);

    const sorted = (pick: (subscriber: Subscriber) => number[]) =>
      subscribers.flatMap(pick).sort((a, b) => a - b);
    const latencies = sorted((subscriber) => subscriber.receipts.latencies);
    const fromInsert = sorted((subscriber) => subscriber.receipts.fromInsert);
    const lost = subscribers.reduce(
      (total, subscriber) => total + (WARM_UP + EVENTS - subscriber.receipts.seqs.size),
      0,
    );
    return {
      transport,
      sqlite: syncMode,
      "rate (ev/s)": Math.round(achievedRate),
      deliveries: latencies.length,
      "p50 (ms)": round(percentile(latencies, 50)),
      "p99 (ms)": round(percentile(latencies, 99)),
      "max (ms)": round(latencies.at(-1) ?? Number.NaN),
      "insert→recv p99 (ms)": round(percentile(fromInsert, 99)),
      lost,
      "RSS before (MiB)": round(rssBefore),
      "RSS after (MiB)": round(rssAfter),
      "Baton CPU (s)": round(cpu),
      "client CPU (s)": round((clientCpu.user + clientCpu.system) / 1e6),
      "p99 target": percentile(latencies, 99) <= TARGET_P99_MS && lost === 0 ? "met" : "MISSED",
    };
  } finally {
    for (const subscriber of subscribers) subscriber.close();
    await baton?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Waits until every subscriber has seen seq `last` (events are numbered from 1 in a fresh Baton). */
async function drained(subscribers: readonly Subscriber[], last: number): Promise<void> {
  const deadline = Date.now() + DRAIN_DEADLINE_MS;
  while (subscribers.some((subscriber) => subscriber.receipts.lastSeq < last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (import.meta.main) {
  const table = await runBusBenchmark();
  process.stdout.write(`## ${table.title}\n`);
  console.table(table.rows);
  for (const note of table.notes ?? []) process.stdout.write(`- ${note}\n`);
}
