import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { type Baton, createBaton } from "../../src/app.ts";
import { loadConfig } from "../../src/core/config.ts";
import { createLogger } from "../../src/core/logger.ts";
import { ScriptedRunner } from "../support/scripted-runner.ts";

const MAX_CONCURRENT = 2;
const MAX_PER_OWNER = 1;
const OWNERS = ["a", "b", "c"];

type Action =
  | { kind: "spawn"; owner: number; priority: number }
  | { kind: "finish"; pick: number; reason: "success" | "error" }
  | { kind: "crash"; pick: number }
  | { kind: "kill"; pick: number }
  | { kind: "send"; pick: number }
  | { kind: "restart" };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("spawn" as const),
      owner: fc.nat(OWNERS.length - 1),
      priority: fc.integer({ min: 0, max: 2 }),
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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), pick: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("kill" as const), pick: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("send" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

/**
 * Lets every queued callback, serial task and queue drain finish. A step's consequences chain through
 * commits, and each commit waits for its fsync on the thread pool (see WalSync), so a fixed number of
 * event-loop turns is not enough: settle waits until a round ends with nothing new in the log.
 */
async function settle(baton: Baton): Promise<void> {
  let quietRounds = 0;
  let seen = -1;
  for (let round = 0; round < 1000 && quietRounds < 5; round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    await baton.supervisor.serial.drain();
    await baton.store.durable();
    const latest = baton.log.bus.latestSeq;
    quietRounds = latest === seen ? quietRounds + 1 : 0;
    seen = latest;
  }
}

async function checkInvariants(baton: Baton, runner: ScriptedRunner, history: string): Promise<void> {
  const rows = await baton.store.db.selectFrom("sessions").select(["id", "owner", "status"]).execute();
  const holding = rows.filter((row) => row.status === "running" || row.status === "waiting");
  assert.ok(holding.length <= MAX_CONCURRENT, `running ${holding.length} > maxConcurrent\n${history}`);
  const perOwner = new Map<string, number>();
  for (const row of holding) perOwner.set(row.owner, (perOwner.get(row.owner) ?? 0) + 1);
  for (const [owner, count] of perOwner)
    assert.ok(count <= MAX_PER_OWNER, `owner ${owner} runs ${count}\n${history}`);
  // Every session that holds a slot has a live process, and no live process runs for a killed session.
  for (const row of holding)
    assert.ok(runner.runs.get(row.id)?.alive, `${row.id} is ${row.status} without a process\n${history}`);
  for (const id of runner.runs.keys()) {
    assert.notEqual(
      rows.find((row) => row.id === id)?.status,
      "killed",
      `killed ${id} still has a process\n${history}`,
    );
  }
  // The queue never stalls: if a slot is free, no queued session whose owner has room is left waiting.
  if (holding.length < MAX_CONCURRENT) {
    const stalled = rows.filter(
      (row) => row.status === "queued" && (perOwner.get(row.owner) ?? 0) < MAX_PER_OWNER,
    );
    assert.equal(
      stalled.length,
      0,
      `queue stalled with a free slot: ${stalled.map((row) => row.id).join(", ")}\n${history}`,
    );
  }
}

/** Per session: a terminal event (completed/failed) only ever follows a start (spawned/resumed). */
async function checkEventHistories(baton: Baton, history: string): Promise<void> {
  const { events } = await baton.log.read({ after: 0, limit: 5000 });
  const open = new Map<string, boolean>();
  let previous = 0;
  for (const event of events) {
    assert.equal(event.seq, previous + 1, `seq gap after ${previous}\n${history}`);
    previous = event.seq;
    const id = event.sessionId;
    if (!id) continue;
    if (event.topic === "session.spawned" || event.topic === "session.resumed") open.set(id, true);
    if (event.topic === "session.completed" || event.topic === "session.failed") {
      const wasQueued =
        event.topic === "session.failed" &&
        ["queue_timeout", "interrupted"].includes(String(event.data.reason));
      assert.ok(open.get(id) || wasQueued, `${id}: ${event.topic} #${event.seq} without a start\n${history}`);
      open.set(id, false);
    }
    if (event.topic === "session.killed") open.set(id, false);
  }
}

test("scheduling invariants hold under random spawn / finish / crash / kill / send / restart sequences", async () => {
  const root = mkdtempSync(join(tmpdir(), "baton-prop-"));
  const logger = createLogger("silent");
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 30 }), async (actions) => {
        run += 1;
        const workDir = mkdtempSync(join(root, "work-"));
        const config = loadConfig({
          env: {},
          flags: {
            port: 0,
            home: join(root, `home-${run}`),
            maxConcurrent: MAX_CONCURRENT,
            maxPerOwner: MAX_PER_OWNER,
            logLevel: "silent",
          },
        });
        const runner = new ScriptedRunner();
        let baton = await createBaton(config, { runner, logger });
        await baton.supervisor.recover();
        const ids: string[] = [];
        const steps: string[] = [];
        const pickLive = (pick: number) => {
          const live = [...runner.runs.keys()];
          return live.length ? live[pick % live.length] : undefined;
        };
        try {
          for (const step of actions) {
            steps.push(JSON.stringify(step));
            const history = steps.join("\n");
            switch (step.kind) {
              case "spawn": {
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
                const id = pickLive(step.pick);
                if (id) runner.runs.get(id)?.endTurn(step.reason);
                break;
              }
              case "crash": {
                const id = pickLive(step.pick);
                if (id) runner.runs.get(id)?.crash();
                break;
              }
              case "kill": {
                const id = ids.length ? ids[step.pick % ids.length] : undefined;
                if (id)
                  await baton.sessions
                    .kill(id)
                    .catch((error: { code?: string }) => assert.equal(error.code, "SESSION_ENDED", history));
                break;
              }
              case "send": {
                const id = ids.length ? ids[step.pick % ids.length] : undefined;
                if (id)
                  await baton.sessions
                    .send(id, { text: "more", mode: "queue" })
                    .catch((error: { code?: string }) => assert.equal(error.code, "SESSION_ENDED", history));
                break;
              }
              case "restart": {
                await baton.stop();
                baton = await createBaton(config, { runner, logger });
                await baton.supervisor.recover();
                break;
              }
            }
            await settle(baton);
            await checkInvariants(baton, runner, history);
          }
          await checkEventHistories(baton, steps.join("\n"));
        } finally {
          await baton.stop();
        }
      }),
      { numRuns: 100 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
