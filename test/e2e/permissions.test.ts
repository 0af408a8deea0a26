import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { maskSecretValues } from "../../src/core/mask.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/** Writing through the shell needs approval in "default" permission mode. */
const GUARDED = "@bash echo approved > guarded.txt\n@say wrote it";

test("a tool call that needs approval waits, is listed, and runs once allowed over HTTP", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({ prompt: GUARDED, workDir, permissionMode: "default" });
  const requested = await h.waitFor(isTopic("session.permission_requested", session.id));
  assert.equal(requested.data.toolName, "Bash");
  assert.equal((requested.data.input as { command: string }).command, "echo approved > guarded.txt");
  assert.equal((await h.client.get(session.id)).status, "waiting");
  assert.equal(existsSync(join(workDir, "guarded.txt")), false, "nothing ran before the decision");

  const { permissions } = await h.client.permissions({ status: "pending" });
  assert.deepEqual(
    permissions.map((p) => p.id),
    [requested.data.requestId],
  );

  const answered = await h.client.answerPermission(session.id, String(requested.data.requestId), {
    decision: "allow",
    by: "alice",
  });
  assert.equal(answered.status, "allowed");
  const resolved = await h.waitFor(isTopic("session.permission_resolved", session.id));
  assert.deepEqual([resolved.data.decision, resolved.data.by], ["allow", "admin:token"]);
  const end = await h.waitFor(isTurnEnd(session.id));
  assert.equal(end.data.result, "wrote it");
  assert.equal(readFileSync(join(workDir, "guarded.txt"), "utf8").trim(), "approved");
  assert.equal((await h.client.permissions({ status: "pending" })).permissions.length, 0);

  const again = await fetch(`${h.url}/sessions/${session.id}/permissions/${requested.data.requestId}`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ decision: "deny" }),
  });
  assert.equal(again.status, 409, "a request is answered once");
});

test("a denial from the CLI reaches the model as the message, and the tool never runs", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: GUARDED,
    workDir,
    permissionMode: "default",
    name: "guarded",
  });
  await h.waitFor(isTopic("session.permission_requested", session.id));

  const pending = await runCli(["pending"], { BATON_URL: h.url });
  assert.match(pending.stdout, /perm_\w+\s+guarded\s+Bash\s+\{"command":"echo approved > guarded\.txt"/);
  const denied = await runCli(["deny", "guarded", "-m", "Not in this repository, please."], {
    BATON_URL: h.url,
    BATON_SESSION_ID: undefined,
  });
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(denied.stdout, /Bash denied/);

  await h.waitFor(isTurnEnd(session.id));
  assert.equal(existsSync(join(workDir, "guarded.txt")), false);
  const toolResult = JSON.stringify(h.mock.requests.at(-1)?.body);
  assert.match(toolResult, /Not in this repository, please\./, "the model read the denial");
  const resolved = await h.waitFor(isTopic("session.permission_resolved", session.id));
  assert.equal(resolved.data.by, "admin:token");
});

test("permissionTimeoutMs denies an unanswered request with a message saying why", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: GUARDED,
    workDir: h.tempDir(),
    permissionMode: "default",
    permissionTimeoutMs: 1500,
  });
  const resolved = await h.waitFor(isTopic("session.permission_resolved", session.id), { timeoutMs: 15_000 });
  assert.equal(resolved.data.decision, "deny");
  assert.equal(resolved.data.by, "baton:timeout");
  await h.waitFor(isTurnEnd(session.id));
  assert.match(JSON.stringify(h.mock.requests.at(-1)?.body), /within 1500 ms \(permissionTimeoutMs\)/);
});

test("a request survives a restart, stays answerable, and the answer applies when the call is asked again", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({ prompt: GUARDED, workDir, permissionMode: "default" });
  const requested = await h.waitFor(isTopic("session.permission_requested", session.id));

  await h.restart();
  const { permissions } = await h.client.permissions({ status: "pending", session: session.id });
  assert.deepEqual(
    permissions.map((p) => p.id),
    [requested.data.requestId],
    "still pending after the restart",
  );
  const answered = await h.client.answerPermission(session.id, String(requested.data.requestId), {
    decision: "allow",
    by: "bob",
  });
  assert.equal(answered.status, "allowed");
  await h.waitFor(isTurnEnd(session.id), { after: requested.seq });

  // The resumed agent asks for the very same call again: the stored answer applies, nobody is asked twice.
  const before = (await h.client.sessionEvents(session.id)).nextAfter;
  await h.client.send(session.id, { text: GUARDED });
  const end = await h.waitFor(isTurnEnd(session.id), { after: before });
  assert.equal(end.data.result, "wrote it");
  assert.equal(readFileSync(join(workDir, "guarded.txt"), "utf8").trim(), "approved");
  const asked = (await h.client.sessionEvents(session.id, { after: before })).events.filter(
    (e) => e.topic === "session.permission_requested",
  );
  assert.equal(asked.length, 0);
});

test("secret-looking values are masked in what people see", () => {
  assert.deepEqual(
    maskSecretValues({
      command: "curl",
      headers: { Authorization: "Bearer x" },
      apiKey: "k",
      nested: [{ password: "p" }],
    }),
    {
      command: "curl",
      headers: { Authorization: "***" },
      apiKey: "***",
      nested: [{ password: "***" }],
    },
  );
});
