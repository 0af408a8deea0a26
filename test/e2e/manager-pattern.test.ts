import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

test("the manager pattern: a root spawns two children, idles at zero requests, and is woken with both results", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const spawnChild = (name: string, file: string) =>
    `@tool mcp__baton__spawn ${JSON.stringify({ prompt: `@bash echo ${name} > ${file}\n@say ${name} finished its part`, name })}`;
  const root = await h.client.spawn({
    prompt: [
      spawnChild("alpha", "alpha.txt"),
      spawnChild("beta", "beta.txt"),
      "@say delegated, waiting",
    ].join("\n"),
    workDir,
    name: "manager",
  });
  const rootIdle = await h.waitFor(isTurnEnd(root.id), { timeoutMs: 60_000 });
  assert.equal(rootIdle.data.result, "delegated, waiting");
  const rootAgent = (await h.client.get(root.id)).agentSessionId;
  const rootRequestsAtIdle = h.mock.requests.filter((request) => request.sessionId === rootAgent).length;
  const lastIdleRequest = h.mock.requests.findLast((request) => request.sessionId === rootAgent)?.seq ?? 0;

  const children = (await h.client.list({ parentSessionId: root.id })).sessions;
  assert.deepEqual(children.map((child) => child.name).sort(), ["alpha", "beta"]);
  for (const child of children) {
    assert.equal(child.parentSessionId, root.id);
    assert.equal(
      (child.config as { workDir: string }).workDir,
      workDir,
      "children work in the parent's directory",
    );
    const end = await h.waitFor(isTurnEnd(child.id), { timeoutMs: 60_000 });
    assert.equal(end.data.result, `${child.name} finished its part`);
  }
  assert.equal(readFileSync(join(workDir, "alpha.txt"), "utf8").trim(), "alpha");
  assert.equal(readFileSync(join(workDir, "beta.txt"), "utf8").trim(), "beta");

  // The root is woken (one turn per wake, or one for both when they arrive together) and reads both results.
  const heard = () => {
    const read = h.mock.requests.filter(
      (request) => request.sessionId === rootAgent && request.seq > lastIdleRequest,
    );
    return ["alpha", "beta"].filter((name) =>
      read.some((request) => request.instruction?.includes(`${name} finished its part`)),
    );
  };
  // A turn end only counts once both results were read and no wake-up is still running.
  let after = rootIdle.seq;
  for (;;) {
    const end = await h.waitFor(isTurnEnd(root.id), { after: after, timeoutMs: 60_000 });
    after = end.seq;
    if (heard().length === 2 && (await h.client.get(root.id)).status === "completed") break;
  }

  // Between its idle point and its first wake-up, the root made no model request while the children worked.
  const firstWake = h.mock.requests.find(
    (request) => request.sessionId === rootAgent && request.seq > lastIdleRequest,
  );
  const between = h.mock.requests.filter(
    (request) => request.seq > lastIdleRequest && request.seq < (firstWake?.seq ?? 0),
  );
  assert.ok(between.length >= 2, `a child worked in between (${between.length} requests)`);
  assert.equal(
    between.filter((request) => request.sessionId === rootAgent).length,
    0,
    "zero root requests while waiting",
  );
  assert.ok(rootRequestsAtIdle >= 3, "the root's first turn made its spawn calls");
});
