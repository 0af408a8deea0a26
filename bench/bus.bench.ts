// The event-bus benchmark: one publisher at 1,000 events/s to 100 subscribers, over WebSocket and over
// SSE. Each run is a process of its own (bench/bus-bench-run.ts) against a fresh Baton child; this file
// runs them one after another and reports the latency the subscribers saw (end to end), Baton's own part
// of it measured inside Baton (accept → socket write), events lost (must be 0), CPU, RSS and live heap.
// Loopback only, bounded in events and time. Standalone: `node bench/bus.bench.ts`.
// BUS_BENCH_BASELINE=<another checkout> interleaves each run with one of that checkout's Baton (same
// clients), rows marked "before": a side-by-side comparison under the same machine load.
import { spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Durability } from "./bus-bench-baton.ts";
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
  const loadBefore = loadavg().map((load) => load.toFixed(1));
  const baseline = process.env.BUS_BENCH_BASELINE;
  const codes: Array<Code> = baseline
    ? [
        { name: "before", child: join(baseline, "bench/bus-baton-child.ts") },
        { name: "after", child: undefined },
      ]
    : [{ name: "as is", child: undefined }];
  const rows: Array<Record<string, string | number>> = [];
  const p99s = new Map<string, number[]>();
  for (const transport of ["WebSocket", "SSE"] as const) {
    // Subscribers can be served by the fan-out process (`fanoutProcess`): each round runs both, paired.
    const variants: Code[] = baseline
      ? codes
      : [...codes, { name: "fan-out process", child: undefined, fanout: true }];
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const code of variants) {
        const row: Record<string, string | number> = {
          run: `${round}`,
          code: code.name,
          ...(await runInOwnProcess(transport, "async", code)),
        };
        const key = `${transport} ${code.name}`;
        p99s.set(key, [...(p99s.get(key) ?? []), Number(row["Baton p99"])]);
        rows.push(row);
      }
    }
    if (!baseline)
      rows.push({
        run: "-",
        code: "as is",
        ...(await runInOwnProcess(transport, "blocking", codes[0] as Code)),
      });
  }
  const summary = ([key, values]: [string, number[]]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${key}: Baton p99 over ${ROUNDS} runs: median ${sorted[Math.floor(sorted.length / 2)]} ms, worst ${sorted.at(-1)} ms`;
  };
  return {
    title: `Event bus: ${RATE_PER_SECOND} events/s to ${SUBSCRIBERS} subscribers (${EVENTS} events a run)`,
    rows,
    notes: [
      ...[...p99s].map(summary),
      "e2e: from just before POST /events is sent to the subscriber reading the event (one clock, client side);",
      "  it includes the clients' own scheduling, which on a busy 2-core machine is most of its tail",
      "Baton: measured inside Baton, from the POST /events handler accepting the event to its frame's socket",
      "  write returning, per delivery (the histogram behind baton_event_delivery_seconds, 0.05 ms buckets)",
      "acc→pub: accept to the bus publishing it (publish batching, commit, WAL fsync), once per event;",
      "  pub→write: publish to the socket write (fan-out, write batching), per delivery",
      "loop delay: Baton's event-loop delay (monitorEventLoopDelay); GC: Baton's GC pauses (PerformanceObserver)",
      "load (1 min): the machine's load average when the run started; idle wake: how late a process that",
      "  needs almost no CPU saw a 1 ms timer meanwhile (the machine's scheduling delay, not Baton's)",
      "each run: a fresh process for the publisher and the subscribers, and one for Baton on a new SQLite file",
      "subscribers: raw TCP WebSocket / SSE readers that read seq and sentAt from the bytes (no parse per event)",
      "fsync async: as shipped (the WAL fdatasync off the event loop, before the 201 and the fan-out);",
      "  blocking: SQLite synchronous=FULL, the fsync inside each commit stalling Baton (0.1.0 did this)",
      `target: Baton p99 <= ${TARGET_P99_MS} ms and 0 lost; RSS is Baton's, with subscribers connected`,
      "heap after GC: Baton's live JavaScript heap after a forced full GC at the end, subscribers still on",
      "CPU columns: Baton's and the run process's (publisher + subscribers) during the measured publishing;",
      "  with the fan-out process, Baton's column is Baton's own process and 'fan-out CPU' the second one",
      "fan-out process: Baton with fanoutProcess on (subscribers served by a second process, src/api/fanout),",
      "  run in the same rounds as 'as is', one after the other",
      `machine: ${availableParallelism()} CPUs, load average ${loadBefore.join(" ")} before, ` +
        `${loadavg()
          .map((load) => load.toFixed(1))
          .join(" ")} after (1, 5, 15 min)`,
    ],
  };
}

/** Which Baton a run starts: this checkout's, or (BUS_BENCH_BASELINE) another's child script. */
interface Code {
  name: string;
  child: string | undefined;
  /** Runs Baton with `fanoutProcess` on. */
  fanout?: boolean;
}

/** Runs bench/bus-bench-run.ts and returns the row it printed; fails if it fails or hangs. */
function runInOwnProcess(
  transport: Transport,
  durability: Durability,
  code: Code,
): Promise<Record<string, string | number>> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      ...(code.child && { BUS_BENCH_CHILD: code.child }),
      ...(code.fanout && { BUS_BENCH_FANOUT_PROCESS: "1" }),
    };
    const child = spawn(process.execPath, [RUN, transport, durability], {
      stdio: ["ignore", "pipe", "inherit"],
      env,
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
