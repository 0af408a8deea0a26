import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { listDescendants } from "../../src/runner/process-tree.ts";
import { serveArgs, startBatonProcess, stopBatonProcess } from "../support/baton-process.ts";
import { assertNoLeakedProcesses } from "../support/leak-guard.ts";
import { processFixture } from "../support/process-fixture.ts";
import { runCli } from "../support/run-cli.ts";
import { spawnSlowSessions } from "../support/slow-sessions.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

/** The session's process once its tool (a shell loop) is running under it. */
async function waitForMidTool(client: BatonClient, id: string): Promise<number> {
  return waitUntil(
    async () => {
      const pid = (await client.get(id)).pid;
      return pid && listDescendants(pid).length > 0 ? pid : undefined;
    },
    20_000,
    `${id} mid-tool`,
  );
}

/** A live WebSocket subscriber (the client library `baton watch` uses), collecting what it receives. */
function subscribe(url: string, token: string) {
  const controller = new AbortController();
  const received: BatonEvent[] = [];
  const done = followEventsOverWs({
    url,
    token,
    after: 0,
    output: true,
    signal: controller.signal,
    onEvent: (event) => received.push(event),
  });
  return { received, stop: () => controller.abort(), done };
}

test("a second baton serve on the same home exits 2 naming the first, which carries on untouched", async (t) => {
  const fixture = await processFixture(t, "baton-home-lock-");
  const { root, settings } = fixture;
  const first = await startBatonProcess(settings);
  fixture.baton = first;
  const client = new BatonClient({ url: first.url, token: first.token });
  assert.doesNotMatch(first.logs(), /no model credentials/, "credentials configured: no warning");
  await client.publish("lab.before", {});
  const feed = subscribe(first.url, first.token);
  await waitUntil(() => feed.received.length > 0, 10_000, "the subscriber is live");
  const [id] = await spawnSlowSessions(client, 1, () => mkdtempSync(join(root, "work-")));
  assert.ok(id);
  const pid = await waitForMidTool(client, id);

  const second = await runCli(serveArgs({ ...settings, logLevel: "info" }));
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`in use by Baton pid ${first.pid} at ${first.url}`));
  assert.match(second.stderr, /one Baton per database/);
  assert.doesNotMatch(second.stderr, /listening|at .*\.ts:\d+/, "refused before listening, no stack trace");

  // The first one's session was not resumed or killed by the second: it finishes its tool and its turn.
  const end = await waitForEvent({ url: first.url, session: id, timeoutMs: 60_000 }, isTurnEnd(id));
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal((await client.get(id)).pid, pid, "still the process it started with");
  await client.publish("lab.after", {});
  await waitUntil(
    () => feed.received.some((event) => event.topic === "lab.after"),
    10_000,
    "the live subscriber still receives",
  );
  feed.stop();
  await feed.done;
  const { events } = await client.events({ limit: 1000, output: true });
  assert.equal(
    events.some((event) => event.topic === "session.resumed"),
    false,
    "nothing was resumed by the refused server",
  );
  assert.equal(events.filter((event) => event.topic === "session.spawned").length, 1);
  // The subscriber got every event from its first one on, in order, none missing.
  const firstSeen = feed.received[0]?.seq ?? 0;
  assert.deepEqual(
    feed.received.map((event) => event.seq),
    events.filter((event) => event.seq >= firstSeen).map((event) => event.seq),
  );
});

test("the lock goes with its process: kill -9 then a start recovers as before; a graceful stop releases it", async (t) => {
  const fixture = await processFixture(t, "baton-home-lock-");
  const { root, settings } = fixture;
  let baton = await startBatonProcess(settings);
  fixture.baton = baton;
  let client = new BatonClient({ url: baton.url, token: baton.token });
  const [id] = await spawnSlowSessions(client, 1, () => mkdtempSync(join(root, "work-")));
  assert.ok(id);
  await waitForMidTool(client, id);

  baton.child.kill("SIGKILL");
  await baton.exited;
  baton = await startBatonProcess(settings);
  fixture.baton = baton;
  client = new BatonClient({ url: baton.url, token: baton.token });
  const end = await waitForEvent({ url: baton.url, session: id, timeoutMs: 60_000 }, isTurnEnd(id));
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  const { events } = await client.sessionEvents(id, { limit: 1000 });
  assert.ok(
    events.some((event) => event.topic === "session.resumed" && event.data.reason === "baton_restarted"),
    "resumed after the kill -9",
  );

  await stopBatonProcess(baton);
  assert.equal((await baton.exited).code, 0);
  baton = await startBatonProcess(settings);
  fixture.baton = baton;
  assert.equal((await new BatonClient({ url: baton.url, token: baton.token }).get(id)).status, "completed");
  await stopBatonProcess(baton);
  assertNoLeakedProcesses(t.fullName);
});
