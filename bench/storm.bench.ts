// Issue 17: a storm of 50 spawns with maxConcurrent 50, with and without admission (memory reserve and the
// start throttle), against the scripted model: time until all 50 completed, the box's memory at its
// fullest, and processes the kernel killed for memory (the oom_kill counter of /proc/vmstat, box-wide).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createBaton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import { startMockModel } from "../src/mock-model/index.ts";
import { readMemAvailableBytes } from "../src/runner/proc-memory.ts";
import { testSettings } from "../test/support/harness.ts";
import { EventWatch } from "./event-watch.ts";
import type { BenchTable } from "./table.ts";

const STORM = 50;
const MIB = 1024 * 1024;

function oomKills(): number {
  return Number(/^oom_kill (\d+)/m.exec(readFileSync("/proc/vmstat", "utf8"))?.[1] ?? 0);
}

function memTotal(): number {
  return Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) * 1024;
}

async function storm(admission: boolean, size: number): Promise<Record<string, string | number>> {
  const root = mkdtempSync(join(tmpdir(), "baton-storm-"));
  const mock = await startMockModel();
  const limits = admission ? {} : { memoryReserveMb: 0, maxStartingProcesses: STORM };
  const settings = testSettings(root, mock.url, { maxConcurrent: STORM, maxPerOwner: STORM, ...limits });
  const baton = await createBaton(loadConfig({ env: {}, flags: settings }));
  let lowest = Number.POSITIVE_INFINITY;
  const sampler = setInterval(() => {
    lowest = Math.min(lowest, readMemAvailableBytes("/proc/meminfo") ?? lowest);
  }, 100);
  try {
    const url = await baton.listen();
    const watch = await EventWatch.start(baton, url);
    const client = new BatonClient({ url, token: baton.adminToken });
    const workDir = mkdtempSync(join(root, "work-"));
    const killsBefore = oomKills();
    const started = performance.now();
    const sessions = await Promise.all(
      Array.from({ length: size }, (_, index) => client.spawn({ prompt: `@say storm ${index}`, workDir })),
    );
    const ends = await Promise.all(
      sessions.map((session) =>
        watch.waitFor(
          "sse",
          (event) =>
            event.sessionId === session.id && ["session.completed", "session.failed"].includes(event.topic),
          600_000,
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const failed = ends.filter((end) => end.event.topic !== "session.completed").length;
    const queued = (await client.events({ topics: ["session.queued"], limit: 1000 })).events.length;
    await watch.stop();
    return {
      admission: admission ? "on (reserve 512 MB, 4 starts)" : "off",
      "all completed s": seconds.toFixed(1),
      failed,
      "queued events": queued,
      "box memory in use at peak MiB": ((memTotal() - lowest) / MIB).toFixed(0),
      "kernel OOM kills": oomKills() - killsBefore,
    };
  } finally {
    clearInterval(sampler);
    await baton.stop();
    await mock.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runStormBenchmark(size = STORM): Promise<BenchTable> {
  const load = loadavg()[0] ?? 0;
  const rows = [await storm(true, size), await storm(false, size)];
  return {
    title: `A storm of ${size} spawns at once, maxConcurrent ${STORM} (real claude, scripted model)`,
    rows,
    notes: [
      "Peak: MemTotal minus the lowest MemAvailable sampled every 100 ms (the whole box, other work included).",
      `Kernel OOM kills: the box-wide oom_kill counter of /proc/vmstat, before and after. Load average at the start: ${load.toFixed(1)}.`,
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.ts");
  printTable(await runStormBenchmark(Number(process.argv[2] ?? STORM)));
}
