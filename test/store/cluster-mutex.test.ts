import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { withClusterMutex } from "../../src/store/cluster-mutex-queries.ts";
import { BACKENDS, useDatabase } from "../support/store-backends.ts";
import { waitUntil } from "../support/wait-until.ts";

const postgres = BACKENDS.find((backend) => backend.name === "postgres");

test("postgres: two nodes' stores take the cluster mutex one at a time; the second enters once the first let go", {
  skip: postgres?.skip,
}, async (t) => {
  if (!postgres) throw new Error("no postgres backend");
  const database = await useDatabase(t, postgres);
  const [nodeA, nodeB] = [await database.open(), await database.open()];
  const entered: string[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const first = withClusterMutex(nodeA, "baton:locks", async () => {
    entered.push("a");
    await held;
  });
  await waitUntil(() => entered.includes("a"), 10_000, "A inside");
  const second = withClusterMutex(nodeB, "baton:locks", async () => {
    entered.push("b");
  });
  // B's connection waits on the advisory lock (what pg_stat_activity shows), and has not entered.
  await waitUntil(
    async () => {
      const { rows } = await sql<{ waiting: number }>`
        select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`.execute(
        nodeA.db,
      );
      return (rows[0]?.waiting ?? 0) > 0;
    },
    10_000,
    "B waiting on the advisory lock",
  );
  assert.deepEqual(entered, ["a"]);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(entered, ["a", "b"]);
  // Another name is another mutex: taken while nothing else is held.
  assert.equal(await withClusterMutex(nodeB, "baton:other", async () => 42), 42);
});

test("sqlite: one process per database, so the mutex is only the task", async (t) => {
  const sqlite = BACKENDS.find((backend) => backend.name === "sqlite");
  if (!sqlite) throw new Error("no sqlite backend");
  const store = await (await useDatabase(t, sqlite)).open();
  assert.equal(await withClusterMutex(store, "baton:locks", async () => "ran"), "ran");
});
