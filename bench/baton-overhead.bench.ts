// Baton's own share of a session's latency, with the agent replaced by a stub (no `claude` process): what
// Baton does between accepting a request and handing work to the SDK, and between the SDK's result and the
// event a caller sees. Two Batons run side by side, one with SQLite `synchronous = FULL` (the shipped
// setting) and one with `NORMAL`, so the share of the per-commit fsync is visible directly.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sql } from "kysely";
import { type Baton, createBaton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import type { Store } from "../src/store/open-store.ts";
import type { Tx } from "../src/store/schema.ts";
import { testSettings } from "../test/support/harness.ts";
import { EventWatch } from "./event-watch.ts";
import { Samples } from "./session-latency-report.ts";
import { summarize } from "./stats.ts";
import { StubRunner } from "./stub-runner.ts";
import type { BenchTable } from "./table.ts";
import { TimedRunner } from "./timed-runner.ts";

export interface BatonOverheadOptions {
  /** Measured spawn + follow-up rounds per variant (default 60). */
  iterations?: number;
  signal?: AbortSignal;
}

/** The stub answers after this long, like a (very fast) model: Baton's turn-end work then runs on its own. */
const STUB_ANSWER_MS = 20;
const SYNC_MODES = ["FULL", "NORMAL"] as const;
type SyncMode = (typeof SYNC_MODES)[number];

interface Variant {
  mode: SyncMode;
  baton: Baton;
  client: BatonClient;
  watch: EventWatch;
  runner: TimedRunner;
  transactions: Array<{ start: number; end: number }>;
  samples: Samples;
}

export async function runBatonOverheadBenchmark(options: BatonOverheadOptions = {}): Promise<BenchTable> {
  const iterations = options.iterations ?? 60;
  const root = mkdtempSync(join(tmpdir(), "baton-bench-stub-"));
  const variants: Variant[] = [];
  try {
    for (const mode of SYNC_MODES) variants.push(await startVariant(join(root, mode), mode));
    for (let index = 0; index <= iterations; index++) {
      if (options.signal?.aborted) throw new Error("aborted");
      const order = index % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        // Round 0 is the warm-up: same work, samples thrown away.
        const samples = index === 0 ? new Samples() : variant.samples;
        await measureRound({ ...variant, samples }, mkdtempSync(join(root, "work-")));
      }
    }
    return overheadTable(variants, iterations);
  } finally {
    for (const variant of variants) {
      await variant.watch.stop();
      await variant.baton.stop();
    }
    rmSync(root, { recursive: true, force: true });
  }
}

async function startVariant(root: string, mode: SyncMode): Promise<Variant> {
  const runner = new TimedRunner(new StubRunner(STUB_ANSWER_MS));
  // The model URL is never called: the stub runner replaces the agent.
  const settings = testSettings(root, "http://127.0.0.1:9", { maxConcurrent: 8, maxPerOwner: 8 });
  const baton = await createBaton(loadConfig({ env: {}, flags: settings }), { runner });
  await sql.raw(`PRAGMA synchronous = ${mode}`).execute(baton.store.db);
  const url = await baton.listen();
  const watch = await EventWatch.start(baton, url);
  const transactions = timeTransactions(baton.store);
  return {
    mode,
    baton,
    client: new BatonClient({ url, token: baton.adminToken }),
    watch,
    runner,
    transactions,
    samples: new Samples(),
  };
}

/** One spawn and one follow-up to the (warm, completed) session, then a kill. */
async function measureRound(variant: Variant, workDir: string): Promise<void> {
  const { client, runner, samples } = variant;
  const t0 = performance.now();
  const session = await client.spawn({ prompt: "stub", workDir });
  const responded = performance.now();
  const first = await turnEnd(variant, session.id, 0);
  const started = runner.find("start", session.id, t0);
  const pushed = runner.find("deliver", session.id, t0);
  const resulted = runner.find("turn_end", session.id, t0);
  if (!started || !pushed || !resulted) throw new Error("stub run missing a mark");
  samples.add("spawn.start", started.at - t0);
  samples.add("spawn.push", pushed.at - t0);
  samples.add("spawn.response", responded - t0);
  addTransactions(variant, "spawn", t0, pushed.at);
  samples.add("end.bus", first.bus.at - resulted.at);
  samples.add("end.sse", first.sse.at - resulted.at);

  const t1 = performance.now();
  const receipt = await client.send(session.id, { text: "again" });
  const acknowledged = performance.now();
  await turnEnd(variant, session.id, first.sse.event.seq);
  const delivered = runner.marks.find(
    (mark) => mark.kind === "deliver" && mark.messageId === receipt.messageId,
  );
  if (!delivered) throw new Error("follow-up was not delivered");
  samples.add("follow.push", delivered.at - t1);
  samples.add("follow.response", acknowledged - t1);
  addTransactions(variant, "follow", t1, delivered.at);
  await client.kill(session.id);
}

async function turnEnd(variant: Variant, sessionId: string, afterSeq: number) {
  const isEnd = (event: BatonEvent) =>
    event.sessionId === sessionId && event.seq > afterSeq && event.topic === "session.completed";
  const sse = await variant.watch.waitFor("sse", isEnd, 10_000);
  const bus = await variant.watch.waitFor("bus", isEnd, 10_000);
  return { sse, bus };
}

function addTransactions(variant: Variant, prefix: string, from: number, to: number): void {
  const inside = variant.transactions.filter((span) => span.start >= from && span.end <= to);
  variant.samples.add(`${prefix}.tx_count`, inside.length);
  variant.samples.add(
    `${prefix}.tx_ms`,
    inside.reduce((total, span) => total + (span.end - span.start), 0),
  );
}

/** Records the span of every store transaction (waiting for the connection, work and commit). */
function timeTransactions(store: Store): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  const original = store.transaction.bind(store);
  store.transaction = async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await original(work);
    } finally {
      spans.push({ start, end: performance.now() });
    }
  };
  return spans;
}

const ROWS: Array<[measure: string, metric: string]> = [
  ["spawn: POST /sessions → runner.start() (the child would spawn here)", "spawn.start"],
  ["spawn: POST /sessions → prompt pushed into the SDK input", "spawn.push"],
  ["spawn: POST /sessions → 201 response", "spawn.response"],
  ["spawn: store transactions before the push (count)", "spawn.tx_count"],
  ["spawn: time inside those transactions", "spawn.tx_ms"],
  ["follow-up (warm): POST /messages → message pushed into the SDK input", "follow.push"],
  ["follow-up (warm): POST /messages → 202 response", "follow.response"],
  ["follow-up: store transactions before the push (count)", "follow.tx_count"],
  ["follow-up: time inside those transactions", "follow.tx_ms"],
  ["turn end: SDK result → session.completed committed (bus)", "end.bus"],
  ["turn end: SDK result → session.completed at the SSE client", "end.sse"],
];

function overheadTable(variants: Variant[], iterations: number): BenchTable {
  const rows = ROWS.map(([measure, metric]) => {
    const row: Record<string, string | number> = { measure };
    for (const variant of variants) {
      const summary = summarize(variant.samples.get(metric));
      row[`${variant.mode} median`] = summary.median.toFixed(1);
      row[`${variant.mode} p95`] = summary.p95.toFixed(1);
    }
    return row;
  });
  return {
    title: "Baton's own time per step (stub agent, no CLI): SQLite synchronous=FULL vs NORMAL",
    rows,
    notes: [
      `${iterations} spawn + warm follow-up rounds per variant after one warm-up, variants alternating; ms ` +
        "unless a count.",
      `The stub ends each turn ${STUB_ANSWER_MS} ms after the push; times are taken by wrapping the runner port ` +
        "and store.transaction in this process (an HTTP client and an SSE subscriber as in the session table).",
      "Baton's addition to spawn→completed ≈ (POST → runner.start()) + (SDK result → session.completed at SSE); " +
        "its addition to a warm follow-up ≈ POST → message pushed.",
    ],
  };
}
