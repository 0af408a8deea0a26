// Baton as a child process for the event-bus benchmark (so its RSS and CPU are its own), and what the
// benchmark asks it over IPC: its own delivery timing (accept → socket write), loop delay, GC, live heap.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "./lifecycle-processes.ts";

/**
 * The child script. BUS_BENCH_CHILD points at another checkout's copy (e.g. the code before a change, for
 * a side-by-side run); BUS_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each Baton child there;
 * BUS_BENCH_NODE_FLAGS adds Node/V8 flags to the Baton child (e.g. to compare GC settings).
 */
const CHILD = process.env.BUS_BENCH_CHILD ?? fileURLToPath(new URL("./bus-baton-child.ts", import.meta.url));

/**
 * How the child makes commits durable: "async" is what Baton ships (SQLite NORMAL plus an fdatasync of the
 * WAL off the event loop, see src/store/wal-sync.ts); "blocking" adds SQLite's FULL, whose fsync inside
 * each commit stalls the event loop (Baton 0.1.0 did that), to show what moving it bought.
 */
export type Durability = "async" | "blocking";

/** Percentiles of one of Baton's own latency histograms (ms), and how many records it holds. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

/** What the child measured inside Baton since the last reset (see bus-baton-child.ts). */
export interface BatonTiming {
  acceptToWrite: Percentiles;
  acceptToPublish: Percentiles;
  publishToWrite: Percentiles;
  /** Socket writes that carried events (the write batching puts several events in one). */
  socketWrites: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gc: { count: number; totalMs: number; maxMs: number };
}

export interface BatonProcess {
  url: string;
  pid: number;
  /** Resident set size in MiB, from /proc. */
  rssMiB(): number;
  /** User + system CPU seconds used so far, from /proc. */
  cpuSeconds(): number;
  /** The same for Baton's child processes (here only the fan-out process, when it runs one). */
  childCpuSeconds(): number;
  /** The JavaScript heap still in use after a full GC, in MiB: what RSS growth actually retained. */
  liveHeapMiB(): Promise<number>;
  /** Starts Baton's own timing afresh (after the warm-up). */
  resetTiming(): Promise<void>;
  timing(): Promise<BatonTiming>;
  stop(): Promise<void>;
}

export async function startBatonProcess(home: string, durability: Durability): Promise<BatonProcess> {
  const port = await freePort();
  const profile = process.env.BUS_BENCH_CPU_PROF;
  // --expose-gc and an IPC channel let the benchmark ask for the live heap after a full GC (liveHeapMiB).
  const extra = (process.env.BUS_BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  // Baton's young generation as `baton serve` runs it (bin/baton.js's shebang, `npm start`): V8's default
  // one is larger, and its scavenges, which copy the requests in flight, pause Baton for 15-50 ms here.
  const shipped = ["--max-semi-space-size=8"];
  const flags = [
    "--expose-gc",
    ...shipped,
    ...extra,
    ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, [...flags, CHILD, home, String(port), durability], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error("Baton did not come up within 20 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid ?? 0;
  const ask = <T>(message: string, answerHas: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Baton did not answer "${message}" within 5 s`)), 5000);
      const onMessage = (answer: Record<string, unknown>) => {
        if (!(answerHas in answer)) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(answer as T);
      };
      child.on("message", onMessage);
      child.send(message);
    });
  return {
    url,
    pid,
    rssMiB: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return Number(match?.[1] ?? 0) / 1024;
    },
    cpuSeconds: () => cpuSecondsOf(pid),
    childCpuSeconds: () =>
      readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
        .split(" ")
        .filter(Boolean)
        .reduce((total, child) => total + cpuSecondsOf(Number(child)), 0),
    liveHeapMiB: async () =>
      (await ask<{ liveHeapBytes: number }>("live-heap", "liveHeapBytes")).liveHeapBytes / 1024 / 1024,
    resetTiming: async () => {
      await ask("reset-timing", "reset");
    },
    timing: () => ask<BatonTiming>("timing", "acceptToWrite"),
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** User + system CPU seconds of a process so far: fields 14 and 15 of /proc/<pid>/stat, in 1/100 s. */
export function cpuSecondsOf(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
