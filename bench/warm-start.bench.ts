// Issue 17: a new session on a parked warm spare vs a bare cold `query()` of the Agent SDK, and vs Baton
// starting cold, against the scripted model, interleaved and paired: each round runs the three in a rotated
// order, and each waits until the warm pool has refilled (no refill competes with a measured start).
// Measured: from the request (POST /sessions, or the bare `query()` call) to the model's first request, and
// to the end of the one-step turn (session.completed on the SSE stream, or the SDK's result).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Baton, createBaton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import { type MockModel, startMockModel } from "../src/mock-model/index.ts";
import { buildAgentEnv } from "../src/runner/agent-env.ts";
import { agentEnvFor, testSettings } from "../test/support/harness.ts";
import { BareRun } from "./bare-sdk.ts";
import { EventWatch } from "./event-watch.ts";
import { median, percentile } from "./stats.ts";
import type { BenchTable } from "./table.ts";

const STEP_TIMEOUT_MS = 30_000;
type Path = "baton warm" | "baton cold" | "bare query()";
const PATHS: Path[] = ["baton warm", "bare query()", "baton cold"];

interface Side {
  baton: Baton;
  client: BatonClient;
  watch: EventWatch;
}

export async function runWarmStartBenchmark(
  options: { rounds?: number; signal?: AbortSignal } = {},
): Promise<BenchTable> {
  const rounds = options.rounds ?? 8;
  const root = mkdtempSync(join(tmpdir(), "baton-warm-bench-"));
  const stops: Array<() => Promise<void>> = [];
  try {
    const mock = await startMockModel();
    stops.push(() => mock.stop());
    const open = async (warmPool: number, name: string): Promise<Side> => {
      const settings = testSettings(root, mock.url, { warmPool, home: join(root, name), maxConcurrent: 4 });
      const baton = await createBaton(loadConfig({ env: {}, flags: settings }));
      stops.push(() => baton.stop());
      const url = await baton.listen();
      const watch = await EventWatch.start(baton, url);
      stops.push(() => watch.stop());
      return { baton, client: new BatonClient({ url, token: baton.adminToken }), watch };
    };
    const warm = await open(1, "warm");
    const cold = await open(0, "cold");
    const bareEnv = buildAgentEnv(
      {
        anthropicApiKey: "test-key",
        anthropicBaseUrl: mock.url,
        agentEnv: agentEnvFor(root),
        quietAgents: true,
      },
      {},
    );
    const workDir = mkdtempSync(join(root, "work-"));
    const samples = new Map<Path, { first: number[]; done: number[] }>(
      PATHS.map((path) => [path, { first: [], done: [] }]),
    );
    const run = (path: Path) =>
      path === "bare query()"
        ? timeBare(mock, bareEnv, workDir)
        : timeBaton(path === "baton warm" ? warm : cold, mock, workDir);
    // The first spawn teaches the pool this kind of session (its options); every path gets one warm-up.
    for (const path of PATHS) await run(path);
    const load = [loadavg()[0] ?? 0];
    for (let round = 0; round < rounds; round++) {
      options.signal?.throwIfAborted();
      for (let offset = 0; offset < PATHS.length; offset++) {
        const path = PATHS[(round + offset) % PATHS.length] as Path;
        await waitForSpare(warm.client);
        const timing = await run(path);
        samples.get(path)?.first.push(timing.first);
        samples.get(path)?.done.push(timing.done);
      }
      load.push(loadavg()[0] ?? 0);
    }
    const bare = samples.get("bare query()") as { first: number[]; done: number[] };
    const rows = PATHS.map((path) => {
      const own = samples.get(path) as { first: number[]; done: number[] };
      return {
        path,
        "first request p50 ms": median(own.first).toFixed(0),
        "p90 ms": percentile(
          [...own.first].sort((a, b) => a - b),
          90,
        ).toFixed(0),
        "× bare": (median(own.first) / median(bare.first)).toFixed(2),
        "completed p50 ms": median(own.done).toFixed(0),
        "× bare ": (median(own.done) / median(bare.done)).toFixed(2),
      };
    });
    return {
      title: `Spawn to first model request and to completion: warm spare vs bare query() vs cold (${rounds} rounds)`,
      rows,
      notes: [
        "One-step prompt (@say). Rounds rotate the order; the pool refills between every measured start.",
        `Load average (1 min) during the rounds: ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on ${(
          await import("node:os")
        ).availableParallelism()} cores.`,
        "Target (issue 17): baton warm <= 0.3x bare to the first model request.",
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

async function waitForSpare(client: BatonClient): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while ((await client.health()).warmPool.ready < 1) {
    if (Date.now() > deadline) throw new Error("the warm pool did not refill");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function timeBaton(side: Side, mock: MockModel, workDir: string) {
  const marker = randomUUID();
  const started = performance.now();
  const requested = mock.waitForRequest(
    (request) => request.instruction?.includes(marker) ?? false,
    STEP_TIMEOUT_MS,
  );
  const session = await side.client.spawn({ prompt: `@say ${marker}`, workDir });
  await requested;
  const first = performance.now() - started;
  const end = await side.watch.waitFor(
    "sse",
    (event) => event.sessionId === session.id && event.topic === "session.completed",
    STEP_TIMEOUT_MS,
  );
  const done = end.at - started;
  // Released, so the next start pays for its own process and nothing idles on the box.
  await side.baton.supervisor.serial.run(session.id, () =>
    side.baton.supervisor.close(session.id, "graceful"),
  );
  return { first, done };
}

async function timeBare(mock: MockModel, env: Record<string, string>, workDir: string) {
  const marker = randomUUID();
  const started = performance.now();
  const requested = mock.waitForRequest(
    (request) => request.instruction?.includes(marker) ?? false,
    STEP_TIMEOUT_MS,
  );
  const bare = new BareRun({ cwd: workDir, env, permissionMode: "acceptEdits" }, `@say ${marker}`);
  try {
    await requested;
    const first = performance.now() - started;
    const result = await bare.waitForResult(1, STEP_TIMEOUT_MS);
    return { first, done: result.at - bare.startedAt };
  } finally {
    await bare.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.ts");
  printTable(await runWarmStartBenchmark({ rounds: Number(process.argv[2] ?? 8) }));
}
