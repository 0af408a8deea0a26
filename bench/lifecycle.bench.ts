// Issue 4: what a session costs Baton over its lifecycle, in three measurements.
//  1. Memory of Baton itself per tracked session, `claude` children excluded: Baton runs alone in a child
//     process started with --expose-gc (bench/lifecycle-baton-child.ts), with ScriptedRunner agents, and
//     reports process.memoryUsage() after forced full GCs; deltas over N completed, M live and Q queued
//     sessions give bytes per session. Then the same for a few live sessions with real `claude` children.
//  2. Live `claude` processes while sessions sit completed past keep-alive (target 0), counted through
//     /proc below the Baton child and through GET /health.
//  3. Time from restarting a SIGKILLed `baton serve` to its sessions resumed (mid-tool at the kill).
// Loopback only; every process is stopped by its own handle or pid; every wait has a deadline.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { BatonClient } from "../src/client/baton-client.ts";
import { followEvents } from "../src/client/event-stream.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../src/mock-model/index.ts";
import { isAlive, listDescendants } from "../src/runner/process-tree.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";
import { testSettings } from "../test/support/harness.ts";
import { SLOW_SCRIPT, spawnSlowSessions } from "../test/support/slow-sessions.ts";
import { within } from "./deadline.ts";
import type { ChildMeasurement } from "./lifecycle-baton-child.ts";
import {
  ChildBaton,
  claudeDescendants,
  cpuSecondsBetween,
  cpuTicks,
  freePort,
  type RecordedProcess,
  reapOwnChildren,
  reapRecorded,
  recordTree,
  type ServeBaton,
  startServe,
  stillAlive,
  stopServe,
} from "./lifecycle-processes.ts";
import { median } from "./stats.ts";
import type { BenchTable } from "./table.ts";

export interface LifecycleOptions {
  /** Completed sessions tracked, cumulative (default [200, 1000]). */
  trackedSessions?: number[];
  /** Sessions holding a slot at once, and as many again queued behind them (default 50). */
  liveSessions?: number;
  /** Sessions left completed past keep-alive (default 5), and the keep-alive (default 500 ms). */
  keepAliveSessions?: number;
  keepAliveMs?: number;
  /** Sessions mid-tool at the kill (default [3, 6]) and rounds of each (default 3). */
  restartSizes?: number[];
  restartRounds?: number;
  /** No restart round starts after this much of the benchmark has passed (default 190 s). */
  timeBudgetMs?: number;
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

/** Completed sessions run before the memory baseline, so one-time costs (JIT, first queries) are out. */
const WARM_UP_SESSIONS = 40;
const WARM_UP_HELD = 10;
const KIB = 1024;
const MIB = 1024 * 1024;

interface Context {
  root: string;
  signal: AbortSignal | undefined;
  progress: (line: string) => void;
}

export async function runLifecycleBenchmark(options: LifecycleOptions = {}): Promise<BenchTable[]> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = mkdtempSync(join(tmpdir(), "baton-bench-life-"));
  const context: Context = { root, signal: options.signal, progress };
  const started = performance.now();
  let mock: MockModel | undefined;
  try {
    const memory = await measureScriptedMemory(context, {
      tracked: options.trackedSessions ?? [200, 1000],
      live: options.liveSessions ?? 50,
    });
    mock = await startMockModel();
    const keepAlive = await measureKeepAlive(context, mock, {
      sessions: options.keepAliveSessions ?? 5,
      keepAliveMs: options.keepAliveMs ?? 500,
    });
    const restart = await measureRestarts(context, mock, {
      sizes: options.restartSizes ?? [3, 6],
      rounds: options.restartRounds ?? 3,
      deadline: started + (options.timeBudgetMs ?? 190_000),
    });
    return [
      {
        title: "Lifecycle: Baton's own memory per session (Baton alone in a child process, after forced GC)",
        rows: [...memory.rows, ...keepAlive.memoryRows],
        notes: [...memory.notes, ...keepAlive.memoryNotes],
      },
      keepAlive.table,
      restart,
    ];
  } finally {
    await mock?.stop().catch((error: unknown) => progress(`cleanup: ${error}`));
    await reapOwnChildren();
    rmSync(root, { recursive: true, force: true });
    progress(`lifecycle: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 1. Memory per tracked, live and queued session (ScriptedRunner agents: no `claude` process at all)

async function measureScriptedMemory(
  context: Context,
  plan: { tracked: number[]; live: number },
): Promise<{ rows: Array<Record<string, string | number>>; notes: string[] }> {
  const home = join(context.root, "memory");
  const workDir = join(home, "work");
  mkdirSync(workDir, { recursive: true });
  // The model URL is never called: the scripted runner replaces the agent. keepAliveMs 0: a completed
  // session's run is closed at once, so "completed" means tracked in the store only. SQLite synchronous
  // NORMAL: the per-commit fsync only costs time here (1,000+ sessions), not memory.
  const settings = testSettings(home, "http://127.0.0.1:9", {
    maxConcurrent: plan.live,
    maxPerOwner: plan.live,
    maxQueue: 100_000,
    keepAliveMs: 0,
    // 1,000+ spawns over HTTP from one principal: the per-principal spawn rate limit would refuse most.
    spawnRatePerMinute: 0,
    logLevel: "error",
  });
  const baton = await ChildBaton.start("scripted", { ...settings, syncMode: "NORMAL" });
  try {
    const client = new BatonClient({ url: baton.url, token: TEST_TOKEN });
    const spawnStarted = performance.now();
    let spawned = 0;
    const spawn = async (count: number) => {
      await spawnMany(client, count, (index) => ({
        prompt: `@say done ${spawned + index}`,
        workDir,
        owner: "bench",
      }));
      spawned += count;
    };
    const settle = (what: string, check: (health: Health) => boolean) =>
      waitHealth(client, check, 120_000, what, context.signal);
    const completedAll = (health: Health) =>
      health.sessions.completed === spawned && health.liveProcesses === 0;

    context.progress(`lifecycle: memory warm-up (${WARM_UP_SESSIONS + WARM_UP_HELD} sessions)`);
    await spawn(WARM_UP_SESSIONS);
    await settle("warm-up sessions completed", completedAll);
    await baton.hold();
    await spawn(WARM_UP_HELD);
    await settle("warm-up sessions running", (health) => health.sessions.running === WARM_UP_HELD);
    await baton.release();
    await settle("warm-up sessions completed", completedAll);
    const baseline = await baton.measure();
    const rows: Array<Record<string, string | number>> = [
      memoryRow("baseline (warm-up sessions completed)", spawned, baseline),
    ];

    let previous = baseline;
    let previousTracked = spawned;
    for (const target of plan.tracked) {
      const count = target - (spawned - WARM_UP_SESSIONS - WARM_UP_HELD);
      if (count <= 0) continue;
      context.progress(`lifecycle: memory, ${target} completed sessions`);
      await spawn(count);
      await settle(`${target} sessions completed`, completedAll);
      const now = await baton.measure();
      rows.push({
        ...memoryRow(`completed, N = ${target}`, spawned, now),
        ...perSession(baseline, now, target, "vs baseline"),
      });
      if (previous !== baseline) {
        rows.push({
          ...memoryRow(`  marginal, last ${spawned - previousTracked}`, spawned, now),
          ...perSession(previous, now, spawned - previousTracked, "vs previous"),
        });
      }
      previous = now;
      previousTracked = spawned;
    }
    const spawnSeconds = (performance.now() - spawnStarted) / 1000;

    context.progress(`lifecycle: memory, ${plan.live} live + ${plan.live} queued sessions`);
    const beforeLive = previous;
    await baton.hold();
    const base = spawned;
    await spawn(plan.live);
    await settle(
      `${plan.live} sessions holding a slot`,
      (health) => health.sessions.running === plan.live && health.liveProcesses === plan.live,
    );
    const live = await baton.measure();
    rows.push({
      ...memoryRow(`live, M = ${plan.live} (holding a slot)`, spawned, live),
      ...perSession(beforeLive, live, plan.live, "vs completed"),
    });
    await spawn(plan.live);
    await settle(`${plan.live} sessions queued`, (health) => health.sessions.queued === plan.live);
    const queued = await baton.measure();
    rows.push({
      ...memoryRow(`queued, Q = ${plan.live} (behind the live ones)`, spawned, queued),
      ...perSession(live, queued, plan.live, "vs live"),
    });
    await baton.release();
    await settle(`all ${spawned - base} released sessions completed`, completedAll);
    const after = await baton.measure();
    rows.push({
      ...memoryRow(`released: all ${spawned - base} completed`, spawned, after),
      ...perSession(beforeLive, after, spawned - base, "vs completed"),
    });
    return {
      rows,
      notes: [
        "rows up to 'released': ScriptedRunner agents (test/support/scripted-runner.ts) in the Baton child, so",
        "  the numbers are Baton's alone: store, event log, supervisor, HTTP; every session '@say', 1 turn",
        "heap = heapUsed after 4 forced full GCs (--expose-gc) in the child; rss = the child's resident set",
        "  (RSS rarely shrinks after a GC, so its deltas are upper bounds; heap deltas are the per-session cost)",
        "X/session: growth between the row and its basis, divided by the sessions added in between",
        `tracked sessions were spawned over HTTP, 16 at a time: ${spawned} in ${spawnSeconds.toFixed(1)} s ` +
          "(sqlite synchronous = NORMAL to save time; an fsync costs time, not memory)",
      ],
    };
  } finally {
    await baton.stop();
  }
}

function memoryRow(
  state: string,
  sessions: number,
  measured: ChildMeasurement,
): Record<string, string | number> {
  return {
    state,
    sessions,
    "rss MiB": round1(measured.rss / MIB),
    "heap MiB": round1(measured.heapUsed / MIB),
    "heap total MiB": round1(measured.heapTotal / MIB),
  };
}

function perSession(
  from: ChildMeasurement,
  to: ChildMeasurement,
  count: number,
  basis: string,
): Record<string, string | number> {
  return {
    "heap KiB/session": round1((to.heapUsed - from.heapUsed) / count / KIB),
    "rss KiB/session": round1((to.rss - from.rss) / count / KIB),
    "events/session": round1((to.latestSeq - from.latestSeq) / count),
    "store KiB/session": round1((to.storeBytes - from.storeBytes) / count / KIB),
    basis,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Keep-alive: live `claude` processes after sessions completed (real Baton, real CLI, scripted model)

interface Completion {
  sessionId: string;
  at: number;
  ownProcessAlive: boolean;
  claudeProcesses: number;
}

async function measureKeepAlive(
  context: Context,
  mock: MockModel,
  plan: { sessions: number; keepAliveMs: number },
): Promise<{ table: BenchTable; memoryRows: Array<Record<string, string | number>>; memoryNotes: string[] }> {
  const home = join(context.root, "keep-alive");
  const settings = testSettings(home, mock.url, {
    keepAliveMs: plan.keepAliveMs,
    maxConcurrent: plan.sessions,
    maxPerOwner: plan.sessions,
    logLevel: "error",
  });
  const baton = await ChildBaton.start("sdk", settings);
  const controller = new AbortController();
  const stopFollowing = () => controller.abort();
  context.signal?.addEventListener("abort", stopFollowing, { once: true });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const client = new BatonClient({ url: baton.url, token: TEST_TOKEN });
    const pids = new Map<string, number>();
    const completions: Completion[] = [];
    const failures: BatonEvent[] = [];
    const following = followEvents({
      url: baton.url,
      token: TEST_TOKEN,
      path: "/events",
      after: 0,
      signal: controller.signal,
      retryDelayMs: 100,
      onEvent: (event) => {
        if (!event.sessionId) return;
        if (event.topic === "session.spawned" && typeof event.data.pid === "number")
          pids.set(event.sessionId, event.data.pid);
        if (event.topic === "session.failed") failures.push(event);
        if (event.topic !== "session.completed") return;
        const pid = pids.get(event.sessionId);
        completions.push({
          sessionId: event.sessionId,
          at: performance.now(),
          ownProcessAlive: pid !== undefined && isAlive(pid),
          claudeProcesses: claudeDescendants(baton.pid).length,
        });
      },
    }).catch(() => undefined);
    const workDir = () => mkdtempSync(join(home, "work-"));
    const waitCompleted = async (ids: string[], what: string) => {
      await until(
        () => {
          const failed = failures.find((event) => event.sessionId && ids.includes(event.sessionId));
          if (failed) throw new Error(`${what}: ${failed.sessionId} failed: ${JSON.stringify(failed.data)}`);
          const done = completions.filter((completion) => ids.includes(completion.sessionId));
          return done.length >= ids.length ? done : undefined;
        },
        60_000,
        what,
        context.signal,
      );
      return completions.filter((completion) => ids.includes(completion.sessionId));
    };
    const released = (what: string) =>
      until(
        async () => {
          const health = await client.health();
          return health.liveProcesses === 0 && claudeDescendants(baton.pid).length === 0 ? true : undefined;
        },
        plan.keepAliveMs + 20_000,
        what,
        context.signal,
      );

    context.progress("lifecycle: keep-alive warm-up session");
    const warm = await client.spawn({ prompt: "@say warm", workDir: workDir() });
    await waitCompleted([warm.id], "warm-up session completed");
    await released("warm-up session released");

    context.progress(`lifecycle: keep-alive, ${plan.sessions} sessions '@say done'`);
    let maxClaude = 0;
    sampler = setInterval(() => {
      maxClaude = Math.max(maxClaude, claudeDescendants(baton.pid).length);
    }, 25);
    const spawnedAt = performance.now();
    const ids: string[] = [];
    for (let index = 0; index < plan.sessions; index++)
      ids.push((await client.spawn({ prompt: "@say done", workDir: workDir(), owner: `owner-${index}` })).id);
    const done = await waitCompleted(ids, `${plan.sessions} sessions completed`);
    const first = Math.min(...done.map((completion) => completion.at));
    const last = Math.max(...done.map((completion) => completion.at));
    const atLast = {
      claude: claudeDescendants(baton.pid).length,
      health: (await client.health()).liveProcesses,
    };
    // Past keep-alive: wait until Baton has released them (deadline), then read again a second later.
    await released("processes released after keep-alive");
    const zeroAfter = performance.now() - last;
    clearInterval(sampler);
    sampler = undefined;
    const sinceLast = performance.now() - last;
    await sleep(Math.max(0, plan.keepAliveMs + 1000 - sinceLast), context.signal);
    const past = {
      at: performance.now() - last,
      claude: claudeDescendants(baton.pid).length,
      all: listDescendants(baton.pid).filter(isAlive).length,
      health: await client.health(),
    };
    const ownAlive = done.filter((completion) => completion.ownProcessAlive).length;
    const table: BenchTable = {
      title: `Lifecycle: live claude processes, ${plan.sessions} sessions completed, keepAliveMs ${plan.keepAliveMs}`,
      rows: [
        {
          moment: "while the sessions ran (max, sampled every 25 ms)",
          "claude procs": maxClaude,
          "/health live": "n/a",
          "t ms": "n/a",
        },
        {
          moment: "each session at its own session.completed: its process alive",
          "claude procs": `${ownAlive}/${plan.sessions}`,
          "/health live": "n/a",
          "t ms": round1(first - spawnedAt),
        },
        {
          moment: "right after the last session.completed",
          "claude procs": atLast.claude,
          "/health live": atLast.health,
          "t ms": round1(last - spawnedAt),
        },
        {
          moment: "first reading with 0 claude and /health 0 (after last completion)",
          "claude procs": 0,
          "/health live": 0,
          "t ms": round1(zeroAfter),
        },
        {
          moment: `past keep-alive + 1 s (after last completion), target 0`,
          "claude procs": past.claude,
          "/health live": past.health.liveProcesses,
          "t ms": round1(past.at),
        },
      ],
      notes: [
        "Baton as `baton serve` builds it (default SdkRunner), alone in a child process; real `claude` 2.1 against the scripted model",
        "claude procs: live processes whose argv[0] is `claude` anywhere below the Baton process (/proc walk)",
        `t ms: from the first spawn request for the first rows; from the last session.completed (seen over SSE) below`,
        `completions spread over ${round1(last - first)} ms, so with a ${plan.keepAliveMs} ms keep-alive the early ` +
          "sessions may be released before the last one completes",
        `past keep-alive: ${past.health.sessions.completed} sessions completed, ${past.all} processes of any kind below Baton`,
      ],
    };

    // Baton's own memory per live session with a real `claude` child (the SDK query, its in-process MCP
    // server, stdio buffers): measured while every session is mid-tool, against the idle Baton just before.
    // A first batch warms the tool path (hooks, tool events) so that its one-time cost is not counted.
    let batch = 0;
    const midToolBatch = async (atMidTool: () => Promise<void>) => {
      batch += 1;
      const ids: string[] = [];
      for (let index = 0; index < plan.sessions; index++) {
        const prompt = "@bash sleep 4; echo ok\n@say done";
        const owner = `batch-${batch}-${index}`;
        ids.push((await client.spawn({ prompt, workDir: workDir(), allowedTools: ["Bash"], owner })).id);
      }
      const mine = ids.map((id) => () => busy(pids.get(id)));
      await until(
        () => (mine.every((check) => check()) ? true : undefined),
        30_000,
        "all mid-tool",
        context.signal,
      );
      await atMidTool();
      await waitCompleted(ids, "mid-tool sessions completed");
      await released("mid-tool sessions released");
    };
    context.progress(`lifecycle: memory of ${plan.sessions} live sessions with real claude children`);
    await midToolBatch(async () => undefined);
    const idle = await baton.measure();
    let liveSdk: ChildMeasurement | undefined;
    await midToolBatch(async () => {
      liveSdk = await baton.measure();
    });
    const afterSdk = await baton.measure();
    await midToolBatch(async () => undefined);
    const afterThird = await baton.measure();
    if (!liveSdk) throw new Error("no measurement while mid-tool");
    const idleSessions = 1 + 2 * plan.sessions;
    const memoryRows = [
      memoryRow("sdk: idle, all completed and released", idleSessions, idle),
      {
        ...memoryRow(
          `sdk: live, ${plan.sessions} sessions mid-tool (real claude)`,
          idleSessions + plan.sessions,
          liveSdk,
        ),
        ...perSession(idle, liveSdk, plan.sessions, "vs sdk idle"),
      },
      {
        ...memoryRow(
          `sdk: those ${plan.sessions} completed and released`,
          idleSessions + plan.sessions,
          afterSdk,
        ),
        ...perSession(idle, afterSdk, plan.sessions, "vs sdk idle"),
      },
      {
        ...memoryRow(
          `sdk: ${plan.sessions} more run, completed, released`,
          idleSessions + 2 * plan.sessions,
          afterThird,
        ),
        ...perSession(afterSdk, afterThird, plan.sessions, "vs previous"),
      },
    ];
    controller.abort();
    await following;
    return {
      table,
      memoryRows,
      memoryNotes: [
        "'sdk' rows: the keep-alive Baton (default SdkRunner, real `claude` children, whose memory is not counted);",
        `  ${plan.sessions} sessions '@bash sleep 4' measured while all are mid-tool, after one such batch as warm-up;`,
        "  the last two rows show what a finished live session leaves behind (growth per batch = retention)",
        "store: SQLite file + WAL growth (the WAL is checkpointed in steps, so it is coarse); not memory",
      ],
    };
  } finally {
    if (sampler) clearInterval(sampler);
    controller.abort();
    context.signal?.removeEventListener("abort", stopFollowing);
    await baton.stop();
  }
}

/** True when the agent process `pid` has a child of its own: a tool is running. */
function busy(pid: number | undefined): boolean {
  return pid !== undefined && isAlive(pid) && listDescendants(pid).some(isAlive);
}

// ---------------------------------------------------------------------------------------------------------
// 3. Restart: SIGKILL `baton serve` with K sessions mid-tool, start it again on the same home

interface RestartSample {
  fresh: number;
  health: number;
  reaped: number;
  orphanCpu: number;
  listening: number;
  resumed: number;
  completed: number;
  orphansLeft: number;
}

async function measureRestarts(
  context: Context,
  mock: MockModel,
  plan: { sizes: number[]; rounds: number; deadline: number },
): Promise<BenchTable> {
  const rows: Array<Record<string, string | number>> = [];
  const skipped: string[] = [];
  const loads: number[] = [];
  for (const size of plan.sizes) {
    const samples: RestartSample[] = [];
    for (let round = 1; round <= plan.rounds; round++) {
      if (performance.now() > plan.deadline) {
        skipped.push(
          `K = ${size}: ${plan.rounds - round + 1} of ${plan.rounds} rounds skipped (time budget)`,
        );
        break;
      }
      context.progress(`lifecycle: restart, K = ${size}, round ${round}/${plan.rounds}`);
      loads[loads.length === 0 ? 0 : 1] = loadavg()[0] ?? Number.NaN;
      samples.push(await restartRound(context, mock, size, round));
    }
    if (samples.length === 0) continue;
    const column = (pick: (sample: RestartSample) => number) => {
      const values = samples.map(pick);
      return `${Math.round(median(values))} / ${Math.round(Math.max(...values))}`;
    };
    rows.push({
      K: size,
      rounds: samples.length,
      "fresh start: /health": column((sample) => sample.fresh),
      "restart: /health": column((sample) => sample.health),
      "old claude CPU ms": column((sample) => sample.orphanCpu * 1000),
      "stale reaped": column((sample) => sample.reaped),
      "'listening' logged": column((sample) => sample.listening),
      "all spawned resumed": column((sample) => sample.resumed),
      "all completed": column((sample) => sample.completed),
      "old claude left": Math.max(...samples.map((sample) => sample.orphansLeft)),
    });
  }
  return {
    title: "Lifecycle: restart of a SIGKILLed Baton to all sessions resumed (ms, median / max)",
    rows,
    notes: [
      "`baton serve` child process, K sessions (distinct owners, maxConcurrent K) each mid-tool in",
      `  '${SLOW_SCRIPT.replace("\n", "\\n")}' (allowedTools Bash) when Baton is SIGKILLed`,
      "fresh start: /health: the same for the round's first start (empty home, nothing to recover), for scale",
      "times from the restart command (spawn of the new Baton on the same home and port) to:",
      "  restart: /health: first 200 from GET /health (polled every 10 ms): the port accepts, before recovery",
      "  stale reaped: the first `session.resumed` (baton_restarted): old children killed (SIGTERM, SIGKILL after 500 ms)",
      "  'listening' logged: listen() returned: stale children reaped, every session's resume started",
      "  all spawned resumed: the last `session.spawned` with resumed: true (event ts)",
      "  all completed: the last `session.completed` (event ts); the resumed turn is the restart note, no re-run",
      "old claude CPU ms: CPU time the orphaned old generation (claude, bash; not the short sleeps) used from the kill to /health",
      "old claude left: old-generation processes (recorded before the kill) still alive once all completed",
      `load average (1 min) at the first and the last round: ${loads.map((load) => load.toFixed(1)).join(" and ")} on ${availableParallelism()} cores`,
      ...skipped,
    ],
  };
}

async function restartRound(
  context: Context,
  mock: MockModel,
  size: number,
  round: number,
): Promise<RestartSample> {
  const home = join(context.root, `restart-${size}-${round}`);
  const settings = testSettings(home, mock.url, { maxConcurrent: size });
  const port = await freePort();
  let baton: ServeBaton | undefined;
  let oldTree: RecordedProcess[] = [];
  try {
    const fresh0 = performance.now();
    baton = startServe(settings, port);
    const fresh = (await healthUp(baton, context.signal)) - fresh0;
    await within(baton.listening, 30_000, "baton listening", context.signal);
    const client = new BatonClient({ url: baton.url, token: TEST_TOKEN });
    const ids = await spawnSlowSessions(client, size, () => mkdtempSync(join(home, "work-")));
    const current = baton;
    await until(
      async () => {
        for (const id of ids) if (!busy((await client.get(id)).pid ?? undefined)) return undefined;
        return true;
      },
      30_000,
      `all ${size} sessions mid-tool`,
      context.signal,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${current.logs()}`);
    });
    oldTree = recordTree(listDescendants(baton.pid));
    const cpuAtKill = cpuTicks(oldTree);

    baton.child.kill("SIGKILL");
    await baton.exited;
    const wall0 = Date.now();
    const t0 = performance.now();
    baton = startServe(settings, port);
    const restarted = baton;
    const health = await healthUp(baton, context.signal);
    const orphanCpu = cpuSecondsBetween(cpuAtKill, cpuTicks(oldTree));
    const listening = await within(
      baton.listening,
      30_000,
      "baton listening after the restart",
      context.signal,
    );
    const restartedClient = new BatonClient({ url: baton.url, token: TEST_TOKEN });
    await waitHealth(
      restartedClient,
      (state) => {
        if (state.sessions.failed)
          throw new Error(`a session failed after the restart:\n${restarted.logs()}`);
        return state.sessions.completed === size;
      },
      60_000,
      `all ${size} sessions completed after the restart`,
      context.signal,
    );
    const orphansLeft = stillAlive(oldTree).length;
    const { events } = await restartedClient.events({ limit: 5000 });
    const after = (topic: string, resumedOnly: boolean) =>
      events
        .filter((event) => event.topic === topic && (!resumedOnly || event.data.resumed === true))
        .map((event) => Date.parse(event.ts) - wall0)
        .filter((ms) => ms >= 0);
    const reaped = events
      .filter((event) => event.topic === "session.resumed" && event.data.reason === "baton_restarted")
      .map((event) => Date.parse(event.ts) - wall0);
    const resumed = after("session.spawned", true);
    const completed = after("session.completed", false);
    if (resumed.length !== size || completed.length !== size) {
      throw new Error(
        `expected ${size} resumed spawns and completions, saw ${resumed.length} and ${completed.length}`,
      );
    }
    return {
      fresh,
      health: health - t0,
      reaped: Math.min(...reaped),
      orphanCpu,
      listening: listening - t0,
      resumed: Math.max(...resumed),
      completed: Math.max(...completed),
      orphansLeft,
    };
  } finally {
    if (baton) await stopServe(baton);
    await reapRecorded(oldTree);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

type Health = Awaited<ReturnType<BatonClient["health"]>>;

/** performance.now() at the first 200 from GET /health, polled every 10 ms from now. */
function healthUp(baton: ServeBaton, signal: AbortSignal | undefined): Promise<number> {
  return until(
    async () => {
      const response = await fetch(`${baton.url}/health`, { signal: AbortSignal.timeout(1000) }).catch(
        () => undefined,
      );
      await response?.body?.cancel();
      return response?.ok ? performance.now() : undefined;
    },
    30_000,
    "GET /health",
    signal,
    10,
  );
}

async function spawnMany(
  client: BatonClient,
  count: number,
  config: (index: number) => Parameters<BatonClient["spawn"]>[0],
  concurrency = 16,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await client.spawn(config(index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function waitHealth(
  client: BatonClient,
  check: (health: Health) => boolean,
  timeoutMs: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<true> {
  return until(async () => (check(await client.health()) ? true : undefined), timeoutMs, what, signal, 25);
}

/** Polls `probe` until it returns a value (not undefined); rejects at the deadline or on abort. */
async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  signal: AbortSignal | undefined,
  intervalMs = 25,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`aborted while waiting for ${what}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
