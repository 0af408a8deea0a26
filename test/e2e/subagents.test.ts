import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

test("a background subagent's tool calls carry parentToolUseId, and the session completes only after it", async (t) => {
  const h = await startHarness(t);
  // The parent calls the Agent tool; the subagent's prompt is a script of its own. The Agent tool runs it
  // in the background, so the parent's turn ends ("parent done") while the subagent still works.
  const subagent = {
    description: "scripted helper",
    subagent_type: "general-purpose",
    prompt: "@delay 1000\n@bash echo from-the-subagent\n@say subagent finished",
  };
  const session = await h.client.spawn({
    prompt: `@tool Agent ${JSON.stringify(subagent)}\n@say parent done`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 90_000 });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  const { events } = await h.client.sessionEvents(session.id, { output: true });
  const uses = events.filter((event) => event.topic === "session.tool_use");
  const agent = uses.find((event) => event.data.name === "Agent");
  assert.ok(agent, `the parent called Agent: ${JSON.stringify(uses.map((event) => event.data.name))}`);
  assert.equal(agent.data.parentToolUseId, undefined, "the parent's own call has no parent");
  const bash = uses.find((event) => event.data.name === "Bash");
  assert.ok(bash);
  assert.equal(bash.data.parentToolUseId, agent.data.toolUseId, "the subagent's call names its Agent call");
  const bashDone = events.find(
    (event) => event.topic === "session.tool_done" && event.data.toolUseId === bash.data.toolUseId,
  );
  assert.equal(bashDone?.data.parentToolUseId, agent.data.toolUseId);
  assert.match(String(bashDone?.data.summary), /from-the-subagent/);
  const subagentText = events.find(
    (event) => event.topic === "session.output" && event.data.text === "subagent finished",
  );
  assert.equal(subagentText?.data.parentToolUseId, agent.data.toolUseId);

  // `completed` means the agent is done, its background subagents included: one completion, after them.
  const completions = events.filter((event) => event.topic === "session.completed");
  assert.equal(completions.length, 1, events.map((event) => event.topic).join(", "));
  assert.ok(end.seq > (bashDone?.seq ?? Number.POSITIVE_INFINITY), "completed after the subagent's work");
  assert.ok(end.seq > (subagentText?.seq ?? Number.POSITIVE_INFINITY));
  assert.equal(end.data.result, "parent done");
  assert.equal(events.filter((event) => event.topic === "session.resumed").length, 0);
});
