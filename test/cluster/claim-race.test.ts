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
 * A spawn inserts its session queued, then claims a slot for it. In a cluster another node's queue drain
 * (it drains on every heartbeat) can claim the session in between; the spawning node must then leave the
 * start to that node, not start a second process of the same session. Many spawns at once on one node
 * queue behind its scheduler, which opens that window wide; a peer beating every 100 ms walks into it.
 * ScriptedRunner runs stand in for `claude` processes so which node runs what is exact and instant.
 */
const skip = await postgresSkipReason();
const SPAWNS = 16;

test("a session another node's drain claimed first is started there only, never on the spawning node too", {
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
  // The race was really run: the peer claimed some of the spawner's sessions (else this test proves nothing).
  const byPeer = rows.filter((row) => row.owner_node === peer.name).length;
  t.diagnostic(`${byPeer} of ${SPAWNS} claimed by the peer's drain`);
  assert.ok(byPeer > 0, "the peer's drain never claimed a spawn: no race to check");
});
