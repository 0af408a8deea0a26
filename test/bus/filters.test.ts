import assert from "node:assert/strict";
import { test } from "node:test";
import type { Baton } from "../../src/app.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { WsProbe } from "./ws-probe.ts";

function publish(baton: Baton, topic: string, data: Record<string, unknown> = {}) {
  return baton.log.write(({ emitPublished }) => emitPublished(topic, data));
}

test("exact topics and wildcards deliver exactly the matching topics", async (t) => {
  const h = await startHarness(t);
  const topics = ["lab.a", "lab.b.c", "labx.y", "build.done", "lab", "deploy.lab.a"];
  for (const topic of topics) await h.client.publish(topic, { topic }); // POST /events, the public way in
  const latest = h.baton.log.bus.latestSeq;
  const probe = await WsProbe.open(t, h.url);
  const subscriptions: Record<string, string[]> = {
    exact: ["lab.a"],
    prefix: ["lab.*"],
    everything: ["*"],
    none: [],
    several: ["build.done", "lab.a"],
    nested: ["deploy.*"],
  };
  for (const [id, patterns] of Object.entries(subscriptions))
    await probe.subscribe({ id, topics: patterns, after: 0 });
  const marker = await publish(h.baton, "zz.marker"); // every "*" subscriber is complete once it has this
  await probe.waitForSeq("everything", marker.seq);
  await probe.waitForSeq("none", marker.seq);
  await publish(h.baton, "lab.a");
  await probe.waitForSeq("exact", latest + 2);

  const seen = (id: string) => probe.events(id).map((event) => event.topic);
  assert.deepEqual(seen("exact"), ["lab.a", "lab.a"]);
  assert.deepEqual(seen("prefix"), ["lab.a", "lab.b.c", "lab.a"]);
  assert.deepEqual(seen("everything"), [...topics, "zz.marker", "lab.a"]);
  assert.deepEqual(seen("none"), [...topics, "zz.marker", "lab.a"], "no topics means every topic");
  assert.deepEqual(seen("several"), ["lab.a", "build.done", "lab.a"]);
  assert.deepEqual(seen("nested"), ["deploy.lab.a"]);
});

test("a session filter (by name or id) delivers only that session; output goes only to who asked", async (t) => {
  const h = await startHarness(t);
  const probe = await WsProbe.open(t, h.url);
  const first = await h.client.spawn({ prompt: "@say hi from one", workDir: h.tempDir(), name: "one" });
  const second = await h.client.spawn({ prompt: "@say hi from two", workDir: h.tempDir(), name: "two" });
  await probe.subscribe({ id: "one-by-name", session: "one", after: 0, output: true });
  await probe.subscribe({ id: "one-by-id", session: first.id, after: 0 });
  await probe.subscribe({ id: "all-with-output", topics: ["session.*"], after: 0, output: true });
  await probe.subscribe({ id: "all-lifecycle", topics: ["session.*"], after: 0 });
  await probe.subscribe({ id: "only-output", topics: ["session.output"], after: 0 });
  const ends = await Promise.all([h.waitFor(isTurnEnd(first.id)), h.waitFor(isTurnEnd(second.id))]);
  const last = Math.max(...ends.map((end) => end.seq));
  for (const id of ["all-with-output", "all-lifecycle"]) await probe.waitForSeq(id, last);
  await probe.waitForSeq("one-by-name", ends[0]?.seq ?? 0);
  await probe.waitForSeq("one-by-id", ends[0]?.seq ?? 0);

  const topicsOf = (id: string, sessionId?: string) =>
    probe
      .events(id)
      .filter((event) => sessionId === undefined || event.sessionId === sessionId)
      .map((event) => event.topic);
  assert.ok(
    probe.events("one-by-name").every((event) => event.sessionId === first.id),
    "only session one's events",
  );
  assert.deepEqual(topicsOf("one-by-name"), [
    "session.created",
    "session.spawned",
    "session.output",
    "session.completed",
  ]);
  assert.deepEqual(topicsOf("one-by-id"), ["session.created", "session.spawned", "session.completed"]);
  assert.deepEqual(topicsOf("all-with-output", second.id), topicsOf("one-by-name"));
  assert.equal(topicsOf("all-lifecycle").includes("session.output"), false, "output is opt-in");
  assert.deepEqual(topicsOf("only-output"), ["session.output", "session.output"], "or asked for by topic");
  const output = probe.events("one-by-name").find((event) => event.topic === "session.output");
  assert.equal(output?.data.text, "hi from one");

  // Not sent is not lost: output is stored like every other event.
  const stored = await h.client.sessionEvents("two", { output: true });
  assert.ok(stored.events.some((event) => event.topic === "session.output"));

  probe.send({ type: "subscribe", id: "ghost", session: "no-such-session" });
  const refused = await probe.waitFor((frame) => frame.type === "error" && frame.subscription === "ghost");
  assert.equal(refused.type === "error" && refused.code, "SESSION_NOT_FOUND");
});
