// Issue 17, "1,000 sessions open": 1,000 sessions spawned over HTTP, all running at once, then completed and
// released, on top of 99,000 stored ones (100,000 rows); Baton's own memory at each step, live agents, and
// `GET /sessions` / `GET /sessions/:id` latency with the 100,000 rows. Agents are ScriptedRunner runs in the
// Baton child (bench/lifecycle-baton-child.ts): 1,000 real `claude` processes would need ~200 GB and half an
// hour of CPU on this box. The second table runs real `claude` processes against the scripted model, fewer
// of them, through `baton serve` as installed (bin/baton.js: the build in dist/server when current), and
// counts the processes left once the sessions are released.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { startMockModel } from "../src/mock-model/index.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";
import { testSettings } from "../test/support/harness.ts";
import type { ChildMeasurement } from "./lifecycle-baton-child.ts";
import {
  BIN,
  ChildBaton,
  claudeDescendants,
  freePort,
  startServe,
  stopServe,
} from "./lifecycle-processes.ts";
import { storeSessions } from "./listing.bench.ts";
import { percentile } from "./stats.ts";
import type { BenchTable } from "./table.ts";

const OPEN = 1000;
const STORED = 99_000;
const REQUESTS = 300;
const REAL_SESSIONS = 10;
const AUTH = { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" };
const MIB = 1024 * 1024;

export async function runThousandBenchmark(): Promise<BenchTable[]> {
  return [...(await thousandOpen()), await realProcesses()];
}

async function thousandOpen(): Promise<BenchTable[]> {
  const root = mkdtempSync(join(tmpdir(), "baton-thousand-"));
  const home = join(root, "home");
  const workDir = join(root, "work");
  mkdirSync(workDir);
  const settings = (dir: string) => ({
    port: 0,
    home: dir,
    logLevel: "error",
    token: TEST_TOKEN,
    maxConcurrent: OPEN,
    maxPerOwner: OPEN,
    maxQueue: OPEN,
    spawnRatePerMinute: 0,
    keepAliveMs: 1000,
  });
  try {
    await storeSessions(settings(home), STORED);
    const empty = await ChildBaton.start("scripted", settings(join(root, "empty")));
    const idleEmpty = await empty.measure().finally(() => empty.stop());
    const baton = await ChildBaton.start("scripted", settings(home), 120_000);
    try {
      const idleStored = await baton.measure();
      await baton.hold();
      const started = performance.now();
      const ids = await spawnAll(baton.url, workDir);
      const spawnSeconds = (performance.now() - started) / 1000;
      const open = await waitForMeasure(baton, (m) => m.liveRuns === OPEN, "1,000 live runs");
      await baton.release();
      await waitForStatus(baton.url, ids, "completed");
      const allDoneSeconds = (performance.now() - started) / 1000;
      const released = await waitForMeasure(baton, (m) => m.liveRuns === 0, "every run released");
      const latencies = await timeRequests(baton.url, ids[OPEN / 2] ?? "");
      const perStored = (idleStored.heapUsed - idleEmpty.heapUsed) / STORED;
      const perDone = (released.heapUsed - idleStored.heapUsed) / OPEN;
      return [
        {
          title: `1,000 sessions open at once (scripted agents in the Baton child), ${STORED.toLocaleString("en")} stored before`,
          rows: [
            memoryRow("no sessions stored, idle", idleEmpty, 0),
            memoryRow(`${STORED.toLocaleString("en")} stored, idle`, idleStored, 0),
            memoryRow("1,000 running at once (turns held open)", open, open.liveRuns),
            memoryRow("1,000 completed, released (100,000 rows)", released, released.liveRuns),
          ],
          notes: [
            `1,000 spawns over HTTP (25 in flight) took ${spawnSeconds.toFixed(1)} s; all 1,000 completed ${allDoneSeconds.toFixed(1)} s after the first spawn.`,
            `Heap per stored-but-idle session: ${perStored.toFixed(0)} B; heap growth per completed-and-released session: ${perDone.toFixed(0)} B (the first 1,000 on this Baton: includes JIT code compiled once; docs/capacity.md). Target <= 2 KiB.`,
            "Memory after full GCs (--expose-gc); this child runs the TypeScript sources (type stripping) and V8's default young generation, so its RSS is above `baton serve`'s (next table).",
          ],
        },
        {
          title: "With 100,000 sessions stored, after the 1,000 (SQLite, interleaved, 300 requests each)",
          rows: latencies,
        },
      ];
    } finally {
      await baton.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function spawnAll(url: string, workDir: string): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < OPEN) {
      const index = next++;
      const response = await fetch(`${url}/sessions`, {
        method: "POST",
        headers: AUTH,
        body: JSON.stringify({ prompt: `open session ${index}`, workDir }),
      });
      const body = (await response.json()) as { id?: string };
      if (response.status !== 201 || !body.id)
        throw new Error(`spawn ${index}: HTTP ${response.status} ${JSON.stringify(body)}`);
      ids[index] = body.id;
    }
  };
  await Promise.all(Array.from({ length: 25 }, worker));
  return ids;
}

async function waitForStatus(url: string, ids: string[], status: string, timeoutMs = 300_000) {
  const deadline = deadlineOf(timeoutMs);
  let pending = [...ids];
  while (pending.length > 0) {
    if (deadline.passed()) throw new Error(`${pending.length} sessions not ${status} in ${timeoutMs} ms`);
    const still: string[] = [];
    for (const id of pending) {
      const response = await fetch(`${url}/sessions/${id}`, { headers: AUTH });
      const body = (await response.json()) as { status?: string };
      if (body.status === "failed") throw new Error(`${id} failed: ${JSON.stringify(body)}`);
      if (body.status !== status) still.push(id);
    }
    pending = still;
    if (pending.length > 0) await deadline.sleep(250);
  }
}

async function waitForMeasure(
  baton: ChildBaton,
  done: (m: ChildMeasurement) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<ChildMeasurement> {
  const deadline = deadlineOf(timeoutMs);
  for (;;) {
    const measured = await baton.measure();
    if (done(measured)) return measured;
    if (deadline.passed())
      throw new Error(`${what}: not reached in ${timeoutMs} ms (${measured.liveRuns} live)`);
    await deadline.sleep(250);
  }
}

function memoryRow(state: string, m: ChildMeasurement, live: number) {
  return {
    state,
    "live runs": live,
    "RSS MiB": (m.rss / MIB).toFixed(1),
    "heap MiB": (m.heapUsed / MIB).toFixed(1),
  };
}

async function timeRequests(url: string, spawnedId: string) {
  const cases: Array<[string, string]> = [
    ["GET /sessions (first page of 50)", "/sessions?limit=50"],
    [
      "GET /sessions (deep keyset page)",
      `/sessions?limit=50&cursor=ses_bench${String(STORED / 2).padStart(10, "0")}`,
    ],
    ["GET /sessions?status=completed", "/sessions?limit=50&status=completed"],
    ["GET /sessions/:id (a spawned one)", `/sessions/${spawnedId}`],
    ["GET /sessions/:id (a stored one)", `/sessions/ses_bench${String(31_337).padStart(10, "0")}`],
  ];
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round < REQUESTS + 20; round++) {
    for (const [index, [, path]] of cases.entries()) {
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers: AUTH });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      if (round >= 20) samples[index]?.push(performance.now() - started);
    }
  }
  return cases.map(([label], index) => {
    const sorted = [...(samples[index] ?? [])].sort((a, b) => a - b);
    return {
      request: label,
      "p50 ms": percentile(sorted, 50).toFixed(2),
      "p99 ms": percentile(sorted, 99).toFixed(2),
    };
  });
}

/** A polling deadline (benchmarks poll state they cannot subscribe to, and fail rather than hang). */
function deadlineOf(ms: number) {
  const end = Date.now() + ms;
  return { passed: () => Date.now() > end, sleep: (wait: number) => sleep(wait) };
}

/** VmRSS of a process from /proc (no forced GC: what `ps` shows for an idle `baton serve`). */
function residentMiB(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kb / 1024;
}

/** `baton serve` (bin/baton.js or src/main.ts), idle RSS, then REAL_SESSIONS real `claude` sessions. */
async function realProcesses(): Promise<BenchTable> {
  const mock = await startMockModel();
  const rows: Array<Record<string, string | number>> = [];
  try {
    const semi = ["--max-semi-space-size=8"]; // what bin/baton.js's shebang and `npm start` pass
    for (const [entry, nodeArgs, warmPool, label] of [
      [BIN, semi, 0, "`baton serve` (build, shebang flags), warmPool 0"],
      [BIN, semi, 1, "`baton serve` (build, shebang flags), warmPool 1 (default)"],
      [BIN, [], 0, "node bin/baton.js serve (build, no flags), warmPool 0"],
      [undefined, [], 0, "node src/main.ts serve (type stripping), warmPool 0"],
    ] as const) {
      rows.push({ entry: label, ...(await serveRound(mock.url, warmPool, entry, [...nodeArgs])) });
    }
  } finally {
    await mock.stop();
  }
  return {
    title: `\`baton serve\` with real \`claude\` agents (scripted model): idle RSS, ${REAL_SESSIONS} sessions, processes left`,
    rows,
    notes: [
      "RSS is VmRSS from /proc, 5 s after listening or after the last release (no forced GC): what `ps` shows.",
      "'claude left' counts live `claude` processes below Baton once every session completed and its keep-alive (2 s) ran out; with warmPool 1 the one left is the parked spare.",
      "The Agent SDK loads at the first start (src/runner/agent-sdk.ts): the 'after' column includes it.",
      "Target (issue 17): idle RSS <= 120 MiB.",
    ],
  };
}

async function serveRound(mockUrl: string, warmPool: number, entry: string | undefined, nodeArgs: string[]) {
  const root = mkdtempSync(join(tmpdir(), "baton-thousand-real-"));
  const workDir = join(root, "work");
  mkdirSync(workDir);
  const settings = testSettings(root, mockUrl, {
    warmPool,
    keepAliveMs: 2000,
    maxConcurrent: REAL_SESSIONS,
    maxPerOwner: REAL_SESSIONS,
  });
  const serve = startServe(settings, await freePort(), entry, nodeArgs);
  try {
    await serve.listening;
    const settle = deadlineOf(60_000);
    await settle.sleep(5000);
    const idle = residentMiB(serve.pid);
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: REAL_SESSIONS }, async (_, index) => {
        const response = await fetch(`${serve.url}/sessions`, {
          method: "POST",
          headers: AUTH,
          body: JSON.stringify({ prompt: `@say real ${index}`, workDir }),
        });
        const body = (await response.json()) as { id?: string };
        if (response.status !== 201 || !body.id) throw new Error(`spawn: HTTP ${response.status}`);
        return body.id;
      }),
    );
    await waitForStatus(serve.url, ids, "completed");
    const seconds = (performance.now() - started) / 1000;
    // Released after the keep-alive; with a warm pool, one spare stays parked (and a refill may be starting).
    const released = deadlineOf(60_000);
    while (claudeDescendants(serve.pid).length > warmPool && !released.passed()) await released.sleep(250);
    await released.sleep(5000);
    return {
      "idle RSS MiB": idle.toFixed(1),
      [`${REAL_SESSIONS} completed s`]: seconds.toFixed(1),
      "RSS after, MiB": residentMiB(serve.pid).toFixed(1),
      "claude left": claudeDescendants(serve.pid).length,
    };
  } finally {
    await stopServe(serve);
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.ts");
  for (const table of await runThousandBenchmark()) printTable(table);
}
