// Baton for the lifecycle benchmark, alone in a child process started with --expose-gc, so that its RSS and
// heap are Baton's own (no benchmark client, no scripted model, no `claude` child in them). Driven over the
// IPC channel by bench/lifecycle-processes.ts (ChildBaton).
// Usage: node --expose-gc bench/lifecycle-baton-child.ts <scripted|sdk> <settings JSON>
//   scripted: agents are ScriptedRunner runs (test/support/scripted-runner.ts) that answer every message at
//             once, or hold it until "release" while "hold" is on: nothing but Baton's own work is measured.
//   sdk:      Baton exactly as `baton serve` builds it (real `claude` children).
import { statSync } from "node:fs";
import { sql } from "kysely";
import { createBaton } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import type {
  AgentRun,
  AgentRunner,
  ProcessInfo,
  RunObserver,
  RunSpec,
} from "../src/sessions/runner-port.ts";
import { type ScriptedRun, ScriptedRunner } from "../test/support/scripted-runner.ts";

/** What the child reports for "measure": process.memoryUsage() after full collections, and the store. */
export interface ChildMeasurement {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Events committed so far (the bus's latest seq). */
  latestSeq: number;
  liveRuns: number;
  /** The SQLite file plus its WAL, in bytes. */
  storeBytes: number;
}

export type ChildRequest = { id: number; command: "measure" | "hold" | "release" | "stop" };
export type ChildReply =
  | { type: "ready"; url: string }
  | { type: "reply"; id: number; result?: ChildMeasurement; error?: string };

/** ScriptedRunner runs that end each delivered turn on the next tick, or keep it open while holding. */
class HoldingRunner implements AgentRunner {
  private readonly inner = new ScriptedRunner();
  private readonly held = new Set<ScriptedRun>();
  holding = false;

  start(spec: RunSpec, observer: RunObserver): AgentRun {
    const run = this.inner.start(spec, observer) as ScriptedRun;
    return {
      pid: run.pid,
      deliver: (message) => {
        run.deliver(message);
        if (this.holding) this.held.add(run);
        else setImmediate(() => run.endTurn("success"));
      },
      interrupt: () => run.interrupt(),
      close: async () => {
        this.held.delete(run);
        await run.close();
      },
    };
  }

  reapStale(stale: ProcessInfo): Promise<boolean> {
    return this.inner.reapStale(stale);
  }

  release(): void {
    this.holding = false;
    const runs = [...this.held];
    this.held.clear();
    for (const run of runs) run.endTurn("success");
  }
}

const [kind, settingsJson] = process.argv.slice(2);
const send = (message: ChildReply) => process.send?.(message);
const gc = (globalThis as { gc?: () => void }).gc;
if ((kind !== "scripted" && kind !== "sdk") || !settingsJson || !process.send || !gc) {
  process.stderr.write(
    "usage (IPC child): node --expose-gc lifecycle-baton-child.ts <scripted|sdk> <json>\n",
  );
  process.exit(2);
}
const settings = JSON.parse(settingsJson) as Record<string, unknown> & { syncMode?: string };
const { syncMode, ...flags } = settings;
const runner = kind === "scripted" ? new HoldingRunner() : undefined;
const config = loadConfig({ env: {}, flags });
const baton = await createBaton(config, runner ? { runner } : {});
if (syncMode === "NORMAL") await sql.raw("PRAGMA synchronous = NORMAL").execute(baton.store.db);
const url = await baton.listen();

async function measure(): Promise<ChildMeasurement> {
  // Several full collections with turns of the event loop between them, so finalizers and weak refs settle.
  for (let round = 0; round < 4; round++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    latestSeq: baton.log.bus.latestSeq,
    liveRuns: baton.supervisor.liveCount,
    storeBytes: size(config.db) + size(`${config.db}-wal`),
  };
}

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= baton.stop().finally(() => process.exit(0));
  return stopping;
};

process.on("message", (raw) => {
  const request = raw as ChildRequest;
  const answer = async (): Promise<ChildMeasurement | undefined> => {
    switch (request.command) {
      case "measure":
        return measure();
      case "hold":
        if (runner) runner.holding = true;
        return undefined;
      case "release":
        runner?.release();
        return undefined;
      case "stop":
        await stop();
        return undefined;
    }
  };
  answer().then(
    (result) => send({ type: "reply", id: request.id, ...(result ? { result } : {}) }),
    (error: unknown) => send({ type: "reply", id: request.id, error: String(error) }),
  );
});
// The parent went away (or closed the channel): shut down rather than linger.
process.once("disconnect", () => void stop());
process.once("SIGTERM", () => void stop());
send({ type: "ready", url });
