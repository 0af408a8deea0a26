// The event-bus benchmark: one publisher at 1,000 events/s to 100 subscribers, over WebSocket and over
// SSE. Each run is a process of its own (bench/bus-bench-run.ts) against a fresh Baton child; this file
// runs them one after another and reports publish-to-receive latency, events lost (must be 0), Baton's RSS
// and live heap. Loopback only, bounded in events and time. Standalone: `node bench/bus.bench.ts`.
import { spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { Durability } from "./bus-bench-clients.ts";
import { EVENTS, RATE_PER_SECOND, SUBSCRIBERS, TARGET_P99_MS, type Transport } from "./bus-bench-run.ts";

/** The same shape as bench/table.ts's BenchTable, declared here so this file stands on its own. */
export interface BusBenchTable {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

/** Runs of the shipped configuration per transport: one run's p99 moves by a few ms with the machine. */
const ROUNDS = 3;
const RUN = fileURLToPath(new URL("./bus-bench-run.ts", import.meta.url));
/** A run publishes for 5 s; anything near this means it hung. */
const RUN_DEADLINE_MS = 120_000;

export async function runBusBenchmark(): Promise<BusBenchTable> {
  const loadBefore = loadavg()[0] ?? 0;
  const rows: Array<Record<string, string | number>> = [];
  const shippedP99: Record<Transport, number[]> = { WebSocket: [], SSE: [] };
  for (const transport of ["WebSocket", "SSE"] as const) {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const row: Record<string, string | number> = {
        run: `${round}`,
        ...(await runInOwnProcess(transport, "async")),
      };
      shippedP99[transport].push(Number(row["p99 (ms)"]));
      rows.push(row);
    }
    rows.push({ run: "-", ...(await runInOwnProcess(transport, "blocking")) });
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
      "each run: a fresh process for the publisher and the subscribers, and one for Baton on a new SQLite file",
      "fsync async: as shipped (the WAL fdatasync off the event loop, before the 201 and the fan-out);",
      "  blocking: SQLite synchronous=FULL, the fsync inside each commit stalling Baton (0.1.0 did this)",
      `target: p99 <= ${TARGET_P99_MS} ms and 0 lost; RSS is Baton's, with subscribers connected`,
      "heap after GC: Baton's live JavaScript heap after a forced full GC at the end, subscribers still on;",
      "  RSS grows because V8 sizes its heap up under the load, not because events are retained",
      "CPU columns: Baton's and the run process's (publisher + subscribers) during the measured publishing",
      `machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`,
    ],
  };
}

/** Runs bench/bus-bench-run.ts and returns the row it printed; fails if it fails or hangs. */
function runInOwnProcess(
  transport: Transport,
  durability: Durability,
): Promise<Record<string, string | number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, transport, durability], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
    });
    // SIGTERM lets the run stop its Baton child on the way out.
    const killer = setTimeout(() => child.kill("SIGTERM"), RUN_DEADLINE_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(killer);
      if (code === 0) resolve(JSON.parse(output) as Record<string, string | number>);
      else reject(new Error(`${transport}/${durability} run ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

if (import.meta.main) {
  const table = await runBusBenchmark();
  process.stdout.write(`## ${table.title}\n`);
  console.table(table.rows);
  for (const note of table.notes ?? []) process.stdout.write(`- ${note}\n`);
}
