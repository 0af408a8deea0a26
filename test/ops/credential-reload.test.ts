// SIGHUP on a real `baton serve`: the configuration file is read again for the model credentials, and the
// sessions a refused credential parked resume with the new one.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BatonClient } from "../../src/client/index.ts";
import { startBatonProcess } from "../support/baton-process.ts";
import { processFixture } from "../support/process-fixture.ts";
import { isTopic, waitForEvent } from "../support/wait-for-event.ts";

test("SIGHUP re-reads the config file's model key: a session parked on a refused key resumes", async (t) => {
  const fixture = await processFixture(t, "baton-sighup-");
  const { root } = fixture;
  // The key lives only in the file (flags would win over it on the reload too).
  const { anthropicApiKey: _key, ...settings } = fixture.settings;
  const configFile = join(root, "baton.json");
  writeFileSync(configFile, JSON.stringify({ anthropicApiKey: "old-key" }));
  const baton = await startBatonProcess(settings, 60_000, { env: { BATON_CONFIG: configFile } });
  fixture.baton = baton;
  const client = new BatonClient({ url: baton.url, token: baton.token });
  const wait = (predicate: Parameters<typeof waitForEvent>[1], timeoutMs = 60_000) =>
    waitForEvent({ url: baton.url, token: baton.token, timeoutMs }, predicate);

  const session = await client.spawn({
    prompt: "@revoked old-key\n@say with the new key",
    workDir: mkdtempSync(join(root, "work-")),
  });
  const parked = await wait(isTopic("session.parked", session.id));
  assert.equal(parked.data.kind, "auth");
  assert.equal((await client.get(session.id)).waitingOn?.kind, "auth");

  writeFileSync(configFile, JSON.stringify({ anthropicApiKey: "new-key" }));
  process.kill(baton.pid, "SIGHUP");
  const done = await wait(isTopic("session.completed", session.id));
  assert.equal(done.data.result, "with the new key");
  assert.match(baton.logs(), /SIGHUP: model credentials reloaded/);
});
