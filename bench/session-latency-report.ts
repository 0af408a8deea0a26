// Turns the session benchmark's samples into the tables of issue 2: spawn, follow-up, Baton's internal
// split, and the verdicts against the targets (≤ 5 % on spawn→completed, ≤ 10 ms on a follow-up).
import { median, percentile, summarize } from "./stats.ts";
import type { BenchTable } from "./table.ts";

/** Latency samples in milliseconds, by metric; every metric gets one sample per iteration unless noted. */
export class Samples {
  private readonly byMetric = new Map<string, number[]>();

  add(metric: string, ms: number): void {
    const list = this.byMetric.get(metric) ?? [];
    list.push(ms);
    this.byMetric.set(metric, list);
  }

  get(metric: string): number[] {
    return this.byMetric.get(metric) ?? [];
  }
}

type Row = [path: string, measure: string, metric: string];

const SPAWN_ROWS: Row[] = [
  ["Baton", "POST /sessions → 201 response", "baton.spawn.response"],
  ["Baton", "POST /sessions → session.spawned (SSE)", "baton.spawn.spawned.sse"],
  ["Baton", "POST /sessions → session.spawned (bus)", "baton.spawn.spawned.bus"],
  ["bare query()", "query() → system/init", "bare.spawn.init"],
  ["Baton", "POST /sessions → model request", "baton.spawn.request"],
  ["bare query()", "query() → model request", "bare.spawn.request"],
  ["Baton", "POST /sessions → session.completed (SSE)", "baton.spawn.completed.sse"],
  ["Baton", "POST /sessions → session.completed (bus)", "baton.spawn.completed.bus"],
  [
    "Baton, coordinationTools: false",
    "POST /sessions → session.completed (SSE)",
    "baton.plain.completed.sse",
  ],
  ["bare query()", "query() → result", "bare.spawn.result"],
  ["Baton", "model request → session.completed (SSE)", "baton.spawn.request_to_end"],
  ["bare query()", "model request → result", "bare.spawn.request_to_end"],
];

const FOLLOW_UP_ROWS: Row[] = [
  ["Baton, warm process", "POST /messages → model request", "baton.warm.request"],
  ["Baton, warm process", "POST /messages → 202 response", "baton.warm.response"],
  ["bare streaming query", "push → model request", "bare.stream.request"],
  ["Baton, warm process", "POST /messages → session.completed (SSE)", "baton.warm.completed.sse"],
  ["bare streaming query", "push → result", "bare.stream.result"],
  ["Baton, process closed", "POST /messages → model request", "baton.cold.request"],
  ["bare query({resume})", "query() → model request", "bare.resume.request"],
  ["Baton, process closed", "POST /messages → session.completed (SSE)", "baton.cold.completed.sse"],
  ["bare query({resume})", "query() → result", "bare.resume.result"],
];

const INTERNAL_ROWS: Row[] = [
  ["spawn", "POST → session.created committed", "baton.internal.accept_to_created"],
  ["spawn", "POST → runner.start() (SDK query() + child spawn)", "baton.internal.spawn_start"],
  ["spawn", "POST → session.spawned committed", "baton.spawn.spawned.bus"],
  ["spawn", "POST → prompt pushed into the SDK input", "baton.internal.spawn_push"],
  ["turn end", "SDK result → session.completed at the SSE client", "baton.internal.result_to_completed"],
  ["any event", "bus publish → SSE client (2 per iteration)", "baton.internal.sse_lag"],
  ["warm follow-up", "POST → session.message_queued committed", "baton.warm.internal.accept_to_queued"],
  ["warm follow-up", "POST → session.resumed committed", "baton.warm.internal.accept_to_resumed"],
  ["warm follow-up", "POST → message pushed into the SDK input", "baton.warm.internal.push"],
  ["warm follow-up", "push → model request (the CLI's time)", "baton.warm.internal.push_to_request"],
  ["bare streaming", "push → model request (the CLI's time)", "bare.stream.request"],
  ["closed follow-up", "POST → runner.start() (query({resume}))", "baton.cold.internal.start"],
  ["closed follow-up", "POST → message pushed into the SDK input", "baton.cold.internal.push"],
];

export function buildSessionTables(
  samples: Samples,
  run: { iterations: number; requested: number },
): BenchTable[] {
  const ran =
    run.iterations === run.requested
      ? `${run.iterations} iterations`
      : `${run.iterations} of ${run.requested} iterations (time budget reached)`;
  const common = `${ran} after one warm-up; spawns go through all six orders, follow-ups alternate (A/B, B/A); ms.`;
  return [
    {
      title: "Session spawn, one-step prompt (`@say`), Baton vs bare Agent SDK",
      rows: SPAWN_ROWS.map((row) => statsRow(samples, row)),
      notes: [
        common,
        "Baton timings are taken by an HTTP client (fetch) and an SSE subscriber on /events, both in the " +
          "benchmark process; (bus) rows are the in-process `log.bus` subscription, i.e. the commit itself.",
        "session.spawned is recorded when the `claude` child is spawned (before the CLI is initialised), so it " +
          "is not the same moment as the bare system/init; `→ model request` is the like-for-like point.",
      ],
    },
    {
      title: "Follow-up latency: send → the scripted model receives the request",
      rows: FOLLOW_UP_ROWS.map((row) => statsRow(samples, row)),
      notes: [
        common,
        "Warm: the session completed its first turn and its `claude` process is alive (keepAliveMs). Closed: " +
          "Baton's process was closed first, so Baton resumes with a new query({resume}), like the bare row.",
      ],
    },
    {
      title: "Where Baton's time goes (bus = commit time; in-process)",
      rows: INTERNAL_ROWS.map((row) => statsRow(samples, row)),
    },
    verdictTable(samples, common),
  ];
}

function verdictTable(samples: Samples, common: string): BenchTable {
  const spawn = compare(samples, "baton.spawn.completed.sse", "bare.spawn.result");
  const spawnBus = compare(samples, "baton.spawn.completed.bus", "bare.spawn.result");
  const plain = compare(samples, "baton.plain.completed.sse", "bare.spawn.result");
  const firstRequest = compare(samples, "baton.spawn.request", "bare.spawn.request");
  const warm = compare(samples, "baton.warm.request", "bare.stream.request");
  const cold = compare(samples, "baton.cold.request", "bare.resume.request");
  const spawnPercent = (spawn.pairedMs / spawn.bare) * 100;
  const spawnOk = spawnPercent <= 5;
  const plainOk = (plain.pairedMs / plain.bare) * 100 <= 5;
  const warmOk = warm.pairedMs <= 10;
  return {
    title: "Baton overhead vs targets",
    rows: [
      verdictRow("spawn → completed (SSE) vs bare query() → result", spawn, "≤ 5 %", spawnOk),
      verdictRow("spawn → completed (bus) vs bare query() → result", spawnBus, "", undefined),
      verdictRow("same, coordinationTools: false (no MCP handshake)", plain, "≤ 5 %", plainOk),
      verdictRow("spawn → model request vs bare", firstRequest, "", undefined),
      verdictRow("warm follow-up → model request vs bare streaming push", warm, "≤ 10 ms", warmOk),
      verdictRow("closed follow-up → model request vs bare query({resume})", cold, "", undefined),
    ],
    notes: [
      `Baton spawn→completed vs bare: ${signed(spawnPercent, "%")} (${signed(spawn.pairedMs, "ms")}; ` +
        `target ≤ 5 %): ${spawnOk ? "MET" : "MISSED"}`,
      `Baton follow-up vs bare streaming: ${signed(warm.pairedMs, "ms")} (target ≤ 10 ms): ` +
        `${warmOk ? "MET" : "MISSED"}`,
      "The bare query() has no MCP server; a Baton session has Baton's coordination tools unless spawned " +
        "with coordinationTools: false, and the CLI connects to them before its first model request. The " +
        "three spawns of an iteration (Baton, bare, Baton with coordinationTools: false) go through all six orders.",
      "The verdict uses the paired Δ: the median of per-iteration differences between adjacent Baton and " +
        "bare runs, which cancels slow drift in machine load; Δ medians (difference of the two medians) is " +
        "shown too. `paired IQR` is the 25th–75th percentile of those differences: the noise to read it against.",
      common,
    ],
  };
}

interface Comparison {
  baton: number;
  bare: number;
  deltaMs: number;
  pairedMs: number;
  pairedLow: number;
  pairedHigh: number;
}

function compare(samples: Samples, batonMetric: string, bareMetric: string): Comparison {
  const batonSamples = samples.get(batonMetric);
  const bareSamples = samples.get(bareMetric);
  const baton = median(batonSamples);
  const bare = median(bareSamples);
  const count = Math.min(batonSamples.length, bareSamples.length);
  const paired = Array.from(
    { length: count },
    (_, index) => (batonSamples[index] ?? Number.NaN) - (bareSamples[index] ?? Number.NaN),
  );
  const sorted = [...paired].sort((a, b) => a - b);
  return {
    baton,
    bare,
    deltaMs: baton - bare,
    pairedMs: percentile(sorted, 50),
    pairedLow: percentile(sorted, 25),
    pairedHigh: percentile(sorted, 75),
  };
}

function verdictRow(
  comparison: string,
  result: Comparison,
  target: string,
  met: boolean | undefined,
): Record<string, string | number> {
  return {
    comparison,
    "Baton median": round(result.baton),
    "bare median": round(result.bare),
    "Δ medians": signed(result.deltaMs, "ms"),
    "paired Δ": `${signed(result.pairedMs, "ms")} (${signed((result.pairedMs / result.bare) * 100, "%")})`,
    "paired IQR": `${signed(result.pairedLow, "")}…${signed(result.pairedHigh, "")}`,
    target,
    verdict: met === undefined ? "" : met ? "MET" : "MISSED",
  };
}

function statsRow(samples: Samples, [path, measure, metric]: Row): Record<string, string | number> {
  const summary = summarize(samples.get(metric));
  return {
    path,
    measure,
    n: summary.n,
    median: round(summary.median),
    p95: round(summary.p95),
    min: round(summary.min),
    max: round(summary.max),
  };
}

/** Milliseconds with one decimal; "n/a" for a metric with no samples. */
function round(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : "n/a";
}

function signed(value: number, unit: string): string {
  const text = `${value >= 0 ? "+" : ""}${value.toFixed(1)}`;
  return unit ? `${text} ${unit}` : text;
}
