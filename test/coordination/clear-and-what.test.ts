import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/** About 8 s of shell work the CLI accepts (a plain long `sleep` is blocked). */
const SLOW_TOOL = slowCommand(8);

test("clear gives a session a fresh conversation: new SDK session, no old history, counters kept", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: "@say first answer",
    workDir: h.tempDir(),
    name: "standby",
  });
  const first = await h.waitFor(isTurnEnd(session.id));
  assert.equal(first.topic, "session.completed");
  const before = await h.client.get(session.id);
  assert.ok(before.agentSessionId);
  assert.ok(before.costUsd > 0);

  const cleared = await h.client.clear("standby");
  assert.equal(cleared.status, "completed");
  assert.equal(cleared.name, "standby");
  assert.equal(cleared.agentSessionId, null);
  assert.equal(cleared.result, null);
  assert.equal(cleared.costUsd, before.costUsd, "the session's cost stays");
  assert.equal(cleared.turns, before.turns, "the session's turns stay");
  const event = await h.waitFor(isTopic("session.cleared", session.id));
  assert.deepEqual(event.data, {
    previousAgentSessionId: before.agentSessionId,
    costUsd: before.costUsd,
    turns: before.turns,
    by: "admin:token",
  });

  await h.client.send("standby", { text: "@say second answer" });
  const second = await h.waitFor(isTurnEnd(session.id), { after: event.seq });
  assert.equal(second.topic, "session.completed", JSON.stringify(second.data));
  assert.equal(second.data.result, "second answer");

  const request = h.mock.requests.at(-1);
  assert.equal(request?.instruction, "@say second answer");
  const body = JSON.stringify(request?.body);
  assert.doesNotMatch(body, /first answer/, "the new conversation carries none of the old one");
  const after = await h.client.get(session.id);
  assert.ok(after.agentSessionId);
  assert.notEqual(after.agentSessionId, before.agentSessionId);
  assert.equal(request?.sessionId, after.agentSessionId);
  assert.ok(after.costUsd > before.costUsd, `cost keeps counting: ${before.costUsd} -> ${after.costUsd}`);
  assert.equal(after.turns, before.turns + 1);
});

test("what names the running tool and its input; clear is refused meanwhile", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: `@bash ${SLOW_TOOL}\n@say never`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.tool_use", session.id));

  const what = await h.client.what(session.id);
  assert.equal(what.status, "running");
  assert.equal(what.currentTool?.name, "Bash");
  assert.match(String((what.currentTool?.input as { command?: string } | undefined)?.command), /seq 1 40/);
  assert.match(what.description, /is running \(for \d+s\)\. Running tool Bash \{"command":"for i in/);
  assert.ok(what.secondsInStatus >= 0);

  await assert.rejects(h.client.clear(session.id), (error: Error & { status?: number; code?: string }) => {
    assert.equal(error.status, 409);
    assert.equal(error.code, "SESSION_BUSY");
    return true;
  });

  await h.client.kill(session.id);
  const after = await h.client.what(session.id);
  assert.equal(after.status, "killed");
  assert.equal(after.currentTool, null, "a killed session runs no tool");
  await assert.rejects(h.client.what("no-such-session"), /no session with id or name/);
});
