import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

/** A session's first model request, as the model saw it (tools, deferred-tool lists, prompts). */
function firstRequest(h: Awaited<ReturnType<typeof startHarness>>, agentSessionId: string | null): string {
  const request = h.mock.requests.find((entry) => entry.sessionId === agentSessionId);
  return JSON.stringify(request?.body ?? null);
}

test("coordinationTools: false starts the agent without mcp__baton__* tools; the default offers them", async (t) => {
  const h = await startHarness(t);
  const plain = await h.client.spawn({
    prompt: "@say plain",
    workDir: h.tempDir(),
    coordinationTools: false,
  });
  const coordinating = await h.client.spawn({ prompt: "@say coordinating", workDir: h.tempDir() });
  await Promise.all([h.waitFor(isTurnEnd(plain.id)), h.waitFor(isTurnEnd(coordinating.id))]);

  // The CLI may list MCP tools as deferred (found through ToolSearch) rather than in `tools`: look anywhere.
  const withTools = firstRequest(h, (await h.client.get(coordinating.id)).agentSessionId);
  const without = firstRequest(h, (await h.client.get(plain.id)).agentSessionId);
  assert.match(withTools, /mcp__baton__spawn/);
  assert.match(without, /"name":"Bash"/, "the built-in tools are still there");
  assert.doesNotMatch(without, /mcp__baton__/);
  assert.equal((await h.client.get(plain.id)).config.coordinationTools, false, "stored with the session");
});
