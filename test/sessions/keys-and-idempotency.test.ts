import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { slowCommand } from "../support/slow-sessions.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const completedWith = (sessionId: string, result: string) => (event: BatonEvent) =>
  event.topic === "session.completed" && event.sessionId === sessionId && event.data.result === result;

test("two first messages to a new key race: one session, both delivered in order; it resumes after release and restart", async (t) => {
  const h = await startHarness(t, { keepAliveMs: 300 });
  const workDir = h.tempDir();
  await h.restart({ keepAliveMs: 300, keyTemplates: [{ prefix: "chat:", template: { workDir } }] });

  const [first, second] = await Promise.all([
    h.client.sendToKey("chat:42", { text: "@say one: remember the word banana" }),
    h.client.sendToKey("chat:42", { text: "@say two" }),
  ]);
  assert.equal(first.sessionId, second.sessionId, "one key, one session");
  assert.deepEqual([first.created, second.created], [true, false]);
  assert.ok(second.messageId, "the second message went to the session as a message");
  const id = first.sessionId;
  // The second arrives while the first turn runs: it is steered in after the first (into the same model
  // request, or, when the turn was already ending, into the one more turn the CLI then runs).
  const withBoth = await h.mock.waitForRequest((r) => JSON.stringify(r.body).includes("@say two"), 60_000);
  const seen = JSON.stringify(withBoth.body);
  assert.ok(seen.indexOf("remember the word banana") < seen.indexOf("@say two"), "both, in order");
  // Which script the model follows depends on where the steer landed; either way a turn ends after it.
  const delivered = await h.waitFor(
    (event) => event.topic === "session.message_delivered" && event.data.messageId === second.messageId,
  );
  await h.waitFor(isTurnEnd(id), { after: delivered.seq, timeoutMs: 60_000 });
  const receipt = await h.client.messageReceipt(id, second.messageId ?? "");
  assert.equal(receipt.status, "delivered");
  assert.ok(receipt.deliveredAt);
  assert.equal((await h.client.getByKey("chat:42")).id, id);

  // Released (keepAliveMs), then the next message resumes the same conversation.
  await waitUntil(() => h.baton.supervisor.liveCount === 0 || undefined, 10_000, "process released");
  const third = await h.client.sendToKey("chat:42", { text: "@say three" });
  assert.deepEqual([third.sessionId, third.created], [id, false]);
  await h.waitFor(completedWith(id, "three"), { timeoutMs: 60_000 });

  // Across a restart too; the model receives the whole history.
  await h.restart({ keepAliveMs: 300, keyTemplates: [{ prefix: "chat:", template: { workDir } }] });
  const fourth = await h.client.sendToKey("chat:42", { text: "@say four" });
  assert.deepEqual([fourth.sessionId, fourth.created], [id, false]);
  await h.waitFor(completedWith(id, "four"), { timeoutMs: 60_000 });
  assert.match(JSON.stringify(h.mock.requests.at(-1)?.body), /remember the word banana/);

  // A killed session frees its key: the next message starts a new conversation.
  await h.client.kill(id);
  const fresh = await h.client.sendToKey("chat:42", { text: "@say fresh" });
  assert.equal(fresh.created, true);
  assert.notEqual(fresh.sessionId, id);
  await h.waitFor(isTurnEnd(fresh.sessionId), { timeoutMs: 60_000 });

  // The CLI: baton send --key.
  const cli = await runCli(["send", "--key", "chat:42", "@say from the cli", "--json"], { BATON_URL: h.url });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal((JSON.parse(cli.stdout) as { sessionId: string }).sessionId, fresh.sessionId);
  await h.waitFor(completedWith(fresh.sessionId, "from the cli"), { timeoutMs: 60_000 });

  const unknown = await fetch(`${h.url}/keys/nobody:1/messages`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ text: "hello" }),
  });
  assert.equal(unknown.status, 400, "no session and no template for the key");
  assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /^template: /);
});

test("a spawn retried with the same Idempotency-Key makes one session, also across a restart; another body is 422", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const spawn = (body: unknown, key = "spawn-once-1") =>
    fetch(`${h.url}/sessions`, {
      method: "POST",
      headers: authHeaders({ "content-type": "application/json", "idempotency-key": key }),
      body: JSON.stringify(body),
    });
  const body = { prompt: "@say only once", workDir };
  const first = await spawn(body);
  assert.equal(first.status, 201);
  const { id } = (await first.json()) as { id: string };
  const retry = await spawn({ workDir, prompt: "@say only once" }); // same request, other key order
  assert.equal(retry.status, 200);
  assert.equal(((await retry.json()) as { id: string }).id, id);
  await h.waitFor(isTurnEnd(id));

  await h.restart();
  const afterRestart = await spawn(body);
  assert.equal(afterRestart.status, 200);
  assert.equal(((await afterRestart.json()) as { id: string }).id, id);
  const reused = await spawn({ ...body, prompt: "@say something else" });
  assert.equal(reused.status, 422);
  assert.equal(((await reused.json()) as { error: { code: string } }).error.code, "IDEMPOTENCY_KEY_REUSED");
  assert.equal((await h.client.list()).sessions.length, 1, "one session in all");

  const [a, b] = await Promise.all([spawn(body, "raced"), spawn(body, "raced")]);
  const ids = await Promise.all(
    [a, b].map(async (response) => ((await response.json()) as { id: string }).id),
  );
  assert.equal(ids[0], ids[1], "two retries at once still make one session");
  assert.deepEqual([a.status, b.status].sort(), [200, 201]);
  await h.waitFor(isTurnEnd(ids[0] ?? ""));
});

test("message receipts say queued, delivered or refused", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: `@bash ${slowCommand(3, "echo ok")}\n@say slow done`,
    workDir: h.tempDir(),
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.tool_use", session.id));
  const queued = await h.client.send(session.id, { text: "@say next" });
  const early = await h.client.messageReceipt(session.id, queued.messageId);
  assert.equal(early.status, "queued");
  assert.equal(early.from, "admin:token", "the sender is the authenticated principal");
  await h.waitFor(completedWith(session.id, "next"), { timeoutMs: 60_000 });
  assert.equal((await h.client.messageReceipt(session.id, queued.messageId)).status, "delivered");

  const slow = await h.client.send(session.id, {
    text: `@bash ${slowCommand(3, "echo ok")}\n@say again`,
  });
  await h.waitFor(isTopic("session.tool_use", session.id));
  await h.waitFor(
    (event) => event.topic === "session.message_delivered" && event.data.messageId === slow.messageId,
  );
  const late = await h.client.send(session.id, { text: "@say never" });
  await h.client.kill(session.id);
  const refused = await h.client.messageReceipt(session.id, late.messageId);
  assert.equal(refused.status, "refused");
  assert.match(refused.reason ?? "", /killed/);
  const missing = await fetch(`${h.url}/sessions/${session.id}/messages/msg_nope`, {
    headers: authHeaders(),
  });
  assert.equal(missing.status, 404);
});

test("spawn fields reach the model: claudeMdContent, model and disallowedTools", async (t) => {
  const h = await startHarness(t);
  const session = await h.client.spawn({
    prompt: "@say configured",
    workDir: h.tempDir(),
    model: "claude-sonnet-4-5",
    claudeMdContent: "Project rule: the codeword is PELICAN-7.",
    disallowedTools: ["WebFetch"],
  });
  await h.waitFor(isTurnEnd(session.id));
  const request = h.mock.requests.find(
    (r) => r.sessionId !== undefined && JSON.stringify(r.body).includes("configured"),
  );
  assert.ok(request, "the model server saw the turn");
  assert.equal(request.model, "claude-sonnet-4-5");
  assert.match(JSON.stringify(request.body), /PELICAN-7/, "the CLAUDE.md content is in the model's context");
  const tools = ((request.body as { tools?: { name: string }[] }).tools ?? []).map((tool) => tool.name);
  assert.ok(tools.includes("Bash"), "ordinary tools are offered");
  assert.ok(!tools.includes("WebFetch"), "a disallowed tool is not offered");
});
