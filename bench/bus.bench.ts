// The event-bus benchmark: one publisher at 1,000 events/s to 100 subscribers, over WebSocket and over
// SSE, against a fresh Baton child process each. Reports publish-to-receive latency, events lost (must be
// 0) and Baton's RSS. Loopback only, bounded in events and time. Standalone: `node bench/bus.bench.ts`.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatonProcess,
  type Durability,
  publishAtRate,
  type Subscriber,
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
/** Runs of the shipped configuration per transport: one run's p99 moves by a few ms with the machine. */
const ROUNDS = 3;

type Transport = "WebSocket" | "SSE";

export async function runBusBenchmark(): Promise<BusBenchTable> {
  const loadBefore = loadavg()[0] ?? 0;
  const rows: Array<Record<string, string | number>> = [];
  const shippedP99: Record<Transport, number[]> = { WebSocket: [], SSE: [] };
  for (const transport of ["WebSocket", "SSE"] as const) {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const row = await measure(transport, "async", `${round}`);
      shippedP99[transport].push(Number(row["p99 (ms)"]));
      rows.push(row);
    }
    rows.push(await measure(transport, "blocking", "-"));
  }
  const summary = (transport: Transport) => {
    const sorted = [...shippedP99[transport]].sort((a, b) => a - b);
    return `${transport} p99 over ${ROUNDS} runs: median ${sorted[Math.floor(sorted.length / 2)]} ms, worst ${sorted.at(-1)} ms`;
  };
  return {
    title: `Event bus: ${RATE_PER_SECOND} events/s to ${SUBSCRIBERS} subscribers (${EVENTS} events a run)`,
    rows,
    notes: [
      summary("WebSocket"),
      summary("SSE"),
      "latency: from just before POST /events is sent to the subscriber parsing the event (one clock)",
      "insert→recv: from the event's ts (taken at insert, ms precision) to receipt: commit plus fan-out only",
      "publisher and all subscribers share one process; Baton runs in its own, on a fresh SQLite file",
      "fsync async: as shipped (the WAL fdatasync off the event loop, before the 201 and the fan-out);",
      "  blocking: SQLite synchronous=FULL, the fsync inside each commit stalling Baton (0.1.0 did this)",
      `target: p99 <= ${TARGET_P99_MS} ms and 0 lost; RSS is Baton's, with subscribers connected`,
      "CPU columns: Baton's and this process's (publisher + subscribers) during the measured publishing",
      `machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`,
    ],
  };
}

async function measure(
  transport: Transport,
  durability: Durability,
  run: string,
): Promise<Record<string, string | number>> {
  const home = mkdtempSync(join(tmpdir(), "baton-bench-bus-"));
  let baton: BatonProcess | undefined;
  const subscribers: Subscriber[] = [];
  try {
    baton = await startBatonProcess(home, durability);
    const url = baton.url;
    const subscribe = transport === "WebSocket" ? subscribeWs : subscribeSse;
    for (let index = 0; index < SUBSCRIBERS; index += 1)
      subscribers.push(await subscribe(url, WARM_UP + EVENTS));
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

    const sorted = (pick: (subscriber: Subscriber) => Float64Array) => {
      const all = new Float64Array(
        subscribers.reduce((total, subscriber) => total + pick(subscriber).length, 0),
      );
      let offset = 0;
      for (const subscriber of subscribers) {
        all.set(pick(subscriber), offset);
        offset += pick(subscriber).length;
      }
      return all.sort();
    };
    const latencies = sorted((subscriber) => subscriber.receipts.latencies);
    const fromInsert = sorted((subscriber) => subscriber.receipts.fromInsert);
    const lost = subscribers.reduce(
      (total, subscriber) => total + (WARM_UP + EVENTS - subscriber.receipts.count),
      0,
    );
    return {
      transport,
      fsync: durability,
      run,
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

function percentile(sorted: Float64Array, p: number): number {
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
