// One measured run of the event-bus benchmark, in a process of its own: a fresh Baton child, 100
// subscribers and the publisher. Every run starts from a clean heap, so one run's garbage (half a million
// receipts) is never collected during the next one and runs do not depend on their order.
// Usage: node bench/bus-bench-run.ts <WebSocket|SSE> <async|blocking>; prints the result row as JSON.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BatonProcess, type Durability, startBatonProcess } from "./bus-bench-baton.ts";
import { publishAtRate } from "./bus-bench-clients.ts";
import { type Subscriber, subscribeSse, subscribeWs } from "./bus-bench-subscribers.ts";

const IDLE_PROBE = fileURLToPath(new URL("./bus-bench-idle-probe.ts", import.meta.url));
export const SUBSCRIBERS = 100;
/**
 * BUS_BENCH_RATE lowers (or raises) the publish rate, for 5 s of publishing either way: at a rate whose CPU
 * fits in Baton's share of a contended machine, Baton's own p99 shows what the bus costs without the queue.
 */
export const RATE_PER_SECOND = Number(process.env.BUS_BENCH_RATE ?? 1000);
export const EVENTS = RATE_PER_SECOND * 5;
export const TARGET_P99_MS = 20;
const WARM_UP = 200;
const DRAIN_DEADLINE_MS = 15_000;

export type Transport = "WebSocket" | "SSE";

export async function measureRun(
  transport: Transport,
  durability: Durability,
): Promise<Record<string, string | number>> {
  const loadAtStart = loadavg()[0] ?? 0;
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
    await baton.resetTiming();
    const cpuBefore = baton.cpuSeconds();
    const fanoutCpuBefore = baton.childCpuSeconds();
    const clientCpuBefore = process.cpuUsage();
    const probe = startIdleProbe();
    const achievedRate = await publishAtRate(url, EVENTS, RATE_PER_SECOND);
    const idle = await probe();
    await drained(subscribers, WARM_UP + EVENTS);
    const timing = await baton.timing();
    const rssAfter = baton.rssMiB();
    const liveHeap = await baton.liveHeapMiB();
    const cpu = baton.cpuSeconds() - cpuBefore;
    const fanoutCpu = baton.childCpuSeconds() - fanoutCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);

    const all = new Float64Array(
      subscribers.reduce((total, subscriber) => total + subscriber.receipts.latencies.length, 0),
    );
    let offset = 0;
    for (const subscriber of subscribers) {
      all.set(subscriber.receipts.latencies, offset);
      offset += subscriber.receipts.latencies.length;
    }
    const latencies = all.sort();
    const lost = subscribers.reduce(
      (total, subscriber) => total + (WARM_UP + EVENTS - subscriber.receipts.count),
      0,
    );
    const { acceptToWrite, acceptToPublish, publishToWrite } = timing;
    return {
      "load (1 min)": loadAtStart.toFixed(1),
      transport,
      fsync: durability,
      "rate (ev/s)": Math.round(achievedRate),
      deliveries: latencies.length,
      "e2e p50": round(percentile(latencies, 50)),
      "e2e p99": round(percentile(latencies, 99)),
      "e2e max": round(latencies.at(-1) ?? Number.NaN),
      "Baton p50": round(acceptToWrite.p50),
      "Baton p99": round(acceptToWrite.p99),
      "Baton max": round(acceptToWrite.max),
      "acc→pub p99": round(acceptToPublish.p99),
      "pub→write p99": round(publishToWrite.p99),
      "events/write": round(acceptToWrite.count / Math.max(1, timing.socketWrites)),
      "loop delay p99/max": `${round(timing.loopDelayP99Ms)}/${round(timing.loopDelayMaxMs)}`,
      "idle wake p99/max": `${round(idle.p99)}/${round(idle.max)}`,
      "GC ms total/max": `${round(timing.gc.totalMs)}/${round(timing.gc.maxMs)}`,
      lost,
      "RSS after (MiB)": round(rssAfter),
      "heap after GC (MiB)": round(liveHeap),
      "Baton CPU (s)": round(cpu),
      "fan-out CPU (s)": round(fanoutCpu),
      "client CPU (s)": round((clientCpu.user + clientCpu.system) / 1e6),
      "Baton p99 target":
        acceptToWrite.p99 <= TARGET_P99_MS && acceptToWrite.count === latencies.length && lost === 0
          ? "met"
          : "MISSED",
    };
  } finally {
    for (const subscriber of subscribers) subscriber.close();
    await baton?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Starts bus-bench-idle-probe.ts; the function it returns stops it and gives its timer lateness (ms). */
function startIdleProbe(): () => Promise<{ p99: number; max: number }> {
  const probe = spawn(process.execPath, [IDLE_PROBE], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  probe.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => probe.once("exit", () => resolve()));
  return async () => {
    probe.stdin.end();
    await exited;
    return JSON.parse(output) as { p99: number; max: number };
  };
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
  const [transport, durability] = process.argv.slice(2);
  if (
    (transport !== "WebSocket" && transport !== "SSE") ||
    (durability !== "async" && durability !== "blocking")
  ) {
    process.stderr.write("usage: bus-bench-run.ts <WebSocket|SSE> <async|blocking>\n");
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await measureRun(transport, durability))}\n`);
}
