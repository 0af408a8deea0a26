import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import { startHarness } from "../support/harness.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** 20 s of work the CLI accepts (it blocks a plain long `sleep`), leaving late.txt only if it finishes. */
const SLOW_TOOL = slowCommand(20, "echo late > late.txt");

/** tool_use is announced before the CLI starts the tool: wait (with a deadline) for the shell to appear. */
async function waitForToolProcess(pid: number | null): Promise<number[]> {
  assert.ok(pid, "the session has a process");
  return waitUntil(
    () => {
      const members = [pid, ...listDescendants(pid)];
      return members.length >= 2 ? members : undefined;
    },
    10_000,
    "the tool's shell process",
  );
}

test("spawn runs a real shell command in its workDir and records every step in order", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: "@bash echo hello > made-by-agent.txt\n@say all done",
    workDir,
    name: "maker",
  });
  assert.equal(session.name, "maker");
  await h.waitFor(isTurnEnd(session.id));

  assert.equal(readFileSync(join(workDir, "made-by-agent.txt"), "utf8").trim(), "hello");
  const { events } = await h.client.sessionEvents("maker");
  assert.deepEqual(
    events.map((event) => event.topic),
    ["session.created", "session.spawned", "session.tool_use", "session.tool_done", "session.completed"],
  );
  const toolUse = events[2];
  assert.equal(toolUse?.data.name, "Bash");
  assert.deepEqual(
    (toolUse?.data.input as { command?: string } | undefined)?.command,
    "echo hello > made-by-agent.txt",
  );
  assert.equal(events[3]?.data.isError, false);
  // The session's history is exactly its slice of the global log: same events, same order, none missing.
  const global = await h.client.events({ after: 0 });
  assert.deepEqual(
    events.map((event) => event.seq),
    global.events.filter((event) => event.sessionId === session.id).map((event) => event.seq),
  );

  const shown = await h.client.get("maker");
  assert.equal(shown.status, "completed");
  assert.equal(shown.result, "all done");
  assert.equal(shown.turns, 2);
  assert.ok(shown.costUsd > 0, `cost recorded: ${shown.costUsd}`);
  assert.ok(shown.agentSessionId);
  assert.equal(h.mock.requests.length, 2);
});

test("a follow-up to a completed session continues the same conversation", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({ prompt: "@say first answer", workDir: h.tempDir() });
  const firstEnd = await h.waitFor(isTurnEnd(session.id));
  assert.equal(firstEnd.topic, "session.completed");
  const conversation = (await h.client.get(session.id)).agentSessionId;
  assert.ok(conversation, "the first turn recorded its conversation");

  const receipt = await h.client.send(session.id, { text: "@say second answer" });
  assert.ok(receipt.messageId);
  const resumed = await h.waitFor(isTopic("session.resumed", session.id), { after: firstEnd.seq });
  assert.equal(resumed.data.messageId, receipt.messageId);
  const secondEnd = await h.waitFor(isTurnEnd(session.id), { after: resumed.seq });
  assert.equal(secondEnd.topic, "session.completed");
  assert.equal(secondEnd.data.result, "second answer");

  // The model saw the whole conversation: the first prompt and its answer came along with the follow-up.
  const last = h.mock.requests.at(-1);
  assert.equal(last?.instruction, "@say second answer");
  const body = JSON.stringify(last?.body);
  assert.match(body, /@say first answer/);
  assert.match(body, /first answer/);
  assert.equal(
    (await h.client.get(session.id)).agentSessionId,
    conversation,
    "the same conversation resumed",
  );
});

test("interrupt stops a slow tool and keeps the session usable", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: `@bash ${SLOW_TOOL}\n@say never`,
    workDir,
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.tool_use", session.id));
  await waitForToolProcess((await h.client.get(session.id)).pid);
  const started = Date.now();
  await h.client.interrupt(session.id);
  const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 15_000 });
  assert.equal(end.topic, "session.completed");
  assert.equal(end.data.interrupted, true);
  assert.equal(end.data.result, "interrupted");
  assert.equal(
    (await h.client.get(session.id)).result,
    "interrupted",
    "the stored result says what happened",
  );
  const recorded = JSON.stringify((await h.client.sessionEvents(session.id)).events);
  assert.doesNotMatch(recorded, /ede_diagnostic/, "no CLI internals in the session's events");
  assert.ok(Date.now() - started < 10_000, "the turn ended long before the 20 s tool would have");
  assert.equal(existsSync(join(workDir, "late.txt")), false, "the tool was cut short");

  await h.client.send(session.id, { text: "@say still here" });
  const next = await h.waitFor(isTurnEnd(session.id), { after: end.seq });
  assert.equal(next.data.result, "still here");
});

test("kill during a slow tool ends the session and leaves no process of it behind", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({ prompt: `@bash ${SLOW_TOOL}`, workDir, allowedTools: ["Bash"] });
  await h.waitFor(isTopic("session.tool_use", session.id));
  const pid = (await h.client.get(session.id)).pid;
  assert.ok(pid && isAlive(pid), "the claude child is running");
  const tree = await waitForToolProcess(pid);

  const killed = await h.client.kill(session.id);
  assert.equal(killed.status, "killed");
  for (const member of tree) assert.equal(isAlive(member), false, `process ${member} is gone`);
  await h.waitFor(isTopic("session.killed", session.id));
  assert.equal(existsSync(join(workDir, "late.txt")), false);

  await assert.rejects(
    h.client.send(session.id, { text: "hello?" }),
    (error: Error & { status?: number; code?: string }) => {
      assert.equal(error.status, 409);
      assert.equal(error.code, "SESSION_ENDED");
      return true;
    },
  );
});

test("budget and turn limits end the session failed with the reason", async (t) => {
  const h = await startHarness(t);
  const budget = await h.client.spawn({
    prompt: "@usage 2000000 10\n@bash echo spent\n@say unreachable",
    workDir: h.tempDir(),
    maxBudgetUsd: 1,
  });
  const turns = await h.client.spawn({
    prompt: "@bash echo one\n@bash echo two\n@bash echo three\n@say unreachable",
    workDir: h.tempDir(),
    maxTurns: 2,
  });
  const budgetEnd = await h.waitFor(isTurnEnd(budget.id));
  const turnsEnd = await h.waitFor(isTurnEnd(turns.id));

  assert.equal(budgetEnd.topic, "session.failed");
  assert.equal(budgetEnd.data.reason, "max_budget");
  const budgetSession = await h.client.get(budget.id);
  assert.equal(budgetSession.failureReason, "max_budget");
  assert.ok(budgetSession.costUsd >= 1, `cost ${budgetSession.costUsd} passed the budget`);

  assert.equal(turnsEnd.topic, "session.failed");
  assert.equal(turnsEnd.data.reason, "max_turns");
  assert.equal((await h.client.get(turns.id)).turns, 2);
});

test("an API error from the model ends the session failed with a readable error (self-healing off)", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: "@error 500 api_error the model is on fire",
    workDir: h.tempDir(),
    maxRestarts: 0,
  });
  const end = await h.waitFor(isTurnEnd(session.id));
  assert.equal(end.topic, "session.failed");
  assert.equal(end.data.reason, "api_error");
  const failed = await h.client.get(session.id);
  assert.equal(failed.status, "failed");
  assert.match(failed.error ?? "", /500/);
  assert.match(failed.error ?? "", /the model is on fire/);
});

test("sessions and events survive a restart of the server", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({ prompt: "@say remembered", workDir: h.tempDir(), name: "keeper" });
  await h.waitFor(isTurnEnd(session.id));
  const before = await h.client.sessionEvents("keeper");

  await h.restart();
  const after = await h.client.sessionEvents("keeper");
  assert.deepEqual(after.events, before.events);
  const listed = await h.client.list();
  assert.deepEqual(
    listed.sessions.map((s) => s.id),
    [session.id],
  );
  assert.equal(listed.sessions[0]?.result, "remembered");

  // The log continues from the next seq with no gap.
  const published = await h.client.publish("test.after_restart", { ok: true });
  assert.equal(published.seq, (before.events.at(-1)?.seq ?? 0) + 1);
});
