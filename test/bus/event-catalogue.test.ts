import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EVENT_PAYLOADS, type EventData } from "../../src/events/catalogue.ts";
import { EventLog } from "../../src/events/event-log.ts";
import { openStore } from "../../src/store/open-store.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";

test("a Baton event whose payload drifts from its topic's schema is refused, naming the field; caller topics pass", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "baton-catalogue-"));
  const store = await openStore(join(dir, "baton.db"));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const log = await EventLog.open(store, undefined, { validate: true });
  // A wrong type where the schema wants a number: cast, as only a bug (or an old caller) would send it.
  const drifted = { position: "first" } as unknown as EventData<"session.queued">;
  await assert.rejects(
    log.write(({ emit }) => emit("session.queued", "ses_x", drifted)),
    /session\.queued: position: .*number/,
  );
  assert.equal((await log.read({ after: 0 })).events.length, 0, "nothing of the refused write is stored");
  await log.write(({ emit }) => emit("session.queued", "ses_x", { position: 1 }));
  await log.write(({ emitPublished }) => emitPublished("lab.anything", { free: ["form"] }));
  const topics = (await log.read({ after: 0 })).events.map((event) => event.topic);
  assert.deepEqual(topics, ["session.queued", "lab.anything"]);
});

interface TopicSchema {
  const?: string;
  enum?: string[];
}

test("the OpenAPI document publishes the event union, one variant per topic, and lock. topics are reserved", async (t) => {
  const h = await startHarness(t);
  const openapi = (await (await fetch(`${h.url}/openapi.json`)).json()) as {
    components: { schemas: { BatonEvent: { oneOf: { properties: { topic: TopicSchema } }[] } } };
  };
  // OpenAPI 3.0 has no `const`: the document may spell a literal as a one-value enum.
  const variants = openapi.components.schemas.BatonEvent.oneOf.map(
    ({ properties: { topic } }) => topic.const ?? topic.enum?.[0],
  );
  assert.deepEqual(variants.sort(), Object.keys(EVENT_PAYLOADS).sort());
  for (const topic of ["lock.acquired", "session.completed"]) {
    const response = await fetch(`${h.url}/events`, {
      method: "POST",
      headers: authHeaders({ "content-type": "application/json" }, h.token),
      body: JSON.stringify({ topic, data: {} }),
    });
    assert.equal(response.status, 400, topic);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "RESERVED_TOPIC");
  }
});
