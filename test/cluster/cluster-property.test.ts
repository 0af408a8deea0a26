import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { type Baton, createBaton } from "../../src/app.ts";
import { type BatonConfig, loadConfig } from "../../src/core/config.ts";
import { createLogger } from "../../src/core/logger.ts";
import { WORKING } from "../../src/sessions/session-status.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";
import { ScriptedRunner } from "../support/scripted-runner.ts";

/**
 * Cluster scheduling invariants under random sequences, on a real PostgreSQL database with two or three
 * Baton nodes in this process. The agents are ScriptedRunner runs (test/support/scripted-runner.ts), not
 * `claude` processes: a run of this property starts hundreds of turns, which real processes on a loaded
 * box would make take an hour. A node "crash" here is an abrupt leave: the node stops between two steps
 * and its sessions stay working under its name until another node adopts them (the lease path a kill -9
 * takes is covered with real processes by two-nodes.test.ts and cluster-partition.test.ts).
 */
const skip = await postgresSkipReason();

const MAX_CONCURRENT = 2;
const MAX_PER_OWNER = 1;
const OWNERS = ["a", "b", "c"];

type Action =
  | { kind: "spawn"; node: number; owner: number; priority: number }
  | { kind: "finish"; pick: number; reason: "success" | "error" }
  | { kind: "crashRun"; pick: number }
  | { kind: "kill"; pick: number }
  | { kind: "crashNode"; node: number }
  | { kind: "restartNode"; node: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("spawn" as const),
      node: fc.nat(2),
      owner: fc.nat(OWNERS.length - 1),
      priority: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("finish" as const),
      pick: fc.nat(20),
      reason: fc.constantFrom("success" as const, "error" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crashRun" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("kill" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crashNode" as const), node: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restartNode" as const), node: fc.nat(2) }) },
);

interface Node {
  name: string;
  config: BatonConfig;
  runner: ScriptedRunner;
  baton: Baton | undefined;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Until the cluster is quiet: every node's serial queues drained and no new event in the log for longer than
 * two heartbeats (adoption and nudged queue drains happen on beats and on events heard from other nodes).
 */
async function settle(nodes: readonly Node[], reader: Baton): Promise<void> {
  let quiet = 0;
  let seen = -1;
  for (let round = 0; round < 400 && quiet < 6; round += 1) {
    await pause(50);
    for (const node of nodes) await node.baton?.supervisor.serial.drain();
    const { latest } = await reader.log.bounds();
    quiet = latest === seen ? quiet + 1 : 0;
    seen = latest;
  }
}

async function checkInvariants(nodes: readonly Node[], reader: Baton, history: string): Promise<void> {
  const rows = await reader.store.db
    .selectFrom("sessions")
    .select(["id", "owner", "status", "owner_node"])
    .execute();
  const holding = rows.filter((row) => WORKING.includes(row.status));
  assert.ok(holding.length <= MAX_CONCURRENT, `${holding.length} working > maxConcurrent\n${history}`);
  const perOwner = new Map<string, number>();
  for (const row of holding) perOwner.set(row.owner, (perOwner.get(row.owner) ?? 0) + 1);
  for (const [owner, count] of perOwner)
    assert.ok(count <= MAX_PER_OWNER, `owner ${owner} has ${count} working\n${history}`);
  // No session has a live process on two nodes; a working one has exactly one, on the node its row names.
  const runningOn = new Map<string, string[]>();
  for (const node of nodes)
    for (const [id, run] of node.runner.runs)
      if (run.alive) runningOn.set(id, [...(runningOn.get(id) ?? []), node.name]);
  for (const [id, where] of runningOn) assert.equal(where.length, 1, `${id} runs on ${where}\n${history}`);
  for (const row of holding) {
    assert.deepEqual(runningOn.get(row.id), [row.owner_node], `${row.id} (${row.status}) lost\n${history}`);
    assert.ok(
      nodes.some((node) => node.name === row.owner_node && node.baton),
      `${row.id} owned by a node that is down\n${history}`,
    );
  }
  for (const row of rows.filter((row) => row.status === "killed"))
    assert.equal(runningOn.get(row.id), undefined, `killed ${row.id} still runs\n${history}`);
  // The queue never stalls: with a slot free, nobody whose owner has room is left queued.
  if (holding.length < MAX_CONCURRENT) {
    const stalled = rows.filter(
      (row) => row.status === "queued" && (perOwner.get(row.owner) ?? 0) < MAX_PER_OWNER,
    );
    assert.deepEqual(
      stalled.map((row) => row.id),
      [],
      `queue stalled with a free slot\n${history}`,
    );
  }
}

/** From the whole log: at no point did more sessions hold a slot than the limits allow (not only when quiet). */
async function checkLogPeaks(reader: Baton, history: string): Promise<void> {
  const owners = new Map(
    (await reader.store.db.selectFrom("sessions").select(["id", "owner"]).execute()).map((row) => [
      row.id,
      row.owner,
    ]),
  );
  const { events } = await reader.log.read({ after: 0, limit: 100_000 });
  const open = new Set<string>();
  let previous = 0;
  for (const event of events) {
    assert.equal(event.seq, previous + 1, `seq gap after ${previous}\n${history}`);
    previous = event.seq;
    const id = event.sessionId;
    if (!id) continue;
    if (["session.spawned", "session.resumed"].includes(event.topic)) open.add(id);
    if (["session.completed", "session.failed", "session.killed", "session.queued"].includes(event.topic))
      open.delete(id);
    assert.ok(open.size <= MAX_CONCURRENT, `${open.size} running at #${event.seq}\n${history}`);
    const owner = owners.get(id);
    const ofOwner = [...open].filter((other) => owners.get(other) === owner).length;
    assert.ok(ofOwner <= MAX_PER_OWNER, `owner ${owner} runs ${ofOwner} at #${event.seq}\n${history}`);
  }
}

test("cluster invariants (limits, one owner, nothing lost, no stall) hold under random spawn / finish / kill / node-crash sequences", {
  skip,
  timeout: 600_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), "baton-cluster-prop-"));
  const logger = createLogger("silent");
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.constantFrom(4096, 65_536), { minLength: 3, maxLength: 3 }),
        fc.array(action, { minLength: 5, maxLength: 20 }),
        async (count, memoryMb, actions) => {
          run += 1;
          const database = await createTestDatabase();
          const workDir = mkdtempSync(join(root, "work-"));
          const nodes: Node[] = Array.from({ length: count }, (_, index) => {
            const name = `n${index}`;
            const meminfoPath = join(root, `meminfo-${run}-${name}`);
            writeFileSync(meminfoPath, `MemAvailable: ${(memoryMb[index] ?? 4096) * 1024} kB\n`);
            const config = loadConfig({
              env: {},
              flags: {
                port: 0,
                db: database.url,
                nodeId: name,
                home: join(root, `home-${run}-${name}`),
                maxConcurrent: MAX_CONCURRENT,
                maxPerOwner: MAX_PER_OWNER,
                nodeHeartbeatMs: 100,
                nodeLeaseMs: 1000,
                meminfoPath,
                memoryReserveMb: 512,
                warmPool: 0,
                logLevel: "silent",
              },
            });
            return { name, config, runner: new ScriptedRunner(), baton: undefined };
          });
          const start = async (node: Node) => {
            node.baton = await createBaton(node.config, { runner: node.runner, logger });
            await node.baton.listen();
          };
          const up = () => nodes.filter((node) => node.baton);
          const reader = () => up()[0]?.baton as Baton;
          const allRuns = () =>
            nodes.flatMap((node) => [...node.runner.runs.values()].filter((run) => run.alive));
          // A turn ends only in a process that is working on one: the warm process of a completed session
          // sits idle (a real CLI does not start a turn on its own; ending one there would model a turn no
          // slot was claimed for).
          const turnRuns = async () => {
            const rows = await reader().store.db.selectFrom("sessions").select(["id", "status"]).execute();
            const working = new Set(rows.filter((row) => WORKING.includes(row.status)).map((row) => row.id));
            return nodes.flatMap((node) =>
              [...node.runner.runs].filter(([id, run]) => run.alive && working.has(id)).map(([, run]) => run),
            );
          };
          const ids: string[] = [];
          const steps: string[] = [`${count} nodes, memory ${memoryMb.slice(0, count).join("/")} MB`];
          try {
            for (const node of nodes) await start(node);
            for (const step of actions) {
              steps.push(JSON.stringify(step));
              const history = steps.join("\n");
              switch (step.kind) {
                case "spawn": {
                  const baton = nodes[step.node % count]?.baton;
                  if (!baton) break;
                  const session = await baton.sessions.spawn({
                    prompt: "work",
                    workDir,
                    owner: OWNERS[step.owner],
                    priority: step.priority,
                  });
                  ids.push(session.id);
                  break;
                }
                case "finish": {
                  const working = await turnRuns();
                  working[step.pick % Math.max(1, working.length)]?.endTurn(step.reason);
                  break;
                }
                case "crashRun":
                  allRuns()[step.pick % Math.max(1, allRuns().length)]?.crash();
                  break;
                case "kill": {
                  const id = ids.length ? ids[step.pick % ids.length] : undefined;
                  if (!id) break;
                  // Through the node that runs it (commands across nodes are another part's concern).
                  const row = await reader()
                    .store.db.selectFrom("sessions")
                    .select("owner_node")
                    .where("id", "=", id)
                    .executeTakeFirst();
                  const by = nodes.find((node) => node.name === row?.owner_node)?.baton ?? reader();
                  await by.sessions
                    .kill(id)
                    .catch((error: { code?: string }) => assert.equal(error.code, "SESSION_ENDED", history));
                  break;
                }
                case "crashNode": {
                  const node = nodes[step.node % count] as Node;
                  if (!node.baton || up().length < 2) break;
                  const baton = node.baton;
                  node.baton = undefined;
                  await baton.stop();
                  break;
                }
                case "restartNode": {
                  const node = nodes[step.node % count] as Node;
                  if (!node.baton) await start(node);
                  break;
                }
              }
              await settle(up(), reader());
              await checkInvariants(nodes, reader(), history);
            }
            await checkLogPeaks(reader(), steps.join("\n"));
          } finally {
            for (const node of up()) await node.baton?.stop();
            await database.drop();
          }
        },
      ),
      { numRuns: 12 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
