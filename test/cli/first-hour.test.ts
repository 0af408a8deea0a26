import assert from "node:assert/strict";
import { test } from "node:test";
import type { EffectiveConfig } from "../../src/core/effective-config.ts";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";

/** CLI starts are CPU-bound; on a shared, loaded machine several at once take far longer than alone. */
const CLI_DEADLINE_MS = 120_000;

import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/** More than six decimals: float noise such as 0.0024000000000000002. */
const UNROUNDED = /\d\.\d{7,}/;

test("baton config shows the running server's configuration (secrets masked, model access); --local the CLI's", async (t) => {
  const h = await startHarness(t, { maxConcurrent: 3, webhookSecrets: ["a-webhook-secret-of-length"] });
  const env = { BATON_URL: h.url };
  const [remote, text, local, down] = await Promise.all([
    runCli(["config", "--json"], env, CLI_DEADLINE_MS),
    runCli(["config"], env, CLI_DEADLINE_MS),
    runCli(["config", "--local", "--json"], env, CLI_DEADLINE_MS),
    runCli(["config"], { BATON_URL: "http://127.0.0.1:9" }, CLI_DEADLINE_MS),
  ]);
  assert.equal(remote.code, 0, remote.stderr);
  const served = JSON.parse(remote.stdout) as EffectiveConfig;
  assert.equal(served.settings.maxConcurrent, 3, "the server's own setting, not the CLI's default");
  assert.equal(served.settings.anthropicApiKey, "***");
  assert.deepEqual(served.settings.webhookSecrets, ["***"]);
  assert.doesNotMatch(remote.stdout, /test-key|a-webhook-secret/, "no secret leaves the server");
  assert.deepEqual(served.modelAccess.credentials, ["anthropicApiKey (setting)"]);
  assert.equal(served.modelAccess.baseUrl, h.mock.url);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^maxConcurrent +3$/m);
  assert.match(
    text.stdout,
    new RegExp(`^model access +anthropicApiKey \\(setting\\) -> ${h.mock.url}$`, "m"),
  );

  assert.equal(local.code, 0, local.stderr);
  assert.equal(
    (JSON.parse(local.stdout) as Record<string, unknown>).maxConcurrent,
    4,
    "--local: this CLI's view",
  );
  assert.equal(down.code, 3, "no server: exit 3 like every command");
  assert.match(down.stderr, /cannot reach Baton/);

  const openapi = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, object> };
  for (const path of ["/config", "/ws", "/mcp"]) assert.ok(openapi.paths[path], `${path} is documented`);
  assert.ok("get" in (openapi.paths["/ws"] ?? {}) && "post" in (openapi.paths["/mcp"] ?? {}));
});

test("pending shows session names, --json failures are JSON, costs are rounded", async (t) => {
  const h = await startHarness(t);
  const env = { BATON_URL: h.url };
  const workDir = h.tempDir();
  const asker = await h.client.spawn({
    prompt: "@bash echo approved > guarded.txt\n@say wrote it",
    workDir,
    name: "asker",
    permissionMode: "default",
  });
  const spender = await h.client.spawn({
    prompt: "@bash true\n@bash true\n@say spent",
    workDir,
    allowedTools: ["Bash"],
  });
  await h.waitFor(isTopic("session.permission_requested", asker.id));

  const [pending, missing, usage, badFlag] = await Promise.all([
    runCli(["pending"], env, CLI_DEADLINE_MS),
    runCli(["show", "nobody", "--json"], env, CLI_DEADLINE_MS),
    runCli(["--json", "show"], env, CLI_DEADLINE_MS),
    runCli(["spawn", "x", "--budget", "-3", "--json"], env, CLI_DEADLINE_MS),
  ]);
  assert.equal(pending.code, 0, pending.stderr);
  assert.match(pending.stdout, /\basker +Bash\b/, "the session's name, where the user gave one");
  assert.doesNotMatch(pending.stdout, new RegExp(asker.id));

  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, "");
  assert.deepEqual(JSON.parse(missing.stderr), {
    error: { code: "SESSION_NOT_FOUND", message: 'no session with id or name "nobody"' },
  });
  assert.equal(usage.code, 2);
  assert.equal((JSON.parse(usage.stderr) as { error: { code: string } }).error.code, "USAGE");
  assert.equal(badFlag.code, 2);
  assert.match((JSON.parse(badFlag.stderr) as { error: { message: string } }).error.message, /--budget/);

  const end = await h.waitFor(isTurnEnd(spender.id));
  assert.equal(end.data.result, "spent");
  const shown = await runCli(["show", spender.id, "--json"], env, CLI_DEADLINE_MS);
  const events = await h.client.sessionEvents(spender.id);
  for (const json of [shown.stdout, JSON.stringify(end.data), JSON.stringify(events)]) {
    assert.doesNotMatch(json, UNROUNDED, "costs are rounded to the micro-dollar");
  }
  const cost = (JSON.parse(shown.stdout) as { costUsd: number }).costUsd;
  assert.ok(cost > 0 && cost === Math.round(cost * 1e6) / 1e6, `cost ${cost}`);
});
