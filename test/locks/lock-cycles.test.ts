import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

test("two sessions that each lock a workDir and then write into the other's: the cycle is denied, not a hang", async (t) => {
  // A long timeout: only cycle detection can end this test in time.
  const h = await startHarness(t, { lockTimeoutMs: 60_000 });
  const left = h.tempDir("left-");
  const right = h.tempDir("right-");
  const tools = ["Write"];
  const a = await h.client.spawn({
    name: "lefty",
    workDir: left,
    allowedTools: tools,
    prompt: `@delay 2500\n@write ${right}/from-a.txt A\n@say a done`,
  });
  const b = await h.client.spawn({
    name: "righty",
    workDir: right,
    allowedTools: tools,
    prompt: `@delay 5000\n@write ${left}/from-b.txt B\n@say b done`,
  });
  const lockA = await h.client.lock("lefty", { reason: "reorganising left" });
  assert.deepEqual([lockA.resource, lockA.kind], [`workdir:${left}`, "explicit"]);
  const lockB = await h.client.lock(b.id, { reason: "reorganising right" });
  assert.equal(lockB.resource, `workdir:${right}`);
  const refused = await fetch(`${h.url}/sessions/${a.id}/lock`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ reason: "mine too", resource: right }),
  });
  assert.equal(refused.status, 409, "a held workDir is refused at once without waitMs");
  assert.match(
    ((await refused.json()) as { error: { message: string } }).error.message,
    /locked by session "righty".*reorganising right/,
  );

  const denied = await h.waitFor(isTopic("lock.denied"), { timeoutMs: 20_000 });
  assert.equal(denied.data.why, "cycle");
  assert.match(
    String(denied.data.message),
    /"lefty" .* waits for "righty" .*; "righty" .* waits for "lefty"|"righty" .* waits for "lefty" .*; "lefty" .* waits for "righty"/,
  );
  const loser = denied.sessionId === a.id ? a : b;
  const winner = loser === a ? b : a;
  const loserEnd = await h.waitFor(isTurnEnd(loser.id));
  const winnerEnd = await h.waitFor(isTurnEnd(winner.id));
  assert.ok(winnerEnd.seq > loserEnd.seq, "the winner went on once the loser's turn released its lock");
  const winnerFile = winner === a ? join(right, "from-a.txt") : join(left, "from-b.txt");
  const loserFile = loser === a ? join(right, "from-a.txt") : join(left, "from-b.txt");
  assert.equal(readFileSync(winnerFile, "utf8"), winner === a ? "A" : "B");
  assert.equal(existsSync(loserFile), false, "the denied write never ran");
  assert.deepEqual(await h.client.locks(), { locks: [], waiters: [] });
});
