import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import type { BatonApiError } from "../../src/client/baton-client.ts";
import { agentEnvFor, startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

test("the coordination verbs work from an agent's shell (BATON_SESSION_ID) and say what they need", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const parent = await h.client.spawn({ prompt: "@say parent", workDir });
  const child = await h.client.spawn({
    prompt: "@say child",
    workDir,
    parentSessionId: parent.id,
    name: "kid",
  });
  await Promise.all([parent, child].map((session) => h.waitFor(isTurnEnd(session.id))));
  const as = (self: string | undefined) => ({
    BATON_URL: h.url,
    BATON_SESSION_ID: self,
    BATON_TOKEN: h.token,
  });

  // Each CLI start costs a second or more of CPU: one parallel batch for everything that reads.
  const [children, others, alone, noSelf, named] = await Promise.all([
    runCli(["children"], as(parent.id)),
    runCli(["others"], as(child.id)),
    runCli(["alone"], as(child.id)),
    runCli(["name", "nobody"], as(undefined)),
    runCli(["name", "boss"], as(parent.id)),
  ]);
  assert.equal(children.code, 0, children.stderr);
  assert.match(children.stdout, new RegExp(`kid +${child.id} +completed`));
  assert.equal(others.code, 0, others.stderr);
  assert.match(others.stdout, new RegExp(parent.id));
  assert.doesNotMatch(others.stdout, new RegExp(child.id), "others excludes the caller");
  assert.equal(alone.code, 1, "not alone: exit 1");
  assert.match(alone.stdout, /^not alone:/);
  assert.equal(noSelf.code, 2);
  assert.match(noSelf.stderr, /BATON_SESSION_ID is not set/);

  // name renames the caller; a name a live session holds is refused (409 NAME_TAKEN).
  assert.equal(named.code, 0, named.stderr);
  assert.equal((await h.client.get(parent.id)).name, "boss");
  await assert.rejects(h.client.rename(child.id, "boss"), (error: BatonApiError) => {
    assert.equal(error.status, 409);
    assert.equal(error.code, "NAME_TAKEN");
    return true;
  });
  const renamed = await h.client.sessionEvents(parent.id, { topics: ["session.renamed"] });
  assert.deepEqual(renamed.events[0]?.data, { from: null, to: "boss" });

  // The workDir filter is exact (SQLite's LIKE ignores case; the service re-checks).
  assert.equal((await h.client.list({ workDir })).sessions.length, 2);
  assert.equal((await h.client.list({ workDir: workDir.toUpperCase() })).sessions.length, 0);
  assert.equal((await h.client.list({ workDir: `${workDir}x` })).sessions.length, 0);
  await assert.rejects(h.client.list({ workDir: "relative/dir" }), (error: BatonApiError) => {
    assert.equal(error.status, 400);
    return true;
  });

  // With the child gone the parent is alone; wait goes through to the API.
  await h.client.kill(child.id);
  const [aloneNow, waited] = await Promise.all([
    runCli(["alone", "--json"], as(parent.id)),
    runCli(["wait", "kid", "30"], as(parent.id)),
  ]);
  assert.equal(aloneNow.code, 0, aloneNow.stderr);
  assert.equal((JSON.parse(aloneNow.stdout) as { alone: boolean }).alone, true);
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stdout, /^waiting for kid until \S+ \(wait_\w+\)/);
});

test("an agent's shell has Baton's own CLI on its PATH, with no npm link and no global install", async (t) => {
  const h = await startHarness(t);
  // The agents' PATH without any `baton` this machine may have (npm link, a global install).
  const bare = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !existsSync(join(dir, "baton")))
    .join(delimiter);
  await h.restart({ agentEnv: { ...agentEnvFor(h.root), PATH: bare } });
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: "@bash command -v baton > where.txt; baton status > status.txt 2>&1\n@say done",
    workDir,
    allowedTools: ["Bash"],
  });
  const end = await h.waitFor(isTurnEnd(session.id));
  assert.equal(end.topic, "session.completed");
  const where = readFileSync(join(workDir, "where.txt"), "utf8").trim();
  assert.equal(where, join(h.root, "home", "bin", "baton"), "the shim in $BATON_HOME/bin comes first");
  const status = readFileSync(join(workDir, "status.txt"), "utf8");
  assert.match(status, new RegExp(`id: +${session.id}`), status);
  assert.match(status, /status: +running/, "the agent saw itself mid-turn through the API");
});
