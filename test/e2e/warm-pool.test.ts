import assert from "node:assert/strict";
import { test } from "node:test";
import { isAlive } from "../../src/runner/process-tree.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { commandLine, parkedSpares, runSession, shapeOf } from "../support/warm-spares.ts";

test("a spawn claims a parked spare and the session behaves exactly like a cold one, resume included", async (t) => {
  const h = await startHarness(t, { warmPool: 1, keepAliveMs: 60_000 });
  const cold = await runSession(h, h.tempDir());
  const [spare] = await parkedSpares(h, 1);
  assert.ok(spare, "a spare is parked after the first spawn of this kind");

  const warm = await runSession(h, h.tempDir());
  assert.equal(
    warm.pid,
    spare,
    `the second session runs on the parked process (${commandLine(warm.pid)} vs ${commandLine(spare)})`,
  );
  assert.notEqual(warm.pid, cold.pid);
  assert.deepEqual(shapeOf(warm), shapeOf(cold));
  assert.equal(warm.end.data.result, "finished");
  const toolDone = warm.events.find((event) => event.topic === "session.tool_done");
  assert.match(String(toolDone?.data.summary), new RegExp(`from-${warm.id}`), "its shell has its identity");

  // The conversation is the one Baton recorded: the model was called under the stored agent session id.
  const shown = await h.client.get(warm.id);
  const requests = h.mock.requests.filter((request) => request.sessionId === shown.agentSessionId);
  assert.equal(requests.length, 2, "both model calls of the warm session carry its recorded conversation id");
  assert.ok(shown.rssBytes && shown.rssBytes > 50 * 1024 * 1024, `live process memory: ${shown.rssBytes}`);
  assert.ok(shown.cpuSeconds !== undefined && shown.cpuSeconds > 0, `live process CPU: ${shown.cpuSeconds}`);
  const metrics = await h.client.metrics();
  for (const name of ["baton_agent_cpu_seconds", "baton_agent_max_rss_bytes"])
    assert.ok(Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]) > 0, `${name} > 0`);

  // The pool refills with a new process, and the claimed one is the session's until it is released.
  const [refill] = await parkedSpares(h, 1);
  assert.ok(refill && refill !== spare, "a fresh spare replaced the claimed one");
  assert.match(await h.client.metrics(), /^baton_warm_spares 1$/m);

  // Released (killed process, conversation kept), then resumed cold from its transcript.
  await h.baton.supervisor.serial.run(warm.id, () => h.baton.supervisor.close(warm.id, "graceful"));
  assert.equal(isAlive(spare), false);
  assert.equal((await h.client.get(warm.id)).rssBytes, undefined, "no live process, no resources");
  await h.client.send(warm.id, { text: "@say second answer" });
  const resumed = await h.waitFor(isTopic("session.resumed", warm.id), { after: warm.end.seq });
  const second = await h.waitFor(isTurnEnd(warm.id), { after: resumed.seq, timeoutMs: 60_000 });
  assert.equal(second.data.result, "second answer");
  const last = h.mock.requests.at(-1);
  assert.equal(last?.sessionId, shown.agentSessionId);
  assert.match(
    JSON.stringify(last?.body),
    /from-/,
    "the resumed model call carries the first turn's history",
  );
});

test("a spawn whose start options differ starts cold and leaves the spare parked", async (t) => {
  const h = await startHarness(t, { warmPool: 1 });
  await runSession(h, h.tempDir());
  const [spare] = await parkedSpares(h, 1);
  assert.ok(spare);
  const other = await runSession(h, h.tempDir(), { maxTurns: 7 });
  assert.notEqual(other.pid, spare, "different limits: not served by the spare");
  assert.equal(isAlive(spare), true, "the spare for the first kind is still parked");
});

test("parked spares are stopped with Baton and never leaked", async (t) => {
  const h = await startHarness(t, { warmPool: 1 });
  await runSession(h, h.tempDir());
  const spares = await parkedSpares(h, 1);
  assert.equal(spares.length, 1);
  await h.baton.stop();
  for (const pid of spares) assert.equal(isAlive(pid), false, `spare ${pid} stopped`);
  // The harness's leak guard then checks that nothing at all survived.
});

test("warmPool 0 parks nothing", async (t) => {
  const h = await startHarness(t, { warmPool: 0 });
  await runSession(h, h.tempDir());
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual((await h.client.health()).warmPool, { size: 0, ready: 0 });
});
