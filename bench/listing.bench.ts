// Lean listings (issue 17): `GET /sessions` pages and `GET /sessions/:id` with 100,000 sessions stored, every
// filter, first page and a deep keyset page; and Baton's own memory with those rows stored, idle. Baton runs
// alone in a child process (bench/lifecycle-baton-child.ts, scripted agents, --expose-gc), so its RSS and heap
// are its own; rows are written straight into SQLite before it starts (no agent runs).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import type { SessionStatus } from "../src/core/session-status-names.ts";
import { StoredSessionConfigSchema } from "../src/sessions/session-schema.ts";
import type { SessionRow } from "../src/store/session-queries.ts";
import { sessionRow } from "../test/store/contract-rows.ts";
import { TEST_TOKEN } from "../test/support/auth.ts";
import { ChildBaton } from "./lifecycle-processes.ts";
import { percentile } from "./stats.ts";
import type { BenchTable } from "./table.ts";

const SESSIONS = 100_000;
const OWNERS = 50;
const WORKDIRS = 200;
const REQUESTS = 300;
const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };
const STATUSES: SessionStatus[] = [
  "completed",
  "completed",
  "completed",
  "failed",
  "killed",
  "completed",
  "failed",
];
const MIB = 1024 * 1024;

export async function runListingBenchmark(): Promise<BenchTable[]> {
  const home = mkdtempSync(join(tmpdir(), "baton-listing-bench-"));
  const emptyHome = mkdtempSync(join(tmpdir(), "baton-listing-empty-"));
  const settings = (dir: string) => ({ port: 0, home: dir, logLevel: "error", token: TEST_TOKEN });
  try {
    const seeded = performance.now();
    await storeSessions(settings(home));
    const seedSeconds = (performance.now() - seeded) / 1000;
    const empty = await ChildBaton.start("scripted", settings(emptyHome));
    const idleEmpty = await empty.measure().finally(() => empty.stop());
    const baton = await ChildBaton.start("scripted", settings(home), 120_000);
    try {
      const idleFull = await baton.measure();
      const latencies = await timeListings(baton.url);
      const afterUse = await baton.measure();
      return [
        {
          title: `GET /sessions with ${SESSIONS.toLocaleString("en")} sessions stored (SQLite, ${REQUESTS} requests each, interleaved, page of 50)`,
          rows: latencies,
          notes: [
            `${OWNERS} owners, ${WORKDIRS} workDirs, 1 in 10 sessions has a parent; rows written in ${seedSeconds.toFixed(1)} s.`,
            "Keyset paging: `deep page` asks for the page after a cursor half-way down the filtered list.",
            "Target (issue 17): median <= 5 ms for a page (the Rust session-manager 8 ms, its Python version 26 ms).",
          ],
        },
        {
          title: `Baton's own memory, idle (child process, after full GCs)`,
          rows: [
            memoryRow("no sessions stored", idleEmpty),
            memoryRow(`${SESSIONS.toLocaleString("en")} stored, idle`, idleFull),
            memoryRow(`${SESSIONS.toLocaleString("en")} stored, after the listings`, afterUse),
            {
              state: "heap per stored session (idle)",
              "RSS MiB": "",
              "heap MiB": `${(((idleFull.heapUsed - idleEmpty.heapUsed) / SESSIONS) | 0).toString()} B`,
            },
          ],
          notes: ["Targets (issue 17): idle RSS <= 120 MiB, <= 2 KiB of heap per stored-but-idle session."],
        },
      ];
    } finally {
      await baton.stop();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(emptyHome, { recursive: true, force: true });
  }
}

function memoryRow(state: string, m: { rss: number; heapUsed: number }) {
  return { state, "RSS MiB": (m.rss / MIB).toFixed(1), "heap MiB": (m.heapUsed / MIB).toFixed(1) };
}

/** Writes `count` finished sessions straight into the store (no agent runs), newest last. */
export async function storeSessions(flags: Record<string, unknown>, count = SESSIONS): Promise<void> {
  const baton = await createBaton(loadConfig({ env: {}, flags }));
  try {
    const now = Date.now();
    for (let start = 0; start < count; start += 1000) {
      await baton.store.transaction(async (tx) => {
        const rows: SessionRow[] = [];
        for (let index = start; index < Math.min(count, start + 1000); index++)
          rows.push(benchRow(index, new Date(now - (count - index) * 1000).toISOString()));
        for (let offset = 0; offset < rows.length; offset += 200)
          await tx
            .insertInto("sessions")
            .values(rows.slice(offset, offset + 200))
            .execute();
      });
    }
  } finally {
    await baton.stop();
  }
}

function idOf(index: number): string {
  return `ses_bench${String(index).padStart(10, "0")}`;
}

function benchRow(index: number, at: string): SessionRow {
  const workDir = `/srv/work/project-${index % WORKDIRS}`;
  return sessionRow(idOf(index), {
    owner: `owner-${index % OWNERS}`,
    status: STATUSES[index % STATUSES.length] ?? "completed",
    // A complete stored config (as a spawn writes it): the workDir filter re-reads it.
    config: JSON.stringify(
      StoredSessionConfigSchema.parse({
        prompt: `task number ${index}: do the thing`,
        workDir,
        owner: `owner-${index % OWNERS}`,
        maxBudgetUsd: 5,
        maxTurns: 50,
        idleTimeoutMs: 120_000,
        permissionMode: "acceptEdits",
      }),
    ),
    parent_session_id: index % 10 === 9 ? idOf(index - (index % 100)) : null,
    result: `done ${index}`,
    cost_usd: 0.01,
    turns: 3,
    created_at: at,
    updated_at: at,
    started_at: at,
    ended_at: at,
  });
}

async function timeListings(url: string): Promise<Array<Record<string, string | number>>> {
  const middle = idOf(SESSIONS / 2);
  const cases: Array<[string, string]> = [
    ["no filter, first page", "/sessions?limit=50"],
    ["no filter, deep page", `/sessions?limit=50&cursor=${middle}`],
    ["status=completed", "/sessions?limit=50&status=completed"],
    ["status=failed, deep page", `/sessions?limit=50&status=failed&cursor=${middle}`],
    ["owner", "/sessions?limit=50&owner=owner-7"],
    ["owner, deep page", `/sessions?limit=50&owner=owner-7&cursor=${middle}`],
    ["owner + status", "/sessions?limit=50&owner=owner-7&status=completed"],
    ["parentSessionId", `/sessions?limit=50&parentSessionId=${idOf(4200)}`],
    ["workDir", "/sessions?limit=50&workDir=/srv/work/project-17"],
    ["workDir, deep page", `/sessions?limit=50&workDir=/srv/work/project-17&cursor=${middle}`],
    ["status=queued (none)", "/sessions?limit=50&status=queued"],
    ["GET /sessions/:id", `/sessions/${idOf(31_337)}`],
  ];
  // Interleaved: every round asks each request once, so load that comes and goes hits every case alike.
  const samples = cases.map(() => [] as number[]);
  const counts = cases.map(() => 0);
  for (let round = 0; round < REQUESTS + 20; round++) {
    for (const [index, [, path]] of cases.entries()) {
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers: AUTH });
      const body = (await response.json()) as { sessions?: unknown[] };
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
      if (round >= 20) samples[index]?.push(performance.now() - started);
      counts[index] = body.sessions?.length ?? 1;
    }
  }
  const rows = cases.map(([label], index) => {
    const sorted = [...(samples[index] ?? [])].sort((a, b) => a - b);
    return {
      request: label,
      rows: counts[index] ?? 0,
      "p50 ms": percentile(sorted, 50).toFixed(2),
      "p99 ms": percentile(sorted, 99).toFixed(2),
    };
  });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.ts");
  for (const table of await runListingBenchmark()) printTable(table);
}
