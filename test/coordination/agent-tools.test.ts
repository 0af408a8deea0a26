import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

/** Each baton tool call of a turn, in order: its name, whether it failed, and the summary the agent read. */
function toolCalls(
  events: readonly BatonEvent[],
): Array<{ name: string; isError: boolean; summary: string }> {
  const names = new Map<unknown, string>();
  const calls: Array<{ name: string; isError: boolean; summary: string }> = [];
  for (const event of events) {
    if (event.topic === "session.tool_use") names.set(event.data.toolUseId, String(event.data.name));
    if (event.topic === "session.tool_done") {
      calls.push({
        name: names.get(event.data.toolUseId) ?? "?",
        isError: event.data.isError === true,
        summary: String(event.data.summary),
      });
    }
  }
  return calls;
}

test("an agent coordinates through mcp__baton__ tools: spawn, children, status, what, wait, name, others, kill", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  // Same owner as the parent below, outside its tree: an agent may read it (status, wait) but not kill it.
  const stranger = await h.client.spawn({
    prompt: "@say bystander",
    workDir: h.tempDir(),
    name: "stranger",
    owner: "team-a",
  });
  await h.waitFor(isTurnEnd(stranger.id));

  const script = [
    '@tool mcp__baton__spawn {"prompt":"@say child done","name":"kid"}',
    "@tool mcp__baton__children {}",
    '@tool mcp__baton__status {"session":"kid"}',
    '@tool mcp__baton__what {"session":"kid"}',
    '@tool mcp__baton__kill {"session":"stranger"}',
    '@tool mcp__baton__name {"name":"boss"}',
    "@tool mcp__baton__others {}",
    '@tool mcp__baton__wait {"session":"stranger","timeoutSeconds":30}',
    "@say spawned",
  ].join("\n");
  const parent = await h.client.spawn({ prompt: script, workDir, owner: "team-a" });
  const end = await h.waitFor((event) => isTurnEnd(parent.id)(event), { timeoutMs: 60_000 });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "spawned");

  const { events } = await h.client.sessionEvents(parent.id, { limit: 500 });
  const calls = toolCalls(events.filter((event) => event.seq < end.seq));
  assert.deepEqual(
    calls.map((call) => call.name),
    ["spawn", "children", "status", "what", "kill", "name", "others", "wait"].map(
      (name) => `mcp__baton__${name}`,
    ),
  );
  const call = (index: number) => {
    const found = calls[index];
    assert.ok(found, `tool call #${index}`);
    return found;
  };
  const [spawn, children, status, what, kill, name, others, wait] = calls.map((_, index) => call(index));
  assert.ok(spawn && children && status && what && kill && name && others && wait);

  // The child: parent set, workDir and owner inherited, and the spawn answer names it.
  const { sessions } = await h.client.list({ parentSessionId: parent.id });
  assert.equal(sessions.length, 1);
  const kid = sessions[0];
  assert.ok(kid);
  assert.equal(kid.name, "kid");
  assert.equal(kid.parentSessionId, parent.id);
  assert.equal((kid.config as { workDir?: string }).workDir, workDir);
  assert.equal(kid.owner, "team-a");
  assert.equal(spawn.isError, false, spawn.summary);
  assert.match(spawn.summary, new RegExp(`"kid" \\(${kid.id}\\)`));

  assert.equal(children.isError, false, children.summary);
  assert.match(children.summary, /1 child session\(s\):.*"kid"/);
  assert.equal(status.isError, false, status.summary);
  assert.match(status.summary, /"kid".*owner: team-a/);
  assert.match(status.summary, new RegExp(`parent: ${parent.id}`));
  assert.equal(what.isError, false, what.summary);
  assert.match(what.summary, /"kid" \(ses_\w+\) is \w+/);

  // Killing a session outside its own tree is refused, and the stranger lives on.
  assert.equal(kill.isError, true);
  assert.match(kill.summary, /refused: "stranger" .* is not one of your descendants/);
  assert.equal((await h.client.get(stranger.id)).status, "completed");

  assert.equal(name.isError, false, name.summary);
  assert.equal((await h.client.get(parent.id)).name, "boss");
  assert.equal(others.isError, false, others.summary);
  assert.match(others.summary, /"kid"/);
  assert.doesNotMatch(others.summary, /stranger/);
  assert.equal(wait.isError, false, wait.summary);
  assert.match(wait.summary, /stranger is already completed/);

  const kidEnd = await h.waitFor(isTurnEnd(kid.id));
  assert.equal(kidEnd.data.result, "child done");
});
