// The operations benchmark: the cost of a `GET /metrics` scrape with 10,000 sessions stored, and `GET /usage`
// latency over 1,000,000 per-turn usage records, on SQLite (the default store), through real HTTP against an
// in-process Baton. The rows are written straight into the store (no agent runs). Standalone:
// `node bench/ops.bench.ts`.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Baton, createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import type { SessionStatus } from "../src/core/session-status-names.ts";
import type { SessionRow } from "../src/store/session-queries.ts";
import { incrementToolCalls, insertUsageTurns, type UsageTurnRow } from "../src/store/usage-queries.ts";
import { sessionRow } from "../test/store/contract-rows.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";
import type { BenchTable } from "./table.ts";

const SESSIONS = 10_000;
const TURNS = 1_000_000;
const OWNERS = 20;
const MODELS = ["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"];
const SCRAPES = 30;
const QUERIES = 5;
const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const STATUSES: SessionStatus[] = ["completed", "completed", "completed", "failed", "killed"];

export async function runOpsBenchmark(): Promise<BenchTable[]> {
  const home = mkdtempSync(join(tmpdir(), "baton-ops-bench-"));
  const baton = await createBaton(
    loadConfig({ env: {}, flags: { port: 0, home, logLevel: "error", token: TEST_TOKEN } }),
  );
  try {
    const url = await baton.listen();
    await storeSessions(baton);
    const scrape = await timeScrapes(url);
    const seeded = performance.now();
    await storeTurns(baton);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const usage = await timeUsage(url);
    const scrapeAfter = await timeScrapes(url);
    return [
      {
        title: `GET /metrics with ${SESSIONS.toLocaleString("en")} sessions stored (SQLite, ${SCRAPES} scrapes)`,
        rows: [
          { "usage records": "30,000", ...scrape },
          { "usage records": TURNS.toLocaleString("en"), ...scrapeAfter },
        ],
        notes: [
          "Each scrape reads the store once: session counts by status, cost and tokens per owner (the",
          "usage_totals rows), tool-call counters, the outbox; plus prom-client's process defaults.",
        ],
      },
      {
        title: `GET /usage over ${TURNS.toLocaleString("en")} turn records (SQLite, median of ${QUERIES})`,
        rows: usage,
        notes: [
          `${OWNERS} owners, ${SESSIONS.toLocaleString("en")} trees, 30 days, ${MODELS.length} models; records written in ${seedSeconds.toFixed(1)} s.`,
          "`7 days` filters on ended_at (indexed); the full range scans every record.",
        ],
      },
    ];
  } finally {
    await baton.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

async function storeSessions(baton: Baton): Promise<void> {
  const now = new Date().toISOString();
  for (let start = 0; start < SESSIONS; start += 500) {
    await baton.store.transaction(async (tx) => {
      const rows: SessionRow[] = [];
      for (let index = start; index < Math.min(SESSIONS, start + 500); index++)
        rows.push(benchRow(index, now));
      await tx.insertInto("sessions").values(rows).execute();
    });
  }
  // Three turns per session so far, and a handful of tools.
  await storeTurnRange(baton, 0, SESSIONS * 3);
  await baton.store.transaction(async (tx) => {
    for (const tool of ["Bash", "Read", "Write", "Edit", "Grep", "mcp__baton__spawn"])
      for (let call = 0; call < 5; call++) await incrementToolCalls(tx, tool);
  });
}

function benchRow(index: number, now: string): SessionRow {
  return sessionRow(`ses_bench${String(index).padStart(8, "0")}`, {
    owner: `owner-${index % OWNERS}`,
    status: STATUSES[index % STATUSES.length] as SessionStatus,
    config: JSON.stringify({ prompt: "bench", workDir: "/tmp", maxBudgetUsd: 5, maxTurns: 50 }),
    cost_usd: 0.01,
    turns: 3,
    created_at: now,
    updated_at: now,
    started_at: now,
    ended_at: now,
  });
}

async function storeTurns(baton: Baton): Promise<void> {
  await storeTurnRange(baton, SESSIONS * 3, TURNS);
}

async function storeTurnRange(baton: Baton, from: number, to: number): Promise<void> {
  const day = 86_400_000;
  const base = Date.now() - 30 * day;
  for (let start = from; start < to; start += 5000) {
    await baton.store.transaction(async (tx) => {
      for (let chunk = start; chunk < Math.min(to, start + 5000); chunk += 500) {
        const rows: UsageTurnRow[] = [];
        for (let turn = chunk; turn < Math.min(to, chunk + 500); turn++) {
          const session = turn % SESSIONS;
          rows.push({
            id: `turn-${turn}:0`,
            turn_id: `turn-${turn}`,
            session_id: `ses_bench${String(session).padStart(8, "0")}`,
            owner: `owner-${session % OWNERS}`,
            root_session_id: `ses_bench${String(session).padStart(8, "0")}`,
            model: MODELS[turn % MODELS.length] as string,
            input_tokens: 1000 + (turn % 5000),
            output_tokens: 100 + (turn % 700),
            cache_read_tokens: turn % 20_000,
            cache_write_tokens: turn % 3000,
            cost_usd: 0.001 + (turn % 100) / 10_000,
            requests: 1 + (turn % 6),
            first_of_turn: 1,
            ended_at: new Date(base + ((turn * 2_592_007) % (30 * day))).toISOString(),
          });
        }
        await insertUsageTurns(tx, rows);
      }
    });
  }
}

async function timeScrapes(url: string): Promise<Record<string, string | number>> {
  const times: number[] = [];
  let bytes = 0;
  for (let round = 0; round < SCRAPES; round++) {
    const started = performance.now();
    const response = await fetch(`${url}/metrics`, { headers: AUTH });
    bytes = (await response.text()).length;
    times.push(performance.now() - started);
  }
  return { "median (ms)": median(times), "p95 (ms)": percentile(times, 0.95), "body (bytes)": bytes };
}

async function timeUsage(url: string): Promise<Array<Record<string, string | number>>> {
  const week = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const rows: Array<Record<string, string | number>> = [];
  for (const groupBy of ["owner", "tree", "day", "model"]) {
    for (const [range, from] of [
      ["all", undefined],
      ["7 days", week],
    ] as const) {
      const times: number[] = [];
      let keys = 0;
      for (let round = 0; round < QUERIES; round++) {
        const started = performance.now();
        const query = new URLSearchParams({ groupBy, ...(from ? { from } : {}) });
        const response = await fetch(`${url}/usage?${query}`, { headers: AUTH });
        keys = ((await response.json()) as { rows: unknown[] }).rows.length;
        times.push(performance.now() - started);
      }
      rows.push({ groupBy, range, keys, "median (ms)": median(times), "max (ms)": Math.max(...times) });
    }
  }
  return rows.map((row) => ({ ...row, "max (ms)": Number(Number(row["max (ms)"]).toFixed(1)) }));
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0).toFixed(1));
}

if (import.meta.main) {
  const { printTable } = await import("./table.ts");
  for (const table of await runOpsBenchmark()) printTable(table);
}
