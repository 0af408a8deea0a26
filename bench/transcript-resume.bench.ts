// Issue 16: resuming a conversation from Baton's database (the SDK's `sessionStore`, sessions/transcript-
// store.ts) vs from the CLI's local transcript file, against the scripted model. One conversation of
// TURNS turns is written once (mirrored to a SQLite and a PostgreSQL store while the CLI writes its file);
// then each round resumes it once per path, in a rotated order (interleaved, paired by round), with a
// one-step follow-up. Measured from the `query({resume})` call to the model's first request (the history
// is loaded, materialised and read by the CLI) and to the follow-up's result. Every path's transcript grows
// by the same one turn a round.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Options } from "@anthropic-ai/claude-agent-sdk";
import { startMockModel } from "../src/mock-model/index.ts";
import { buildAgentEnv } from "../src/runner/agent-env.ts";
import {
  type TranscriptEntry,
  type TranscriptKey,
  TranscriptStore,
} from "../src/sessions/transcript-store.ts";
import { openStore, type Store } from "../src/store/open-store.ts";
import { agentEnvFor } from "../test/support/harness.ts";
import { createTestDatabase, postgresSkipReason } from "../test/support/postgres.ts";
import { BareRun } from "./bare-sdk.ts";
import { median, percentile } from "./stats.ts";
import type { BenchTable } from "./table.ts";

const STEP_TIMEOUT_MS = 60_000;
const TURNS = 20;

interface Path {
  name: string;
  store: TranscriptStore | undefined;
}

/** Mirrors the first conversation into every store at once, so each path starts from the same history. */
function fanOut(stores: TranscriptStore[], keys: TranscriptKey[]) {
  return {
    append: async (key: TranscriptKey, entries: TranscriptEntry[]) => {
      if (!keys.some((known) => known.sessionId === key.sessionId && known.subpath === key.subpath))
        keys.push(key);
      await Promise.all(stores.map((store) => store.append(key, entries)));
    },
    load: async (key: TranscriptKey) => stores[0]?.load(key) ?? null,
  };
}

export async function runTranscriptResumeBenchmark(
  options: { rounds?: number; signal?: AbortSignal } = {},
): Promise<BenchTable[]> {
  const rounds = options.rounds ?? 8;
  const root = mkdtempSync(join(tmpdir(), "baton-transcript-bench-"));
  const stops: Array<() => Promise<void>> = [];
  try {
    const mock = await startMockModel();
    stops.push(() => mock.stop());
    const stores: Store[] = [await openStore(join(root, "baton.db"))];
    const pgSkip = await postgresSkipReason();
    if (pgSkip === undefined) {
      const database = await createTestDatabase();
      stops.push(() => database.drop());
      stores.push(await openStore(database.url));
    }
    for (const store of stores) stops.unshift(() => store.close());
    const paths: Path[] = [
      { name: "local file", store: undefined },
      ...stores.map((store) => ({ name: `database (${store.dialect})`, store: new TranscriptStore(store) })),
    ];
    const env = buildAgentEnv(
      {
        anthropicApiKey: "test-key",
        anthropicBaseUrl: mock.url,
        agentEnv: agentEnvFor(root),
        quietAgents: true,
      },
      {},
    );
    const cwd = mkdtempSync(join(root, "work-"));
    const base: Options = { env, cwd, permissionMode: "acceptEdits" };

    const sessionId = randomUUID();
    const keys: TranscriptKey[] = [];
    const first = new BareRun(
      {
        ...base,
        sessionId,
        sessionStore: fanOut(
          paths.flatMap((path) => (path.store ? [path.store] : [])),
          keys,
        ),
        sessionStoreFlush: "eager",
      },
      "@say turn 1 of the history",
    );
    await first.waitForResult(1, STEP_TIMEOUT_MS, options.signal);
    for (let turn = 2; turn <= TURNS; turn++) {
      first.push(
        `@say turn ${turn} of the history, with some words to make the line longer than a few bytes`,
      );
      await first.waitForResult(turn, STEP_TIMEOUT_MS, options.signal);
    }
    await first.close();

    const samples = new Map(
      paths.map((path) => [path.name, { request: [] as number[], done: [] as number[] }]),
    );
    const resume = async (path: Path) => {
      const marker = `@say resumed ${randomUUID()}`;
      const wallStart = Date.now();
      const run = new BareRun(
        {
          ...base,
          resume: sessionId,
          ...(path.store ? { sessionStore: path.store, sessionStoreFlush: "eager" } : {}),
        },
        marker,
      );
      try {
        const request = await mock.waitForRequest((each) => each.instruction === marker, STEP_TIMEOUT_MS);
        const result = await run.waitForResult(1, STEP_TIMEOUT_MS, options.signal);
        if (request.messageCount < TURNS * 2) throw new Error(`${path.name}: the history did not come along`);
        return { request: Date.parse(request.at) - wallStart, done: result.at - run.startedAt };
      } finally {
        await run.close();
      }
    };
    for (const path of paths) await resume(path); // warm-up: page cache, connections
    const load = [loadavg()[0] ?? 0];
    for (let round = 0; round < rounds; round++) {
      options.signal?.throwIfAborted();
      for (let offset = 0; offset < paths.length; offset++) {
        const path = paths[(round + offset) % paths.length] as Path;
        const timing = await resume(path);
        samples.get(path.name)?.request.push(timing.request);
        samples.get(path.name)?.done.push(timing.done);
      }
    }
    load.push(loadavg()[0] ?? 0);
    const local = samples.get("local file");
    const rows = paths.map((path) => {
      const own = samples.get(path.name) ?? { request: [], done: [] };
      const sorted = [...own.done].sort((a, b) => a - b);
      return {
        path: path.name,
        "to model request (median ms)": Math.round(median(own.request)),
        "to result (median ms)": Math.round(median(own.done)),
        "to result (p90 ms)": Math.round(percentile(sorted, 90)),
        "vs local (median of paired ratios)": local
          ? median(own.done.map((value, index) => value / (local.done[index] ?? Number.NaN))).toFixed(2)
          : "-",
      };
    });
    const loads = await timeLoads(paths, keys[0], rounds * 4);
    const resumeTable: BenchTable = {
      title: `Resume a ${TURNS}-turn conversation: local file vs Baton's database (${rounds} interleaved rounds)`,
      rows,
      notes: [
        "from query({resume}) to the follow-up's model request and to its result; paired by round",
        `load average ${load.map((value) => value.toFixed(1)).join(" -> ")} (2 shared cores)`,
        ...(pgSkip ? [`PostgreSQL skipped: ${pgSkip}`] : []),
      ],
    };
    return [resumeTable, loads];
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

/** The store's own share of a resume: `load()` of the whole transcript (it has grown by the rounds). */
async function timeLoads(paths: Path[], key: TranscriptKey | undefined, times: number): Promise<BenchTable> {
  const rows: Array<Record<string, string | number>> = [];
  for (const path of paths) {
    if (!path.store || !key) continue;
    const samples: number[] = [];
    let lines = 0;
    let bytes = 0;
    for (let index = 0; index < times; index++) {
      const started = performance.now();
      const entries = (await path.store.load(key)) ?? [];
      samples.push(performance.now() - started);
      lines = entries.length;
      bytes = JSON.stringify(entries).length;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    rows.push({
      store: path.name,
      lines,
      "JSON bytes": bytes,
      "load() median ms": median(samples).toFixed(1),
      "load() p90 ms": percentile(sorted, 90).toFixed(1),
    });
  }
  return {
    title: "SessionStore.load() of that transcript from Baton's database",
    rows,
    notes: [`${times} loads each, after the resume rounds`],
  };
}
