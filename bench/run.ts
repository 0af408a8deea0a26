// `npm run bench`: Baton's benchmarks, printed as tables.
// `--only session|bus|lifecycle|ops|dashboard|tracing|capacity|cluster|transcripts|thousand`;
// `--iterations N` sets the rounds of the session benchmark against the real CLI (the stub-agent overhead
// table does its own 60).
import { parseArgs } from "node:util";
import { runBatonOverheadBenchmark } from "./baton-overhead.bench.ts";
import { runBusBenchmark } from "./bus.bench.ts";
import { runClusterBenchmark } from "./cluster.bench.ts";
import { runCrossNodeBenchmark } from "./cross-node.bench.ts";
import { runDashboardBenchmark } from "./dashboard.bench.ts";
import { runLifecycleBenchmark } from "./lifecycle.bench.ts";
import { runListingBenchmark } from "./listing.bench.ts";
import { runOpsBenchmark } from "./ops.bench.ts";
import { runSessionLatencyBenchmark } from "./session-latency.bench.ts";
import { runStormBenchmark } from "./storm.bench.ts";
import { printTable } from "./table.ts";
import { runThousandBenchmark } from "./thousand.bench.ts";
import { runTracingBenchmark } from "./tracing.bench.ts";
import { runTranscriptResumeBenchmark } from "./transcript-resume.bench.ts";
import { runWarmStartBenchmark } from "./warm-start.bench.ts";

// Ctrl-C or SIGTERM stops the benchmark at its next wait; its own cleanup then stops every server and child
// (agent children run in their own process groups, so a terminal's Ctrl-C does not reach them directly).
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.once("SIGTERM", () => controller.abort());

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, iterations: { type: "string" } },
    strict: true,
  });
  const only = values.only;
  const benches = [
    "session",
    "bus",
    "lifecycle",
    "ops",
    "dashboard",
    "tracing",
    "capacity",
    "cluster",
    "transcripts",
    "thousand",
  ];
  if (only !== undefined && !benches.includes(only)) {
    process.stderr.write(`--only must be one of ${benches.join(", ")}, not "${only}"\n`);
    return 2;
  }
  const iterations = values.iterations === undefined ? undefined : Number(values.iterations);
  if (iterations !== undefined && !(Number.isInteger(iterations) && iterations > 0)) {
    process.stderr.write(`--iterations must be a positive integer, not "${values.iterations}"\n`);
    return 2;
  }
  if (only === undefined || only === "session") {
    const tables = await runSessionLatencyBenchmark({
      ...(iterations ? { iterations } : {}),
      signal: controller.signal,
    });
    for (const table of tables) printTable(table);
    printTable(await runBatonOverheadBenchmark({ signal: controller.signal }));
  }
  if (only === undefined || only === "bus") printTable(await runBusBenchmark());
  if (only === undefined || only === "lifecycle") {
    for (const table of await runLifecycleBenchmark({ signal: controller.signal })) printTable(table);
  }
  if (only === undefined || only === "ops") for (const table of await runOpsBenchmark()) printTable(table);
  if (only === undefined || only === "tracing") printTable(await runTracingBenchmark());
  if (only === undefined || only === "dashboard") {
    printTable(await runDashboardBenchmark({ signal: controller.signal }));
  }
  if (only === undefined || only === "capacity") {
    printTable(
      await runWarmStartBenchmark({
        ...(iterations ? { rounds: iterations } : {}),
        signal: controller.signal,
      }),
    );
    printTable(await runStormBenchmark());
    for (const table of await runListingBenchmark()) printTable(table);
  }
  // Both need a PostgreSQL server (as the cluster tests do: test/support/postgres.ts).
  if (only === undefined || only === "cluster") {
    printTable(await runCrossNodeBenchmark(iterations ? { rounds: iterations } : {}));
    for (const table of await runClusterBenchmark({ signal: controller.signal })) printTable(table);
  }
  if (only === undefined || only === "transcripts") {
    const tables = await runTranscriptResumeBenchmark({
      ...(iterations ? { rounds: iterations } : {}),
      signal: controller.signal,
    });
    for (const table of tables) printTable(table);
  }
  if (only === undefined || only === "thousand") {
    for (const table of await runThousandBenchmark()) printTable(table);
  }
  return 0;
}

process.exitCode = await main().catch((error: unknown) => {
  if (controller.signal.aborted) {
    process.stderr.write("benchmark aborted; everything it started has been stopped\n");
    return 130;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`benchmark failed: ${detail}\n`);
  return 1;
});
