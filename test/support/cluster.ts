import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import type { Settings } from "../../src/core/settings-schema.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { type MockModel, startMockModel } from "../../src/mock-model/index.ts";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { type BatonProcess, startBatonProcess, stopBatonProcess } from "./baton-process.ts";
import { testSettings } from "./harness.ts";
import { assertNoLeakedProcesses } from "./leak-guard.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";
import { waitUntil } from "./wait-until.ts";

/** Short leases so a dead node is noticed in seconds; the beat is well inside the lease on a loaded machine. */
export const LEASE_MS = 3000;
export const CLUSTER = { nodeHeartbeatMs: 300, nodeLeaseMs: LEASE_MS };
export const TERMINAL = ["session.completed", "session.failed", "session.killed"];

export interface TestCluster {
  mock: MockModel;
  root: string;
  database: TestDatabase;
  /** A real `baton serve` on the cluster's database, reading its MemAvailable from a file of its own. */
  start(name: string, overrides?: Partial<Settings>): Promise<BatonProcess>;
  /** Dictates what node `name` reads as MemAvailable (memory admission and placement both read it). */
  setMemory(name: string, availableMb: number): void;
}

/**
 * A fresh PostgreSQL database, a scripted model and a shared agent environment; every node started on it is
 * stopped (by handle), and the leak guard runs, after the test. Each node reads a meminfo file the test
 * writes (64 GB until told otherwise), so the box's real memory never decides where work goes.
 */
export async function startTestCluster(t: TestContext, shared: Partial<Settings> = {}): Promise<TestCluster> {
  const database = await createTestDatabase();
  const mock = await startMockModel();
  const root = mkdtempSync(join(tmpdir(), "baton-cluster-"));
  const nodes: BatonProcess[] = [];
  t.after(async () => {
    for (const node of nodes) {
      // A node a test paused must run again to stop (SIGTERM waits while it is stopped).
      signalTree(node.pid, "SIGCONT");
      await stopBatonProcess(node);
    }
    await mock.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
    assertNoLeakedProcesses("cluster test");
  });
  const meminfo = (name: string) => join(root, `meminfo-${name}`);
  const setMemory = (name: string, availableMb: number) =>
    writeFileSync(
      meminfo(name),
      `MemTotal: ${128 * 1024 * 1024} kB\nMemAvailable: ${availableMb * 1024} kB\n`,
    );
  return {
    mock,
    root,
    database,
    setMemory,
    start: async (name, overrides = {}) => {
      if (!existsSync(meminfo(name))) setMemory(name, 64 * 1024);
      const settings = testSettings(root, mock.url, {
        db: database.url,
        ...CLUSTER,
        meminfoPath: meminfo(name),
        memoryReserveMb: 512,
        ...shared,
        ...overrides,
      });
      const node = await startBatonProcess({ ...settings, home: join(root, `home-${name}`), nodeId: name });
      nodes.push(node);
      return node;
    },
  };
}

export function clientOf(node: BatonProcess): BatonClient {
  return new BatonClient({ url: node.url, token: node.token });
}

/** The whole log (output and deltas included), as any node serves it. */
export async function allEvents(client: BatonClient, after = 0): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (let cursor = after; ; ) {
    const page = await client.events({ after: cursor, limit: 5000, deltas: true });
    events.push(...page.events);
    if (page.events.length === 0) return events;
    cursor = page.events.at(-1)?.seq ?? cursor;
  }
}

/**
 * The most sessions (in all, and per key) that had a process between its `session.spawned` and its
 * terminal event at the same point of the log. That interval lies inside the one the session held its slot
 * for (claimed before the process starts, released in the terminal event's transaction), so a peak above a
 * limit here means the limit was broken.
 */
export function peakRunning(
  events: readonly BatonEvent[],
  keyOf: (sessionId: string) => string = () => "all",
): Map<string, number> {
  const open = new Map<string, string>();
  const peak = new Map<string, number>();
  const count = (key: string) => [...open.values()].filter((value) => value === key).length;
  for (const event of events) {
    const id = event.sessionId;
    if (!id) continue;
    if (event.topic === "session.spawned") {
      const key = keyOf(id);
      open.set(id, key);
      peak.set(key, Math.max(peak.get(key) ?? 0, count(key)));
    }
    if (TERMINAL.includes(event.topic)) open.delete(id);
  }
  return peak;
}

/** A process's state letter from /proc (R, S, T for stopped, Z…); undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Running (not stopped, not exited) processes among `pids`. */
export function runningAmong(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    const state = processState(pid);
    return state !== undefined && !["T", "t", "Z", "X"].includes(state);
  });
}

/**
 * Sends `signal` to a node process and every process under it, again until no new one appears (a tool's
 * shell may fork between the listing and the signal): a whole node paused or resumed, as a frozen VM or
 * container would be.
 */
export function signalTree(root: number, signal: "SIGSTOP" | "SIGCONT"): number[] {
  const done = new Set<number>();
  for (let round = 0; round < 20; round += 1) {
    const pids = [root, ...listDescendants(root)].filter((pid) => !done.has(pid));
    if (pids.length === 0) break;
    for (const pid of pids) {
      done.add(pid);
      try {
        process.kill(pid, signal);
      } catch {
        // it exited between the listing and the signal
      }
    }
  }
  return [...done];
}

/** Until `client`'s view of the heartbeats shows `low` below 4 GB and `high` above 60 GB (dictated readings). */
export async function waitForReadings(client: BatonClient, low: string, high: string): Promise<void> {
  await waitUntil(
    async () => {
      const nodes = await client.nodes();
      const mb = (id: string) => nodes.find((node) => node.id === id && node.alive)?.freeMemoryMb ?? null;
      const [lowMb, highMb] = [mb(low), mb(high)];
      return lowMb !== null && highMb !== null && lowMb < 4096 && highMb > 60_000;
    },
    30_000,
    `${low} reporting little free memory and ${high} a lot`,
  );
}

/** The pid of a session's agent once it is mid-tool (its process has children), as `client` reports it. */
export async function midToolPid(
  client: BatonClient,
  sessionId: string,
  timeoutMs = 60_000,
): Promise<number> {
  return waitUntil(
    async () => {
      const pid = (await client.get(sessionId)).pid;
      return pid && listDescendants(pid).length > 0 ? pid : undefined;
    },
    timeoutMs,
    "the session mid-tool",
  );
}

/**
 * Samples the process table every 20 ms until stopped: whether any of `tree` (one node's processes of a
 * session) was running while any process under `otherNode` ran too. A stopped (T) process is not running.
 */
export function watchForOverlap(tree: readonly number[], otherNode: number) {
  const overlaps: string[] = [];
  let samples = 0;
  const sampler = setInterval(() => {
    samples += 1;
    const here = runningAmong(tree.filter((pid) => isAlive(pid)));
    const there = runningAmong(listDescendants(otherNode));
    if (here.length > 0 && there.length > 0) overlaps.push(`${here.join(",")} with ${there.join(",")}`);
  }, 20);
  return {
    stop: () => clearInterval(sampler),
    overlaps,
    samples: () => samples,
  };
}
