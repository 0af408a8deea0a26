// What OpenTelemetry tracing costs: two in-process Batons side by side, one without an OTLP endpoint (the
// default: nothing of the SDK is loaded) and one exporting every span to a local OTLP/HTTP sink. Rounds are
// paired and interleaved (the order alternates), so machine noise hits both alike. The agent is the stub
// runner, so a turn is Baton's own work only, where a span's share is largest. Standalone:
// `node bench/tracing.bench.ts`.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Baton, createBaton } from "../src/app.ts";
import { BatonClient } from "../src/client/baton-client.ts";
import { loadConfig } from "../src/core/config.ts";
import { testSettings } from "../test/support/harness.ts";
import { EventWatch } from "./event-watch.ts";
import { summarize } from "./stats.ts";
import { StubRunner } from "./stub-runner.ts";
import type { BenchTable } from "./table.ts";

const ROUNDS = 30;
const REQUESTS_PER_ROUND = 100;
const STUB_ANSWER_MS = 20;

interface Variant {
  name: "off" | "on";
  baton: Baton;
  client: BatonClient;
  watch: EventWatch;
  health: number[];
  turns: number[];
}

export async function runTracingBenchmark(): Promise<BenchTable> {
  const root = mkdtempSync(join(tmpdir(), "baton-trace-bench-"));
  const sink = await startSink();
  const variants: Variant[] = [];
  try {
    variants.push(await startVariant(join(root, "off"), "off", undefined));
    variants.push(await startVariant(join(root, "on"), "on", sink.url));
    for (let round = 0; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) await measureRound(variant, root, round === 0);
    }
    return table(variants, sink.spans());
  } finally {
    for (const variant of variants) {
      await variant.watch.stop();
      await variant.baton.stop();
    }
    await sink.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Tracing reads the standard variables when Baton is created: set them for that moment only. */
async function startVariant(root: string, name: Variant["name"], endpoint: string | undefined) {
  const previous = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  else delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  try {
    const settings = testSettings(root, "http://127.0.0.1:9", { maxConcurrent: 8, maxPerOwner: 8 });
    const baton = await createBaton(loadConfig({ env: {}, flags: settings }), {
      runner: new StubRunner(STUB_ANSWER_MS),
    });
    const url = await baton.listen();
    const watch = await EventWatch.start(baton, url);
    const client = new BatonClient({ url, token: baton.adminToken });
    return { name, baton, client, watch, health: [], turns: [] };
  } finally {
    if (previous === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = previous;
  }
}

/** 100 sequential `GET /health`, then one spawn until its turn completed; round 0 is the warm-up. */
async function measureRound(variant: Variant, root: string, warmUp: boolean): Promise<void> {
  const t0 = performance.now();
  for (let index = 0; index < REQUESTS_PER_ROUND; index++) await variant.client.health();
  const perRequest = (performance.now() - t0) / REQUESTS_PER_ROUND;
  const t1 = performance.now();
  const session = await variant.client.spawn({ prompt: "stub", workDir: mkdtempSync(join(root, "w-")) });
  await variant.watch.waitFor(
    "bus",
    (event) => event.sessionId === session.id && event.topic === "session.completed",
    10_000,
  );
  const turn = performance.now() - t1;
  await variant.client.kill(session.id);
  if (warmUp) return;
  variant.health.push(perRequest);
  variant.turns.push(turn);
}

function table(variants: Variant[], spans: number): BenchTable {
  const [off, on] = variants;
  if (!off || !on) throw new Error("two variants expected");
  const row = (what: string, pick: (variant: Variant) => number[]) => {
    const a = summarize(pick(off));
    const b = summarize(pick(on));
    return {
      what,
      "off median ms": a.median.toFixed(3),
      "on median ms": b.median.toFixed(3),
      "on/off": (b.median / a.median).toFixed(3),
      "off p95 ms": a.p95.toFixed(3),
      "on p95 ms": b.p95.toFixed(3),
    };
  };
  return {
    title: `Tracing off vs on (OTLP/HTTP to a local sink), ${ROUNDS} paired rounds, stub agent`,
    rows: [
      row(`GET /health (mean of ${REQUESTS_PER_ROUND} in a row)`, (variant) => variant.health),
      row("spawn → session.completed (one turn)", (variant) => variant.turns),
    ],
    notes: [
      `"off": no OTEL_EXPORTER_OTLP_ENDPOINT, nothing of the SDK loaded; "on": every span batched and exported (${spans} received).`,
    ],
  };
}

/** An OTLP/HTTP receiver that accepts and counts, nothing more. */
async function startSink() {
  let spans = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      spans += text.split('"spanId"').length - 1;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.main) {
  const { printTable } = await import("./table.ts");
  printTable(await runTracingBenchmark());
}
