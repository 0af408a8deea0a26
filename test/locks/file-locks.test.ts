import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { authHeaders } from "../support/auth.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

const TOOLS = ["Bash", "Write", "Read"];
/** Shell work after the write that keeps the writer's turn (and its lock) open until the test opens the gate. */
const HOLD_TURN = "@bash for i in $(seq 1 300); do [ -e gate ] && break; sleep 0.1; done";
const openGate = (workDir: string) => writeFileSync(join(workDir, "gate"), "");
/** A session that writes shared.txt, then holds its turn (and the file's lock) until the gate opens. */
const spawnHolder = (h: Harness, name: string, workDir: string) =>
  h.client.spawn({
    name,
    workDir,
    allowedTools: TOOLS,
    prompt: `@write shared.txt A\n${HOLD_TURN}\n@say first done`,
  });

const lockAcquired = (sessionId: string) => (event: BatonEvent) =>
  event.topic === "lock.acquired" && event.sessionId === sessionId;

test("a second writer of the same file waits for the first one's turn to end, then writes", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const file = join(workDir, "shared.txt");
  const first = await spawnHolder(h, "first-writer", workDir);
  const held = await h.waitFor(lockAcquired(first.id));
  assert.deepEqual([held.data.resource, held.data.kind], [`file:${file}`, "auto"]);
  await h.waitFor(isTopic("session.tool_done", first.id));

  // Claude Code's Write refuses to overwrite a file it has not read: read first, then write.
  const second = await h.client.spawn({
    name: "second-writer",
    workDir,
    allowedTools: TOOLS,
    prompt: `@tool Read {"file_path":"${file}"}\n@write shared.txt B\n@say second done`,
  });
  const waiting = await h.waitFor(isTopic("session.lock_waiting", second.id));
  assert.equal(waiting.data.resource, `file:${file}`);
  assert.equal(waiting.data.holder, first.id);
  assert.equal(waiting.data.holderName, "first-writer");
  assert.equal((await h.client.get(second.id)).status, "waiting");
  const shown = await h.client.locks();
  assert.deepEqual(
    shown.locks.map((lock) => [lock.resource, lock.sessionName, lock.kind]),
    [[`file:${file}`, "first-writer", "auto"]],
  );
  assert.deepEqual(
    shown.waiters.map((waiter) => [waiter.sessionId, waiter.holder]),
    [[second.id, first.id]],
  );

  openGate(workDir);
  const firstEnd = await h.waitFor(isTurnEnd(first.id));
  assert.equal(firstEnd.data.result, "first done");
  const taken = await h.waitFor(lockAcquired(second.id));
  assert.ok(taken.seq > firstEnd.seq, "the lock passed on only after the holder's turn ended");
  assert.ok(Number(taken.data.waitedMs) > 0);
  const secondEnd = await h.waitFor(isTurnEnd(second.id));
  assert.equal(secondEnd.data.result, "second done");
  assert.equal(readFileSync(file, "utf8"), "B");
  assert.deepEqual((await h.client.locks()).locks, [], "turn ends released every lock");
});

test("a writer that waits longer than lockTimeoutMs is denied with a message naming the holder", async (t) => {
  const h = await startHarness(t, { lockTimeoutMs: 1000 });
  const workDir = h.tempDir();
  const file = join(workDir, "shared.txt");
  const first = await spawnHolder(h, "slow-holder", workDir);
  await h.waitFor(lockAcquired(first.id));
  await h.client.lock(first.id, { reason: "rewriting the parser", resource: "shared.txt" });
  await h.waitFor(isTopic("session.tool_done", first.id));
  const second = await h.client.spawn({
    workDir,
    allowedTools: TOOLS,
    prompt: `@tool Read {"file_path":"${file}"}\n@write shared.txt B\n@say second done`,
  });
  const denied = await h.waitFor(isTopic("lock.denied", second.id));
  assert.equal(denied.data.why, "timeout");
  assert.equal(denied.data.holder, first.id);
  const message = String(denied.data.message);
  assert.match(
    message,
    /file .*shared\.txt is locked by session "slow-holder" \(ses_\w+\) for "rewriting the parser"/,
  );
  assert.match(message, /1000 ms \(lockTimeoutMs\)/);
  const secondEnd = await h.waitFor(isTurnEnd(second.id));
  assert.equal(secondEnd.data.result, "second done", "the turn went on after the denial");
  assert.equal((await h.client.get(first.id)).status, "running", "the holder still holds the file");
  openGate(workDir);
  assert.ok(
    h.mock.requests.some((request) => JSON.stringify(request.body).includes("Baton lock timeout")),
    "the model read the denial",
  );
  await h.waitFor(isTurnEnd(first.id));
  assert.equal(readFileSync(file, "utf8"), "A", "the denied write never ran");
});

test("unlock lets a waiter in mid-turn, a workDir lock blocks files inside it, and a kill releases it", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const file = join(workDir, "shared.txt");
  const cli = (args: string[], session?: string) =>
    runCli(args, { BATON_URL: h.url, BATON_SESSION_ID: session });
  // The CLI takes seconds to start on a busy machine: this one runs alongside the rest.
  const noSession = cli(["lock", "x"]);
  const holder = await h.client.spawn({
    name: "holder",
    workDir,
    allowedTools: TOOLS,
    prompt: `@write shared.txt A\n@bash ${slowCommand(60)}\n@say never reached`,
  });
  await h.waitFor(lockAcquired(holder.id));
  await h.waitFor(isTopic("session.tool_done", holder.id));
  const second = await h.client.spawn({
    workDir,
    allowedTools: TOOLS,
    prompt: `@tool Read {"file_path":"${file}"}\n@write shared.txt B\n@say second done`,
  });
  await h.waitFor(isTopic("session.lock_waiting", second.id));

  const listed = await cli(["locks"]);
  assert.match(listed.stdout, new RegExp(`file:${file}\\s+holder\\s+auto\\s+Write`));
  assert.match(listed.stdout, new RegExp(`${second.id}\\s+file:${file}\\s+holder`));
  const unlocked = await cli(["unlock"], holder.id);
  assert.equal(unlocked.code, 0, unlocked.stderr);
  assert.match(unlocked.stdout, new RegExp(`released file:${file}`));
  await h.waitFor(lockAcquired(second.id));
  assert.equal((await h.client.get(holder.id)).status, "running", "the holder's turn is still going");
  await h.waitFor(isTurnEnd(second.id));
  assert.equal(readFileSync(file, "utf8"), "B");

  const locked = await h.client.lock(holder.id, { reason: "big refactor" });
  assert.deepEqual([locked.resource, locked.kind], [`workdir:${workDir}`, "explicit"]);
  const third = await h.client.spawn({
    workDir,
    allowedTools: TOOLS,
    prompt: "@write sub/other.txt C\n@say third done",
  });
  const waiting = await h.waitFor(isTopic("session.lock_waiting", third.id));
  assert.deepEqual(
    [waiting.data.resource, waiting.data.holder, waiting.data.reason],
    [`file:${join(workDir, "sub/other.txt")}`, holder.id, "big refactor"],
  );
  await h.client.kill("holder");
  const released = await h.waitFor(
    (event) =>
      event.topic === "lock.released" && event.sessionId === holder.id && event.data.why === "killed",
  );
  assert.equal(released.data.resource, `workdir:${workDir}`);
  await h.waitFor(lockAcquired(third.id));
  await h.waitFor(isTurnEnd(third.id));
  assert.equal(readFileSync(join(workDir, "sub/other.txt"), "utf8"), "C");

  const refused = await noSession;
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /no session: pass --session/);
  const ended = await fetch(`${h.url}/sessions/${holder.id}/lock`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ reason: "too late" }),
  });
  assert.equal(ended.status, 409);
  assert.deepEqual(await h.client.locks(), { locks: [], waiters: [] });
});
