import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { lockToolSet } from "../../src/coordination/lock-tools.ts";
import {
  fileResource,
  resourceOfToolCall,
  resourcesConflict,
  workdirResource,
} from "../../src/locks/lock-resource.ts";
import { findCycle } from "../../src/locks/wait-for-graph.ts";
import { startHarness } from "../support/harness.ts";
import { isTopic } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

test("a holder whose process dies releases its locks", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  // The model holds the turn open (no tool process to leave behind when claude is killed).
  const holder = await h.client.spawn({
    workDir,
    allowedTools: ["Write"],
    prompt: "@write shared.txt A\n@delay 30000\n@say never reached",
  });
  await h.waitFor((event) => event.topic === "lock.acquired" && event.sessionId === holder.id);
  await h.waitFor(isTopic("session.tool_done", holder.id));
  const { pid } = await h.client.get(holder.id);
  assert.ok(pid);
  process.kill(pid, "SIGKILL");
  const released = await h.waitFor(isTopic("lock.released", holder.id));
  assert.deepEqual(
    [released.data.resource, released.data.why],
    [`file:${join(workDir, "shared.txt")}`, "process_exited"],
  );
  await waitUntil(async () => (await h.client.get(holder.id)).status === "failed", 10_000, "failed");
  assert.deepEqual(await h.client.locks(), { locks: [], waiters: [] });
});

test("the agent's lock tools lock, list and unlock through the API; errors come back readable", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({ name: "tooly", workDir, prompt: "@delay 20000\n@say late" });
  const tools = new Map(lockToolSet(h.client, session.id).map((tool) => [tool.name, tool]));
  assert.deepEqual([...tools.keys()], ["lock", "unlock", "locks"]);
  const call = (name: string, args: Record<string, unknown>) => {
    const tool = tools.get(name);
    assert.ok(tool, name);
    return tool.handler(args);
  };
  assert.deepEqual(await call("lock", { reason: "migrating", path: "db" }), {
    text: `Locked file:${join(workDir, "db")} until you unlock or your turn ends.`,
  });
  assert.match((await call("locks", {})).text, /file:.*\/db held by tooly \(explicit: migrating\)/);
  assert.deepEqual(await call("unlock", {}), { text: `Released file:${join(workDir, "db")}.` });
  assert.equal((await call("unlock", {})).text, "You held no matching lock.");
  await h.client.kill(session.id);
  const refused = await call("lock", { reason: "after the end" });
  assert.equal(refused.isError, true);
  assert.match(refused.text, /killed: locks last for a turn.*\[SESSION_NOT_RUNNING\]/);
  assert.deepEqual(
    lockToolSet(h.client, undefined).map((tool) => tool.name),
    ["locks"],
    "an external MCP client only lists",
  );
});

test("resources conflict on the same file, a file inside a locked directory, and nested directories", () => {
  const file = fileResource("/w/src/a.ts");
  assert.ok(resourcesConflict(file, fileResource("/w/src/../src/a.ts")));
  assert.ok(!resourcesConflict(file, fileResource("/w/src/b.ts")));
  assert.ok(resourcesConflict(workdirResource("/w"), file));
  assert.ok(resourcesConflict(file, workdirResource("/w/src/")));
  assert.ok(!resourcesConflict(workdirResource("/w2"), file), "a sibling with a common prefix is apart");
  assert.ok(resourcesConflict(workdirResource("/w"), workdirResource("/w/src")));
  assert.ok(!resourcesConflict(workdirResource("/w/a"), workdirResource("/w/b")));
});

test("file edits name their file relative to the workDir; other tools take no lock", () => {
  assert.equal(resourceOfToolCall("Write", { file_path: "x/y.txt" }, "/w"), "file:/w/x/y.txt");
  assert.equal(resourceOfToolCall("Edit", { file_path: "/abs/z.ts" }, "/w"), "file:/abs/z.ts");
  assert.equal(resourceOfToolCall("NotebookEdit", { notebook_path: "n.ipynb" }, "/w"), "file:/w/n.ipynb");
  assert.equal(resourceOfToolCall("Bash", { command: "echo > f" }, "/w"), undefined);
  assert.equal(resourceOfToolCall("Write", { content: "no path" }, "/w"), undefined);
});

test("the wait-for graph finds the cycle a new wait would close, and only then", () => {
  const edges = [
    { waiter: "b", holder: "c", resource: "file:/1" },
    { waiter: "c", holder: "a", resource: "file:/2" },
  ];
  const cycle = findCycle(edges, { waiter: "a", holder: "b", resource: "file:/3" });
  assert.deepEqual(
    cycle?.map((edge) => `${edge.waiter}->${edge.holder}`),
    ["a->b", "b->c", "c->a"],
  );
  assert.equal(findCycle(edges, { waiter: "d", holder: "b", resource: "file:/3" }), undefined);
  assert.equal(findCycle([], { waiter: "a", holder: "b", resource: "file:/3" }), undefined);
});
