import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Baton, createBaton } from "../../src/app.ts";
import { loadConfig } from "../../src/core/config.ts";
import { createLogger } from "../../src/core/logger.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";
import { ScriptedRunner } from "../support/scripted-runner.ts";
import { waitUntil } from "../support/wait-until.ts";

/**
 * A spawn writes its session and its admission (a slot, or the queue) in one transaction, so another node's
 * queue drain (it drains on every heartbeat) never sees a new session before the spawning node decided:
 * with room and placement off, every session starts on the node it was spawned through, exactly once.
 * Many spawns at once on one node queue behind its scheduler; a peer beating every 100 ms drains all along.
 * (When the insert and the claim were two transactions, this same setup had the peer take 1 to 5 of 16.)
 * ScriptedRunner runs stand in for `claude` processes so which node runs what is exact and instant.
 */
const skip = await postgresSkipReason();
const SPAWNS = 16;

test("a new session starts on the node it was spawned through, once: a peer's drain never takes it first", {
  skip,
}, async (t) => {
  const database = await createTestDatabase();
  const root = mkdtempSync(join(tmpdir(), "baton-claim-race-"));
  const logger = createLogger("silent");
  const nodes: { name: string; runner: ScriptedRunner; baton: Baton }[] = [];
  t.after(async () => {
    for (const node of nodes) await node.baton.stop();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  });
  for (const name of ["n0", "n1"]) {
    const config = loadConfig({
      env: {},
      flags: {
        port: 0,
        db: database.url,
        nodeId: name,
        home: join(root, `home-${name}`),
        maxConcurrent: SPAWNS,
        maxPerOwner: SPAWNS,
        nodeHeartbeatMs: 100,
        nodeLeaseMs: 2000,
        warmPool: 0,
        logLevel: "silent",
      },
    });
    const runner = new ScriptedRunner();
    const baton = await createBaton(config, { runner, logger });
    await baton.listen();
    nodes.push({ name, runner, baton });
  }
  const [peer, spawner] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const workDir = mkdtempSync(join(root, "work-"));
  const spawnedAt = new Date().toISOString();
  const spawned = await Promise.all(
    Array.from({ length: SPAWNS }, () => spawner.baton.sessions.spawn({ prompt: "work", workDir })),
  );
  const ids = spawned.map((session) => session.id);
  const runningOn = (id: string) =>
    nodes.filter((node) => node.runner.runs.get(id)?.alive).map((n) => n.name);
  // Every session started somewhere (a drain's start is detached from the spawn call).
  await waitUntil(() => ids.every((id) => runningOn(id).length > 0), 30_000, "every session running");
  for (const node of nodes) await node.baton.supervisor.serial.drain();
  const rows = await spawner.baton.store.db
    .selectFrom("sessions")
    .select(["id", "owner_node"])
    .where("id", "in", ids)
    .execute();
  for (const row of rows) assert.deepEqual(runningOn(row.id), [row.owner_node], `${row.id}`);
  assert.deepEqual(
    rows.filter((row) => row.owner_node !== spawner.name).map((row) => row.id),
    [],
    `taken by ${peer.name}'s drain`,
  );
  // The peer was draining all along: it beat (and so drained) after the spawns began.
  const peerRow = await spawner.baton.store.db
    .selectFrom("nodes")
    .select("last_seen_at")
    .where("id", "=", peer.name)
    .executeTakeFirstOrThrow();
  assert.ok(peerRow.last_seen_at > spawnedAt, "the peer beat while the sessions were spawned");
});
