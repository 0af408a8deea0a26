import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { isAlive } from "../../src/runner/process-tree.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** A file for Baton's memory reading, removed after the test. */
function meminfoFile(t: TestContext, availableMb: number): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-meminfo-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "meminfo");
  setAvailableMb(path, availableMb);
  return path;
}

/** The reading Baton takes as the box's MemAvailable: a file the test writes in /proc/meminfo's format. */
function setAvailableMb(path: string, mb: number): void {
  writeFileSync(path, `MemTotal:       ${mb * 2048} kB\nMemAvailable:   ${mb * 1024} kB\n`);
}

test("with the reserve above what is available, a spawn queues waiting on memory and starts once memory frees", async (t) => {
  const meminfo = meminfoFile(t, 1024);
  const h = await startHarness(t, { memoryReserveMb: 4096, meminfoPath: meminfo });

  const session = await h.client.spawn({ prompt: "@say made it", workDir: h.tempDir() });
  assert.equal(session.status, "queued");
  await h.waitFor(isTopic("session.queued", session.id));
  const waiting = await h.client.get(session.id);
  assert.equal(waiting.waitingOn?.kind, "memory", JSON.stringify(waiting.waitingOn));
  const listed = await h.client.list({ status: "queued" });
  assert.equal(listed.sessions.find((row) => row.id === session.id)?.waitingOn?.kind, "memory");
  assert.equal(h.mock.requests.length, 0, "no process started, no model call");

  setAvailableMb(meminfo, 64 * 1024);
  const spawned = await h.waitFor(isTopic("session.spawned", session.id), { timeoutMs: 15_000 });
  const end = await h.waitFor(isTurnEnd(session.id), { after: spawned.seq });
  assert.equal(end.data.result, "made it");
  assert.equal((await h.client.get(session.id)).waitingOn, undefined);
});

test("under memory pressure the idle process of a completed session is given back before anything waits", async (t) => {
  const meminfo = meminfoFile(t, 64 * 1024);
  const h = await startHarness(t, { memoryReserveMb: 4096, meminfoPath: meminfo, keepAliveMs: 600_000 });

  const idle = await h.client.spawn({ prompt: "@say first", workDir: h.tempDir() });
  await h.waitFor(isTurnEnd(idle.id));
  const pid = (await h.client.get(idle.id)).pid;
  assert.ok(pid && isAlive(pid), "the completed session keeps its process warm");

  setAvailableMb(meminfo, 1024);
  const next = await h.client.spawn({ prompt: "@say second", workDir: h.tempDir() });
  assert.equal(next.status, "queued");
  // Past the release grace, the warm process goes; the reading (still low) keeps the new one waiting.
  await waitUntil(() => !isAlive(pid), 20_000, "the idle process released");
  assert.equal((await h.client.get(idle.id)).status, "completed", "released, not ended: a send resumes it");
  assert.equal((await h.client.get(next.id)).waitingOn?.kind, "memory");

  setAvailableMb(meminfo, 64 * 1024);
  const end = await h.waitFor(isTurnEnd(next.id), { timeoutMs: 30_000 });
  assert.equal(end.data.result, "second");
});
