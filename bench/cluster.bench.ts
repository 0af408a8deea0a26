import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { BatonClient } from "../src/client/baton-client.ts";
import { followEventsOverWs } from "../src/client/ws-follow.ts";
import type { BatonEvent } from "../src/events/catalogue.ts";
import { envWithoutBaton } from "../test/support/baton-process.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/postgres.ts";
import { within } from "./deadline.ts";
import { median, summarize } from "./stats.ts";
import type { BenchTable } from "./table.ts";

/**
 * Several Baton nodes on one PostgreSQL (docs/deployment.md): how long a kill -9'd node's session waits
 * for another node (lease + adoption + resume), spawn throughput of one node against two sharing the
 * cluster-wide slot lock, and how much later an event published on A reaches a WebSocket on B than one on
 * A. Nodes are real `baton serve`-like child processes with scripted agents (cluster-baton-child.ts).
 */
const CHILD = fileURLToPath(new URL("./cluster-baton-child.ts", import.meta.url));
const TOKEN = "bench-cluster-token";
const LEASE_MS = 3000;
const HEARTBEAT_MS = 300;

interface Node {
  url: string;
  child: ChildProcess;
  client: BatonClient;
  exited: Promise<void>;
}

interface Setup {
  root: string;
  databases: TestDatabase[];
  nodes: Node[];
  signal: AbortSignal | undefined;
}

async function startNode(setup: Setup, db: TestDatabase, name: string, maxConcurrent = 16): Promise<Node> {
  const meminfoPath = join(setup.root, `meminfo-${name}`);
  writeFileSync(meminfoPath, `MemAvailable: ${64 * 1024 * 1024} kB\n`);
  const settings = {
    port: 0,
    db: db.url,
    nodeId: name,
    home: join(setup.root, `home-${name}`),
    token: TOKEN,
    maxConcurrent,
    maxPerOwner: 1000,
    nodeHeartbeatMs: HEARTBEAT_MS,
    nodeLeaseMs: LEASE_MS,
    meminfoPath,
    warmPool: 0,
    // Throughput is the point here: no per-principal spawn limit.
    spawnRatePerMinute: 0,
    logLevel: "error",
  };
  const child = spawn(process.execPath, [CHILD, JSON.stringify(settings)], {
    env: envWithoutBaton(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await within(
    new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        const match = /"url":"([^"]+)"/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      void exited.then(() => reject(new Error(`node ${name} exited during start`)));
    }),
    60_000,
    `node ${name} listening`,
    setup.signal,
  );
  const node = { url, child, exited, client: new BatonClient({ url, token: TOKEN }) };
  setup.nodes.push(node);
  return node;
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill("SIGTERM");
  const timer = setTimeout(() => node.child.kill("SIGKILL"), 20_000);
  await node.exited;
  clearTimeout(timer);
}

/**
 * Follows `node`'s WebSocket live until the returned stop is called; resolves once the subscription is
 * known to be on (a marker published after it was opened has arrived), so nothing measured is missed.
 */
async function follow(
  node: Node,
  topics: string[],
  onEvent: (event: BatonEvent) => void,
): Promise<() => Promise<void>> {
  const controller = new AbortController();
  const marker = `m${Math.random().toString(36).slice(2)}`;
  let markerSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => {
    markerSeen = resolve;
  });
  const done = followEventsOverWs({
    url: node.url,
    token: TOKEN,
    topics: [...topics, "bench.sync"],
    signal: controller.signal,
    onEvent: (event) => {
      if (event.topic === "bench.sync") {
        if (event.data.marker === marker) markerSeen();
        return;
      }
      onEvent(event);
    },
  });
  const deadline = Date.now() + 20_000;
  let on = false;
  while (!on && Date.now() < deadline) {
    await node.client.publish("bench.sync", { marker });
    on = await Promise.race([
      seen.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
  }
  if (!on) throw new Error(`the WebSocket on ${node.url} never delivered its marker`);
  return async () => {
    controller.abort();
    await done.catch(() => undefined);
  };
}

/** kill -9 of the node running a session, until another node's `session.resumed` (node_lost) for it. */
async function measureAdoption(setup: Setup, rounds: number): Promise<number[]> {
  const db = await createTestDatabase();
  setup.databases.push(db);
  const survivor = await startNode(setup, db, "survivor");
  const workDir = mkdtempSync(join(setup.root, "w-"));
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const doomed = await startNode(setup, db, `doomed-${round}`);
    const session = await doomed.client.spawn({ prompt: "@hold", workDir });
    let resumedAt = 0;
    let resolveResumed: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => {
      resolveResumed = resolve;
    });
    const stop = await follow(survivor, ["session.resumed"], (event) => {
      if (event.sessionId !== session.id || event.data.reason !== "node_lost") return;
      resumedAt = performance.now();
      resolveResumed();
    });
    doomed.child.kill("SIGKILL");
    const killedAt = performance.now();
    await doomed.exited;
    await within(resumed, LEASE_MS + 30_000, "adoption of the killed node's session", setup.signal);
    samples.push(resumedAt - killedAt);
    await stop();
    await survivor.client.kill(session.id);
  }
  return samples;
}

/** Spawns `count` quick sessions over `nodes` (round robin, 16 in flight); resolves sessions per second. */
async function measureThroughput(setup: Setup, nodes: Node[], count: number): Promise<number> {
  const workDir = mkdtempSync(join(setup.root, "w-"));
  const ids = new Set<string>();
  const completed = new Set<string>();
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  const stop = await follow(nodes[0] as Node, ["session.completed"], (event) => {
    if (!event.sessionId) return;
    completed.add(event.sessionId);
    if (ids.size === count && [...ids].every((id) => completed.has(id))) resolveAll();
  });
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const node = nodes[index % nodes.length] as Node;
      const session = await node.client.spawn({ prompt: "quick", workDir, owner: `o${index % 50}` });
      ids.add(session.id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  if ([...ids].every((id) => completed.has(id))) resolveAll();
  await within(all, 120_000, `${count} sessions completed`, setup.signal);
  const seconds = (performance.now() - started) / 1000;
  await stop();
  return count / seconds;
}

/** Publishes on A at `rate`/s for `seconds`; per event, when A's own WebSocket and B's received it. */
async function measureLatency(a: Node, b: Node, rate: number, seconds: number) {
  const sent = new Map<number, number>();
  const onA: number[] = [];
  const onB: number[] = [];
  const receiver = (into: number[]) => (event: BatonEvent) => {
    const at = sent.get(Number(event.data.i));
    if (at !== undefined) into.push(performance.now() - at);
  };
  const stops = [
    await follow(a, ["bench.tick"], receiver(onA)),
    await follow(b, ["bench.tick"], receiver(onB)),
  ];
  const total = rate * seconds;
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight.size >= 64) await Promise.race(inFlight);
    sent.set(i, performance.now());
    const request = a.client.publish("bench.tick", { i }).finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  const achieved = total / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 15_000;
  while ((onA.length < total || onB.length < total) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  for (const stop of stops) await stop();
  return { achieved, onA, onB, total };
}

export async function runClusterBenchmark(options: { signal?: AbortSignal } = {}): Promise<BenchTable[]> {
  const setup: Setup = {
    root: mkdtempSync(join(tmpdir(), "baton-bench-cluster-")),
    databases: [],
    nodes: [],
    signal: options.signal,
  };
  try {
    const adoption = summarize(await measureAdoption(setup, 3));

    // One node against two, on databases of their own, rounds interleaved: 1, 2, 1, 2, …
    const [dbOne, dbTwo] = [await createTestDatabase(), await createTestDatabase()];
    setup.databases.push(dbOne, dbTwo);
    const single = [await startNode(setup, dbOne, "solo", 8)];
    const pair = [await startNode(setup, dbTwo, "pair-a", 8), await startNode(setup, dbTwo, "pair-b", 8)];
    const perSecond = { one: [] as number[], two: [] as number[] };
    for (let round = 0; round < 3; round += 1) {
      perSecond.one.push(await measureThroughput(setup, single, 100));
      perSecond.two.push(await measureThroughput(setup, pair, 100));
    }
    const latency = await measureLatency(pair[0] as Node, pair[1] as Node, 1000, 5);
    const [own, cross] = [summarize(latency.onA), summarize(latency.onB)];
    const [one, two] = [median(perSecond.one), median(perSecond.two)];
    const f = (value: number) => value.toFixed(1);
    return [
      {
        title: `Cluster: adoption after kill -9 (lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms)`,
        rows: [
          {
            rounds: adoption.n,
            "median ms": f(adoption.median),
            "min ms": f(adoption.min),
            "max ms": f(adoption.max),
            "median / lease": (adoption.median / LEASE_MS).toFixed(2),
            "beyond lease ms": f(adoption.median - LEASE_MS),
          },
        ],
        notes: [
          "kill -9 of the node running a held session, until the survivor's session.resumed (node_lost) arrives",
          "on its WebSocket: the lease left since the last beat, the survivor's next beat, the claim and resume.",
        ],
      },
      {
        title:
          "Cluster: spawn throughput, 1 node vs 2 nodes (maxConcurrent 8, 100 quick sessions, 16 in flight)",
        rows: [
          { nodes: 1, "sessions/s (median of 3)": f(one), rounds: perSecond.one.map(f).join(" ") },
          { nodes: 2, "sessions/s (median of 3)": f(two), rounds: perSecond.two.map(f).join(" ") },
          { nodes: "2 / 1", "sessions/s (median of 3)": (two / one).toFixed(2), rounds: "" },
        ],
        notes: [
          "spawn to session.completed of all 100; spawns alternate between the nodes; scripted agents answer at",
          "once, so this is Baton's own work: admission under the cluster-wide slot lock, the store, the bus.",
        ],
      },
      {
        title: `Cluster: event latency, POST /events on A at ${latency.achieved.toFixed(0)}/s (asked 1000/s), ${latency.total} events`,
        rows: [
          {
            "received on": "A's own WebSocket",
            n: own.n,
            "p50 ms": f(own.median),
            "p99 ms": f(own.p99),
            "max ms": f(own.max),
          },
          {
            "received on": "B's WebSocket",
            n: cross.n,
            "p50 ms": f(cross.median),
            "p99 ms": f(cross.p99),
            "max ms": f(cross.max),
          },
          {
            "received on": "B / A",
            n: "",
            "p50 ms": (cross.median / own.median).toFixed(2),
            "p99 ms": (cross.p99 / own.p99).toFixed(2),
            "max ms": "",
          },
        ],
        notes: [
          "from the publish request's send to the frame's arrival, per event, on both sockets at once (paired);",
          "B hears of A's commits by LISTEN/NOTIFY and reads them from the log.",
        ],
      },
    ];
  } finally {
    for (const node of setup.nodes) await stopNode(node);
    for (const db of setup.databases) await db.drop();
    rmSync(setup.root, { recursive: true, force: true });
  }
}
