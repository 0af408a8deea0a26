import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startMockModel } from "../../src/mock-model/index.ts";
import { startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { agentEnvFor, startHarness, testSettings } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTopic, isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";

test("with no token configured, Baton writes one to <home>/token (0600), keeps it, and the local CLI uses it", async (t) => {
  const h = await startHarness(t, { token: undefined });
  const home = join(h.root, "home");
  const file = join(home, "token");
  const token = readFileSync(file, "utf8").trim();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(token, /^baton_admin_[\w-]{40,}$/);
  assert.equal(h.baton.adminToken, token);

  const cli = { BATON_URL: h.url, BATON_HOME: home, BATON_TOKEN: undefined };
  const who = await runCli(["whoami", "--json"], cli);
  assert.equal(who.code, 0, who.stderr);
  assert.deepEqual(JSON.parse(who.stdout), { principal: "admin:local", role: "admin" });
  const elsewhere = await runCli(["ls"], { ...cli, BATON_HOME: h.tempDir("other-home-") });
  assert.equal(elsewhere.code, 1, "another user's home has no token");
  assert.match(elsewhere.stderr, /UNAUTHENTICATED/);

  await h.restart({ token: undefined });
  assert.equal(readFileSync(file, "utf8").trim(), token, "the token survives a restart");
  assert.equal((await runCli(["ls"], { ...cli, BATON_URL: h.url })).code, 0);
});

test("a canary secret in config, a prompt and a tool input never reaches Baton's log; events mask it", async (t) => {
  const canary = "CANARY-9f8e7d6c5b4a-secret";
  const root = mkdtempSync(join(tmpdir(), "baton-canary-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const mock = await startMockModel();
  t.after(() => mock.stop());
  const settings = testSettings(root, mock.url);
  const baton = await startBatonProcess({
    ...settings,
    agentEnv: { ...(settings.agentEnv as Record<string, string>), CANARY_TOKEN: canary },
  });
  t.after(() => stopBatonProcess(baton));
  const env = { BATON_URL: baton.url, BATON_TOKEN: baton.token };
  const spawned = await runCli(
    ["spawn", `@bash echo ${canary}\n@say the secret is ${canary}`, "-w", root, "--json"],
    env,
  );
  assert.equal(spawned.code, 0, spawned.stderr);
  const id = (JSON.parse(spawned.stdout) as { id: string }).id;
  const end = await waitForEvent(
    { url: baton.url, token: baton.token, session: id, timeoutMs: 60_000 },
    isTurnEnd(id),
  );
  assert.equal(end.data.result, "the secret is ***", "the model's answer is masked in the stored event");
  const tool = await waitForEvent(
    { url: baton.url, token: baton.token, session: id },
    isTopic("session.tool_use", id),
  );
  assert.doesNotMatch(JSON.stringify(tool.data), /CANARY-9f8e/);
  const config = await runCli(["config", "--json"], env);
  assert.doesNotMatch(config.stdout, /CANARY-9f8e/);
  // A failing request that echoes its body must not carry it into the log either.
  await fetch(`${baton.url}/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${baton.token}`, "content-type": "application/json" },
    body: JSON.stringify({ prompt: canary, workDir: "relative/path" }),
  });
  await stopBatonProcess(baton);
  assert.doesNotMatch(baton.logs(), /CANARY-9f8e/);
  assert.doesNotMatch(baton.logs(), new RegExp(baton.token));
});

test("bypassPermissions as root without IS_SANDBOX is refused up front, naming the setting that allows it", async (t) => {
  if (process.getuid?.() !== 0) {
    t.diagnostic("not root: the claude CLI allows bypassPermissions, nothing to refuse");
  }
  const h = await startHarness(t);
  const response = await fetch(`${h.url}/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "@say hi", workDir: h.tempDir(), permissionMode: "bypassPermissions" }),
  });
  if (process.getuid?.() === 0) {
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { message: string; details: { field: string } } };
    assert.equal(error.details.field, "permissionMode");
    assert.match(error.message, /runs as root.*IS_SANDBOX=1/);
  } else {
    assert.equal(response.status, 201);
  }
  await h.restart({ agentEnv: { ...agentEnvFor(h.root), IS_SANDBOX: "1" } });
  const allowed = await h.client.spawn({
    prompt: "@say free",
    workDir: h.tempDir(),
    permissionMode: "bypassPermissions",
  });
  const end = await h.waitFor(isTurnEnd(allowed.id));
  assert.equal(end.data.result, "free");
});

test("spawns and sends are rate-limited per principal with 429 and Retry-After", async (t) => {
  const h = await startHarness(t, { spawnRatePerMinute: 2 });
  const spawn = () =>
    fetch(`${h.url}/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "@say hi", workDir: "/nonexistent/rate" }),
    });
  assert.equal((await spawn()).status, 400);
  assert.equal((await spawn()).status, 400);
  const limited = await spawn();
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  assert.equal(((await limited.json()) as { error: { code: string } }).error.code, "RATE_LIMITED");
});
