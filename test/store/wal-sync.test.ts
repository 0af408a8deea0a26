import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openSqlite } from "../../src/store/sqlite-driver.ts";
import { WalSync } from "../../src/store/wal-sync.ts";

/** An fsync stand-in that counts calls and finishes only when the test releases it. */
function gatedFsync() {
  const gates: Array<() => void> = [];
  const onCall: Array<() => void> = [];
  let calls = 0;
  let released = 0;
  /** Resolves once `count` fsyncs have started (the WAL's open, on the thread pool, comes first). */
  const started = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fsync ${count} never started`)), 10_000);
      const check = () => {
        if (calls < count) return void onCall.push(check);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  return {
    get calls() {
      return calls;
    },
    fsync: (_handle: FileHandle) => {
      calls += 1;
      for (const wake of onCall.splice(0)) wake();
      return new Promise<void>((resolve) => gates.push(resolve));
    },
    started,
    /** Lets the oldest running fsync finish, once it has started. */
    async release(): Promise<void> {
      released += 1;
      await started(released);
      gates.shift()?.();
    },
  };
}

function tempDatabase(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-walsync-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "baton.db");
}

/** A WAL file to open: the real one of a fresh database after one commit. */
function databaseWithWal(t: { after: (fn: () => void) => void }) {
  const path = tempDatabase(t);
  const { database } = openSqlite(path);
  database.prepare("create table t (x integer)").run([]);
  t.after(() => database.close());
  return path;
}

test("commits that arrive while an fsync runs share the next one; nobody resolves early", async (t) => {
  const gate = gatedFsync();
  const sync = new WalSync(databaseWithWal(t), gate.fsync);
  t.after(() => sync.close());

  sync.noteCommit();
  let firstDone = false;
  const first = sync.durable().then(() => {
    firstDone = true;
  });
  await gate.started(1);
  assert.equal(gate.calls, 1, "the first durable() started one fsync");

  sync.noteCommit(); // landed after that fsync began: it must wait for another
  sync.noteCommit();
  let laterDone = 0;
  const later = [sync.durable(), sync.durable()].map((promise) =>
    promise.then(() => {
      laterDone += 1;
    }),
  );
  await gate.release();
  await first;
  assert.equal(firstDone, true);
  assert.equal(laterDone, 0, "commits 2 and 3 are not covered by the first fsync");

  await gate.release();
  await Promise.all(later);
  assert.equal(laterDone, 2);
  assert.equal(gate.calls, 2, "two waiters, one shared fsync");

  await sync.durable();
  assert.equal(gate.calls, 2, "nothing new committed: no fsync");
});

test("a failed fsync fails its waiters and every later durable(): no commit is called durable after it", async (t) => {
  let calls = 0;
  const sync = new WalSync(databaseWithWal(t), async () => {
    calls += 1;
    throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
  });
  t.after(() => sync.close());

  sync.noteCommit();
  await assert.rejects(sync.durable(), /fsync of .*-wal failed \(EIO: i\/o error, fsync\).*restart it/);
  sync.noteCommit();
  await assert.rejects(sync.durable(), /restart it/);
  assert.equal(calls, 1, "no second fsync after a failure");
});

test("the SQLite adapter counts commits: autocommit writes and COMMIT, not reads, statements inside a transaction or ROLLBACK", async (t) => {
  const path = tempDatabase(t);
  let fsyncs = 0;
  const { database, walSync } = openSqlite(path, async (handle) => {
    fsyncs += 1;
    await handle.datasync();
  });
  t.after(async () => {
    await walSync.close();
    database.close();
  });
  const run = (sql: string) => database.prepare(sql).run([]);
  const durableCosts = async () => {
    const before = fsyncs;
    await walSync.durable();
    return fsyncs - before;
  };

  run("create table t (x integer)");
  assert.equal(await durableCosts(), 1, "an autocommit write is a commit");

  database.prepare("select count(*) from t").all([]);
  assert.equal(await durableCosts(), 0, "a read is not");

  run("begin");
  run("insert into t values (1)");
  assert.equal(await durableCosts(), 0, "a write inside a transaction is not on its own");
  run("commit");
  assert.equal(await durableCosts(), 1, "its COMMIT is");

  run("begin");
  database.prepare("insert into t values (2) returning x").all([]);
  run("rollback");
  assert.equal(await durableCosts(), 0, "a rolled-back transaction is not");

  database.prepare("insert into t values (3) returning x").all([]);
  assert.equal(await durableCosts(), 1, "an autocommit INSERT … RETURNING is");
});
