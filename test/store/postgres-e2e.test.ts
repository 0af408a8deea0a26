import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BatonApiError, type BatonClient } from "../../src/client/baton-client.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { createTestDatabase, postgresSkipReason } from "../support/postgres.ts";
import { isTopic, isTurnEnd } from "../support/wait-for-event.ts";

/** A real Baton (real `claude`, scripted model) whose only store is a fresh PostgreSQL database. */
const skip = await postgresSkipReason();

/** The whole log, `session.output` and its deltas included (the feed leaves them out unless asked). */
async function allEvents(client: BatonClient): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (let after = 0; ; ) {
    const page = await client.events({ after, limit: 5000, deltas: true });
    events.push(...page.events);
    if (page.events.length === 0) return events;
    after = page.events.at(-1)?.seq ?? after;
  }
}

function assertGapFree(events: BatonEvent[], label: string): void {
  assert.deepEqual(
    events.map((event) => event.seq),
    Array.from({ length: events.length }, (_, index) => index + 1),
    `${label}: seq is 1..N with no gap`,
  );
}

async function startOnPostgres(t: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const database = await createTestDatabase();
  let h: Harness;
  try {
    h = await startHarness(t, { db: database.url });
  } catch (error) {
    await database.drop();
    throw error;
  }
  // Registered after the harness's own cleanup, which runs first: Baton is stopped before its database goes.
  t.after(() => database.drop());
  return h;
}

test("Baton on PostgreSQL: spawn, follow-up, restart, and one gap-free seq throughout", {
  skip,
  timeout: 60_000,
}, async (t) => {
  const h = await startOnPostgres(t);
  const workDir = h.tempDir();
  const session = await h.client.spawn({
    prompt: "@bash echo hi > pg.txt\n@say done",
    workDir,
    name: "pg-worker",
  });
  const firstEnd = await h.waitFor(isTurnEnd(session.id));
  assert.equal(firstEnd.topic, "session.completed");
  assert.equal(readFileSync(join(workDir, "pg.txt"), "utf8").trim(), "hi");
  const { events: firstEvents } = await h.client.sessionEvents("pg-worker");
  assert.deepEqual(
    firstEvents.map((event) => event.topic),
    ["session.created", "session.spawned", "session.tool_use", "session.tool_done", "session.completed"],
  );
  assert.equal(firstEvents[2]?.data.name, "Bash");
  const shown = await h.client.get("pg-worker");
  assert.equal(shown.status, "completed");
  assert.equal(shown.result, "done");
  assert.ok(shown.costUsd > 0, `cost recorded: ${shown.costUsd}`);

  // A second live session may not take the name, even when several ask at the same moment.
  await assert.rejects(
    h.client.spawn({ prompt: "@say no", workDir, name: "pg-worker" }),
    (error: unknown) => error instanceof BatonApiError && error.status === 409 && error.code === "NAME_TAKEN",
  );
  const racers = await Promise.allSettled(
    [1, 2, 3, 4].map(() => h.client.spawn({ prompt: "@say twin", workDir: h.tempDir(), name: "pg-twin" })),
  );
  const winners = racers.filter((outcome) => outcome.status === "fulfilled");
  assert.equal(winners.length, 1, "exactly one concurrent spawn gets the name");
  for (const outcome of racers) {
    if (outcome.status === "fulfilled") continue;
    const error = outcome.reason as BatonApiError;
    assert.deepEqual([error.status, error.code], [409, "NAME_TAKEN"], String(error));
  }
  const twin = (await h.client.get("pg-twin")).id;
  await h.waitFor(isTurnEnd(twin));

  const receipt = await h.client.send("pg-worker", { text: "@say again" });
  const resumed = await h.waitFor(isTopic("session.resumed", session.id), { after: firstEnd.seq });
  assert.equal(resumed.data.messageId, receipt.messageId);
  const secondEnd = await h.waitFor(isTurnEnd(session.id), { after: resumed.seq });
  assert.equal(secondEnd.data.result, "again");

  const beforeRestart = await allEvents(h.client);
  assertGapFree(beforeRestart, "before the restart");
  await h.restart();

  const afterRestart = await h.client.get("pg-worker");
  assert.equal(afterRestart.status, "completed");
  assert.equal(afterRestart.result, "again");
  assert.equal(afterRestart.agentSessionId, shown.agentSessionId, "the same conversation");
  const kept = await allEvents(h.client);
  assert.deepEqual(kept.slice(0, beforeRestart.length), beforeRestart, "the log survived the restart");

  const latest = kept.at(-1)?.seq ?? 0;
  await h.client.send("pg-worker", { text: "@say after restart" });
  const thirdEnd = await h.waitFor(isTurnEnd(session.id), { after: latest });
  assert.equal(thirdEnd.topic, "session.completed");
  assert.equal(thirdEnd.data.result, "after restart");
  const everything = await allEvents(h.client);
  assertGapFree(everything, "across the restart");
  assert.ok(everything.length > kept.length);
  const body = JSON.stringify(h.mock.requests.at(-1)?.body);
  assert.match(body, /again/, "the resumed conversation still holds the earlier turns");
});
