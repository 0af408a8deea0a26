import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

const TOOLS = ["Bash", "Write", "Read"];

test("waitingOn names the permission request, the lock, or the slot a session waits for; ls and show print it", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 3, maxPerOwner: 3 });
  const workDir = h.tempDir();
  const file = join(workDir, "shared.txt");

  // A permission request: the Bash call needs a human in permissionMode "default".
  const asking = await h.client.spawn({
    prompt: "@bash echo approved > guarded.txt\n@say asked",
    workDir,
    permissionMode: "default",
  });
  const requested = await h.waitFor(isTopic("session.permission_requested", asking.id));
  const asked = await h.client.get(asking.id);
  assert.equal(asked.status, "waiting");
  assert.deepEqual(asked.waitingOn, {
    kind: "permission",
    since: asked.waitingOn?.since,
    requestId: requested.data.requestId,
  });
  assert.ok(Date.parse(asked.waitingOn?.since ?? "") <= Date.parse(requested.ts) + 1);

  // A lock: the holder keeps shared.txt locked until the gate file appears.
  const holder = await h.client.spawn({
    workDir,
    allowedTools: TOOLS,
    prompt:
      "@write shared.txt A\n@bash for i in $(seq 1 300); do [ -e gate ] && break; sleep 0.1; done\n@say held",
  });
  await h.waitFor(isTopic("session.tool_done", holder.id));
  const second = await h.client.spawn({
    workDir,
    allowedTools: TOOLS,
    prompt: `@tool Read {"file_path":"${file}"}\n@write shared.txt B\n@say second done`,
  });
  const lockWait = await h.waitFor(isTopic("session.lock_waiting", second.id));
  const blocked = await h.client.get(second.id);
  assert.equal(blocked.status, "waiting");
  assert.deepEqual(blocked.waitingOn, { kind: "lock", since: lockWait.ts, path: file });

  // A slot: three sessions hold the three slots, the fourth queues.
  const queued = await h.client.spawn({ prompt: "@say later", workDir });
  assert.equal(queued.status, "queued");
  assert.equal(queued.waitingOn?.kind, "slot");
  const listed = (await h.client.list()).sessions;
  const waits = Object.fromEntries(listed.map((session) => [session.id, session.waitingOn?.kind]));
  assert.deepEqual(waits, {
    [asking.id]: "permission",
    [holder.id]: undefined,
    [second.id]: "lock",
    [queued.id]: "slot",
  });

  const env = { BATON_URL: h.url };
  const [ls, show] = await Promise.all([runCli(["ls"], env), runCli(["show", asking.id], env)]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`${asking.id}\\s+waiting \\(permission\\)`));
  assert.match(ls.stdout, new RegExp(`${second.id}\\s+waiting \\(lock\\)`));
  assert.match(ls.stdout, new RegExp(`${queued.id}\\s+queued #1`));
  assert.match(show.stdout, new RegExp(`waiting on:\\s+permission ${requested.data.requestId} since `));

  // Once nothing blocks them, the reason goes away.
  writeFileSync(join(workDir, "gate"), "");
  await h.waitFor(isTurnEnd(second.id), { timeoutMs: 60_000 });
  assert.equal((await h.client.get(second.id)).waitingOn, undefined);
  await h.client.kill(asking.id);
  await h.waitFor(isTurnEnd(queued.id));
  assert.equal((await h.client.get(queued.id)).waitingOn, undefined);
});
