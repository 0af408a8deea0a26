// Issue 2: what Baton adds to the latency of a session, next to the bare Agent SDK, in one run against the
// scripted model. Everything runs in this process: the mock model, a real Baton on a loopback port, an
// HTTP/SSE client, and the bare SDK queries, so every path shares the same event loop and the same noise.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Options } from "@anthropic-ai/claude-agent-sdk";
import { type Baton, createBaton } from "../src/app.ts";
import { createSdkRunner } from "../src/app-config.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../src/mock-model/index.ts";
import { buildAgentEnv } from "../src/runner/agent-env.ts";
import { killProcessTree, listDescendants } from "../src/runner/process-tree.ts";
import { agentEnvFor, testSettings } from "../test/support/harness.ts";
import { BareRun } from "./bare-sdk.ts";
import { type EventSource, EventWatch } from "./event-watch.ts";
import { buildSessionTables, Samples } from "./session-latency-report.ts";
import type { BenchTable } from "./table.ts";
import { TimedRunner } from "./timed-runner.ts";

export interface SessionLatencyOptions {
  /** Measured iterations after one warm-up (default 10). */
  iterations?: number;
  /** Stop starting new iterations after this long (default 6 min); the tables say how many ran. */
  timeBudgetMs?: number;
  signal?: AbortSignal;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

/** Any single wait (a spawn, a turn, a request) longer than this is a failure, not a sample. */
const STEP_TIMEOUT_MS = 30_000;

interface Context {
  baton: Baton;
  client: BatonClient;
  mock: MockModel;
  watch: EventWatch;
  runner: TimedRunner;
  root: string;
  bareEnv: Record<string, string>;
  bareRuns: Set<BareRun>;
  samples: Samples;
  signal: AbortSignal | undefined;
}

export async function runSessionLatencyBenchmark(options: SessionLatencyOptions = {}): Promise<BenchTable[]> {
  const iterations = options.iterations ?? 10;
  const budgetMs = options.timeBudgetMs ?? 6 * 60_000;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = mkdtempSync(join(tmpdir(), "baton-bench-"));
  const stops: Array<() => Promise<void>> = [];
  const bareRuns = new Set<BareRun>();
  try {
    const mock = await startMockModel();
    stops.push(() => mock.stop());
    const settings = testSettings(root, mock.url, { maxConcurrent: 8, maxPerOwner: 8 });
    const config = loadConfig({ env: {}, flags: settings });
    // Baton's own SdkRunner, built as createBaton builds it, wrapped only to time-stamp start/push/result.
    const runner = new TimedRunner(createSdkRunner(config));
    const baton = await createBaton(config, { runner });
    stops.push(() => baton.stop());
    const url = await baton.listen();
    const watch = await EventWatch.start(baton, url);
    stops.push(() => watch.stop());
    const context: Context = {
      baton,
      client: new BatonClient({ url, token: baton.adminToken }),
      mock,
      watch,
      runner,
      root,
      // The same environment Baton builds for its children, minus the per-session BATON_* variables.
      bareEnv: buildAgentEnv(
        {
          anthropicApiKey: "test-key",
          anthropicBaseUrl: mock.url,
          agentEnv: agentEnvFor(root),
          quietAgents: true,
        },
        {},
      ),
      bareRuns,
      samples: new Samples(),
      signal: options.signal,
    };
    const started = performance.now();
    progress("session-latency: warm-up");
    await runIteration({ ...context, samples: new Samples() }, 0);
    let completed = 0;
    for (let index = 1; index <= iterations; index++) {
      if (performance.now() - started > budgetMs) break;
      progress(`session-latency: iteration ${index}/${iterations}`);
      await runIteration(context, index);
      completed = index;
    }
    return buildSessionTables(context.samples, { iterations: completed, requested: iterations });
  } finally {
    await Promise.allSettled([...bareRuns].map((run) => run.close()));
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => progress(`cleanup: ${error}`));
    await reapOwnChildren();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Every order of the three spawns, so each goes first, second and third equally often. */
const SPAWN_ORDERS = [
  [0, 1, 2],
  [1, 0, 2],
  [2, 0, 1],
  [0, 2, 1],
  [1, 2, 0],
  [2, 1, 0],
];

/**
 * One A/B round. The order of Baton and bare flips every iteration so that page-cache warmth, the CLI's
 * post-turn background work and CPU noise fall on both sides equally.
 */
async function runIteration(context: Context, index: number): Promise<void> {
  const batonFirst = index % 2 === 0;
  const inOrder = async (baton: () => Promise<void>, bare: () => Promise<void>) => {
    for (const step of batonFirst ? [baton, bare] : [bare, baton]) await step();
  };
  let session: BatonSession | undefined;
  let bare: { run: BareRun; workDir: string; agentSessionId: string } | undefined;
  try {
    // The spawns go through all six orders: a session without coordination tools shows how much of
    // the spawn overhead is the CLI's handshake with Baton's in-process MCP server (docs/coordination.md).
    const spawns = [
      async () => {
        session = await spawnThroughBaton(context, index);
      },
      async () => {
        bare = await spawnBare(context, index);
      },
      () => spawnPlainThroughBaton(context, index),
    ];
    for (const step of SPAWN_ORDERS[index % SPAWN_ORDERS.length] ?? []) await spawns[step]?.();
    const live = bare;
    const mine = session;
    if (!live || !mine) throw new Error("a spawn step did not run");
    await inOrder(
      () => followUpThroughBaton(context, mine, `warm-${index}`, "baton.warm"),
      () => followUpBareStreaming(context, live.run, index),
    );
    // Cold follow-ups: the process is gone, so both sides must start a new one with `resume`.
    await live.run.close();
    const { supervisor } = context.baton;
    await supervisor.serial.run(mine.id, () => supervisor.close(mine.id, "graceful"));
    await inOrder(
      () => followUpThroughBaton(context, mine, `cold-${index}`, "baton.cold"),
      () => resumeBare(context, live.workDir, live.agentSessionId, index),
    );
  } finally {
    if (session) await context.client.kill(session.id).catch(() => undefined);
    await Promise.allSettled([...context.bareRuns].map((run) => run.close()));
    context.bareRuns.clear();
  }
}

/** A Baton session under test and the seq of its latest turn end (the next turn end comes after it). */
interface BatonSession {
  id: string;
  lastEndSeq: number;
}

async function spawnThroughBaton(context: Context, index: number): Promise<BatonSession> {
  const tag = `<baton-spawn-${index}>`;
  const request = expectRequest(context, tag);
  const t0 = performance.now();
  const session = await context.client.spawn({ prompt: `@say spawned ${tag}`, workDir: newWorkDir(context) });
  const responded = performance.now();
  const mine = (topic: string) => (event: BatonEvent) =>
    event.topic === topic && event.sessionId === session.id;
  const spawned = await waitEvent(context, "sse", mine("session.spawned"));
  const requested = await request;
  const completed = await waitTurnEnd(context, "sse", session.id, 0);
  const bus = {
    created: await waitEvent(context, "bus", mine("session.created")),
    spawned: await waitEvent(context, "bus", mine("session.spawned")),
    completed: await waitTurnEnd(context, "bus", session.id, 0),
  };
  const marks = {
    start: context.runner.find("start", session.id, t0),
    push: context.runner.find("deliver", session.id, t0),
    result: context.runner.find("turn_end", session.id, t0),
  };
  const { samples } = context;
  samples.add("baton.spawn.response", responded - t0);
  samples.add("baton.internal.spawn_start", (marks.start?.at ?? Number.NaN) - t0);
  samples.add("baton.internal.spawn_push", (marks.push?.at ?? Number.NaN) - t0);
  samples.add("baton.internal.result_to_completed", completed.at - (marks.result?.at ?? Number.NaN));
  samples.add("baton.spawn.spawned.sse", spawned.at - t0);
  samples.add("baton.spawn.spawned.bus", bus.spawned.at - t0);
  samples.add("baton.spawn.request", requested - t0);
  samples.add("baton.spawn.completed.sse", completed.at - t0);
  samples.add("baton.spawn.completed.bus", bus.completed.at - t0);
  samples.add("baton.spawn.request_to_end", completed.at - requested);
  samples.add("baton.internal.accept_to_created", bus.created.at - t0);
  samples.add("baton.internal.sse_lag", spawned.at - bus.spawned.at);
  samples.add("baton.internal.sse_lag", completed.at - bus.completed.at);
  return { id: session.id, lastEndSeq: completed.event.seq };
}

async function spawnPlainThroughBaton(context: Context, index: number): Promise<void> {
  const t0 = performance.now();
  const session = await context.client.spawn({
    prompt: `@say plain <baton-plain-${index}>`,
    workDir: newWorkDir(context),
    coordinationTools: false,
  });
  const completed = await waitTurnEnd(context, "sse", session.id, 0);
  context.samples.add("baton.plain.completed.sse", completed.at - t0);
  await context.client.kill(session.id).catch(() => undefined);
}

async function spawnBare(
  context: Context,
  index: number,
): Promise<{ run: BareRun; workDir: string; agentSessionId: string }> {
  const tag = `<bare-spawn-${index}>`;
  const workDir = newWorkDir(context);
  const agentSessionId = randomUUID();
  const request = expectRequest(context, tag);
  const run = new BareRun(
    { ...bareOptions(context, workDir), sessionId: agentSessionId },
    `@say spawned ${tag}`,
  );
  context.bareRuns.add(run);
  const init = await run.waitForInit(STEP_TIMEOUT_MS, context.signal);
  const requested = await request;
  const result = await run.waitForResult(1, STEP_TIMEOUT_MS, context.signal);
  context.samples.add("bare.spawn.init", init.at - run.startedAt);
  context.samples.add("bare.spawn.request", requested - run.startedAt);
  context.samples.add("bare.spawn.result", result.at - run.startedAt);
  context.samples.add("bare.spawn.request_to_end", result.at - requested);
  return { run, workDir, agentSessionId };
}

/** A follow-up to a completed session: `baton.warm` has its process alive, `baton.cold` had it closed. */
async function followUpThroughBaton(
  context: Context,
  session: BatonSession,
  label: string,
  metric: "baton.warm" | "baton.cold",
): Promise<void> {
  const sessionId = session.id;
  const tag = `<baton-${label}>`;
  const request = expectRequest(context, tag);
  const t0 = performance.now();
  const receipt = await context.client.send(sessionId, { text: `@say again ${tag}` });
  const responded = performance.now();
  const requested = await request;
  const completed = await waitTurnEnd(context, "sse", sessionId, session.lastEndSeq);
  session.lastEndSeq = completed.event.seq;
  const about = (topic: string) => (event: BatonEvent) =>
    event.topic === topic && event.sessionId === sessionId && event.data.messageId === receipt.messageId;
  const queued = await waitEvent(context, "bus", about("session.message_queued"));
  const resumed = await waitEvent(context, "bus", about("session.resumed"));
  const pushed = context.runner.marks.find(
    (mark) => mark.kind === "deliver" && mark.messageId === receipt.messageId,
  );
  const started = context.runner.find("start", sessionId, t0);
  const { samples } = context;
  samples.add(`${metric}.internal.push`, (pushed?.at ?? Number.NaN) - t0);
  samples.add(`${metric}.internal.push_to_request`, requested - (pushed?.at ?? Number.NaN));
  if (metric === "baton.cold") samples.add(`${metric}.internal.start`, (started?.at ?? Number.NaN) - t0);
  samples.add(`${metric}.request`, requested - t0);
  samples.add(`${metric}.response`, responded - t0);
  samples.add(`${metric}.completed.sse`, completed.at - t0);
  samples.add(`${metric}.internal.accept_to_queued`, queued.at - t0);
  samples.add(`${metric}.internal.accept_to_resumed`, resumed.at - t0);
}

async function followUpBareStreaming(context: Context, run: BareRun, index: number): Promise<void> {
  const tag = `<bare-warm-${index}>`;
  const request = expectRequest(context, tag);
  const t0 = performance.now();
  run.push(`@say again ${tag}`);
  const requested = await request;
  const result = await run.waitForResult(2, STEP_TIMEOUT_MS, context.signal);
  context.samples.add("bare.stream.request", requested - t0);
  context.samples.add("bare.stream.result", result.at - t0);
}

async function resumeBare(context: Context, workDir: string, agentSessionId: string, index: number) {
  const tag = `<bare-resume-${index}>`;
  const request = expectRequest(context, tag);
  const run = new BareRun({ ...bareOptions(context, workDir), resume: agentSessionId }, `@say again ${tag}`);
  context.bareRuns.add(run);
  const requested = await request;
  const result = await run.waitForResult(1, STEP_TIMEOUT_MS, context.signal);
  context.samples.add("bare.resume.request", requested - run.startedAt);
  context.samples.add("bare.resume.result", result.at - run.startedAt);
  await run.close();
}

/** What Baton passes to `query()` for a default session (see SdkRunner.buildOptions), without Baton. */
function bareOptions(context: Context, workDir: string): Options {
  return { cwd: workDir, env: context.bareEnv, permissionMode: "acceptEdits", maxTurns: 50, maxBudgetUsd: 5 };
}

/**
 * The moment the scripted model receives the request carrying `tag`. Registered before the action, since a
 * request may arrive before the action's own promise (an HTTP 202) resolves; the time is taken inside the
 * predicate, synchronously on arrival.
 */
function expectRequest(context: Context, tag: string): Promise<number> {
  let at: number | undefined;
  const arrived = context.mock
    .waitForRequest((request) => {
      if (!request.instruction?.includes(tag)) return false;
      at ??= performance.now();
      return true;
    }, STEP_TIMEOUT_MS)
    .then(() => at ?? Number.NaN);
  arrived.catch(() => undefined); // awaited later; a failure before that must not become an unhandled rejection
  return arrived;
}

function waitEvent(context: Context, source: EventSource, predicate: (event: BatonEvent) => boolean) {
  return context.watch.waitFor(source, predicate, STEP_TIMEOUT_MS, context.signal);
}

/** The first turn end of `sessionId` after `afterSeq`; a failed turn throws. */
async function waitTurnEnd(context: Context, source: EventSource, sessionId: string, afterSeq: number) {
  const arrival = await waitEvent(
    context,
    source,
    (event) =>
      event.sessionId === sessionId &&
      event.seq > afterSeq &&
      (event.topic === "session.completed" || event.topic === "session.failed"),
  );
  if (arrival.event.topic === "session.failed") {
    throw new Error(`session ${sessionId} failed: ${JSON.stringify(arrival.event.data)}`);
  }
  return arrival;
}

function newWorkDir(context: Context): string {
  return mkdtempSync(join(context.root, "work-"));
}

/** Every `claude` child this run started must be gone; reap any straggler by its own pid, never by name. */
async function reapOwnChildren(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (listDescendants(process.pid).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const pid of listDescendants(process.pid)) await killProcessTree(pid, 1000);
}
