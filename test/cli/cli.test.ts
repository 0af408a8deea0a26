import assert from "node:assert/strict";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

test("the CLI spawns, lists, shows, follows up and kills a session", async (t) => {
  const h = await startHarness(t);
  const env = { BATON_URL: h.url, BATON_SESSION_ID: undefined };
  const workDir = h.tempDir();

  const spawned = await runCli(
    ["spawn", "@say hello from the cli", "--workdir", workDir, "--name", "clia", "--budget", "2", "--json"],
    env,
  );
  assert.equal(spawned.code, 0, spawned.stderr);
  const session = JSON.parse(spawned.stdout) as {
    id: string;
    name: string;
    config: { maxBudgetUsd: number };
  };
  assert.equal(session.name, "clia");
  assert.equal(session.config.maxBudgetUsd, 2);
  await h.waitFor(isTurnEnd(session.id));

  const listed = await runCli(["ls"], env);
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, /^NAME\s+ID\s+STATUS\s+OWNER\s+TURNS\s+COST\s+AGE/m);
  assert.match(listed.stdout, /clia\s+ses_\S+\s+completed\s+anonymous\s+1\s+\$0\.\d{4}/);

  const shown = await runCli(["show", "clia"], env);
  assert.equal(shown.code, 0);
  assert.match(shown.stdout, /status:\s+completed/);
  assert.match(shown.stdout, /result:\s+hello from the cli/);

  const sent = await runCli(["send", "clia", "@say second turn"], env);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /message \S+ (delivered|queued)/);
  await h.waitFor((event) => event.topic === "session.completed" && event.data.result === "second turn");

  const events = await runCli(["events", "clia", "--json"], env);
  const page = JSON.parse(events.stdout) as { events: Array<{ topic: string }> };
  assert.deepEqual(
    page.events.map((event) => event.topic),
    [
      "session.created",
      "session.spawned",
      "session.completed",
      "session.message_queued",
      "session.resumed",
      "session.message_delivered",
      "session.completed",
    ],
  );
  const readable = await runCli(["events", "clia"], env);
  assert.match(readable.stdout, /session\.completed second turn \(\$0\.\d+, 2 turns\)/);

  const killed = await runCli(["kill", "clia"], env);
  assert.equal(killed.code, 0);
  assert.match(killed.stdout, /clia killed/);
  const again = await runCli(["send", "clia", "hello?"], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /was killed; it accepts no more messages \[SESSION_ENDED\]/);
});

test("the CLI explains failures with exit codes: unknown session, bad input, no server", async (t) => {
  const h = await startHarness(t);
  const unknown = await runCli(["show", "nobody"], { BATON_URL: h.url });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no session with id or name "nobody" \[SESSION_NOT_FOUND\]/);

  const badInput = await runCli(["spawn", "x", "--workdir", "/definitely/not/here"], { BATON_URL: h.url });
  assert.equal(badInput.code, 2);
  assert.match(badInput.stderr, /workDir \/definitely\/not\/here does not exist/);

  const badFlag = await runCli(["spawn", "x", "--budget", "-3"], { BATON_URL: h.url });
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--budget.*greater than 0/);

  const down = await runCli(["ls"], { BATON_URL: "http://127.0.0.1:9" });
  assert.equal(down.code, 3);
  assert.match(down.stderr, /cannot reach Baton at http:\/\/127\.0\.0\.1:9.*baton serve/);
});

test("--help teaches each command", async () => {
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  for (const verb of [
    "serve",
    "spawn",
    "ls",
    "show",
    "send",
    "interrupt",
    "kill",
    "events",
    "config",
    "mock-model",
  ]) {
    assert.match(top.stdout, new RegExp(`^\\s+${verb}\\b`, "m"), `${verb} is listed`);
  }
  assert.match(top.stdout, /Exit codes:/);
  const spawn = await runCli(["spawn", "--help"]);
  assert.match(spawn.stdout, /--workdir <dir>/);
  assert.match(spawn.stdout, /Example:/);
});

test("configuration: flags beat env beat file; invalid or unknown settings exit 2 naming the setting", async (t) => {
  const h = await startHarness(t);
  const file = `${h.tempDir("config-")}/baton.yaml`;
  const { writeFileSync } = await import("node:fs");
  writeFileSync(file, "maxConcurrent: 3\nmaxPerOwner: 1\ntoken: file-token-123\n");

  const effective = await runCli(["config", "--config", file, "--json", "--set", "maxPerOwner=5"], {
    BATON_MAX_CONCURRENT: "7",
  });
  assert.equal(effective.code, 0, effective.stderr);
  const config = JSON.parse(effective.stdout) as Record<string, unknown>;
  assert.equal(config.maxConcurrent, 7, "env beats the file");
  assert.equal(config.maxPerOwner, 5, "a flag beats env and file");
  assert.equal(config.token, "***", "secrets are masked");

  const invalid = await runCli(["serve", "--port", "0"], { BATON_MAX_CONCURRENT: "lots" });
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /invalid setting "maxConcurrent"/);

  const unknown = await runCli(["serve", "--set", "maxConcurency=3"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /invalid setting "maxConcurency": unknown setting/);

  const unknownEnv = await runCli(["config", "--local"], { BATON_MAX_CONCURENCY: "3" });
  assert.equal(unknownEnv.code, 2);
  assert.match(unknownEnv.stderr, /BATON_MAX_CONCURENCY.*unknown setting/);

  const exposed = await runCli(["serve", "--host", "0.0.0.0", "--port", "0"], { BATON_TOKEN: undefined });
  assert.equal(exposed.code, 2);
  assert.match(exposed.stderr, /requires BATON_TOKEN/);
});
