import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { type FollowOptions, followEvents } from "../../src/client/event-stream.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { authHeaders } from "../support/auth.ts";
import { eachWriter, fanoutPid } from "../support/fanout.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";
import { range } from "./ws-probe.ts";

interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * Opens an SSE stream and resolves once the headers are in (the stream's cursor is fixed by then); `take`
 * reads messages until `enough` says stop, or a 10 s deadline. The stream is cancelled afterwards.
 */
async function openSse(t: TestContext, url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const timer = setTimeout(() => controller.abort(), 10_000);
  const response = await fetch(url, {
    headers: authHeaders({ accept: "text/event-stream", ...headers }),
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const stream = response.body
    ?.pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream());
  return {
    async take(enough: (messages: SseMessage[]) => boolean): Promise<SseMessage[]> {
      const messages: SseMessage[] = [];
      try {
        for await (const message of stream ?? []) {
          messages.push({ id: message.id, event: message.event, data: message.data });
          if (enough(messages)) break;
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      return messages;
    },
  };
}

/** `followEvents` on `/events` (reconnecting 50 ms after a drop) until `stop` or the end of the test. */
function follow(
  t: TestContext,
  h: Harness,
  options: Pick<FollowOptions, "onEvent" | "onReconnect">,
): { stop(): Promise<void> } {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const following = followEvents({
    url: h.url,
    token: h.token,
    path: "/events",
    signal: controller.signal,
    retryDelayMs: 50,
    ...options,
  });
  return {
    async stop() {
      controller.abort();
      await following;
    },
  };
}

async function readSse(
  t: TestContext,
  url: string,
  headers: Record<string, string>,
  enough: (messages: SseMessage[]) => boolean,
): Promise<SseMessage[]> {
  return (await openSse(t, url, headers)).take(enough);
}

eachWriter(
  "SSE: id is the seq, Last-Event-ID resumes exactly after it, published topics arrive",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    for (let index = 1; index <= 10; index += 1) await h.client.publish("lab.step", { index });
    const all = await readSse(t, `${h.url}/events?after=0`, {}, (messages) => messages.length === 10);
    assert.deepEqual(
      all.map((message) => Number(message.id)),
      range(1, 10),
    );
    assert.ok(all.every((message) => message.event === "lab.step"));
    const event = JSON.parse(all[3]?.data ?? "{}") as BatonEvent;
    assert.equal(event.seq, 4);
    assert.deepEqual(event.data, { index: 4 });

    // What EventSource sends on reconnect wins over ?after=; a stream with neither starts live.
    const resumed = await readSse(
      t,
      `${h.url}/events?after=1`,
      { "last-event-id": "7" },
      (m) => m.length === 3,
    );
    assert.deepEqual(
      resumed.map((message) => Number(message.id)),
      [8, 9, 10],
    );
    const live = await openSse(t, `${h.url}/events?topics=lab.*`);
    await h.client.publish("other.thing", {});
    await h.client.publish("lab.live", {});
    assert.deepEqual(
      (await live.take((messages) => messages.length === 1)).map((message) => message.event),
      ["lab.live"],
    );
  },
);

test("POST /events publishes outside session.* only", async (t) => {
  const h = await startHarness(t);
  const post = (body: unknown) =>
    fetch(`${h.url}/events`, {
      method: "POST",
      headers: authHeaders({ "content-type": "application/json" }),
      body: JSON.stringify(body),
    });
  const created = await post({ topic: "lab.stage_completed", data: { stage: 2 } });
  assert.equal(created.status, 201);
  const event = (await created.json()) as BatonEvent;
  assert.equal(event.topic, "lab.stage_completed");
  assert.deepEqual(event.data, { stage: 2 });
  const reserved = await post({ topic: "session.completed", data: {} });
  assert.equal(reserved.status, 400);
  assert.equal(((await reserved.json()) as { error: { code: string } }).error.code, "RESERVED_TOPIC");
  const malformed = await post({ topic: "Not A Topic", data: {} });
  assert.equal(malformed.status, 400);
  assert.equal((await h.client.events({ after: 0 })).events.length, 1);
});

eachWriter("SSE per session: only its events, output only when asked", async (t, settings) => {
  const h = await startHarness(t, settings);
  const session = await h.client.spawn({ prompt: "@say streamed", workDir: h.tempDir(), name: "streamer" });
  await h.client.spawn({ prompt: "@say other", workDir: h.tempDir() });
  const end = await h.waitFor(isTurnEnd(session.id));
  const done = (messages: SseMessage[]) => messages.some((message) => Number(message.id) === end.seq);
  const plain = await readSse(t, `${h.url}/sessions/streamer/events?after=0`, {}, done);
  const withOutput = await readSse(t, `${h.url}/sessions/streamer/events?after=0&output=true`, {}, done);
  const sessions = new Set(plain.map((message) => (JSON.parse(message.data) as BatonEvent).sessionId));
  assert.deepEqual([...sessions], [session.id]);
  assert.deepEqual(
    plain.map((message) => message.event),
    ["session.created", "session.spawned", "session.completed"],
  );
  assert.deepEqual(
    withOutput.map((message) => message.event),
    ["session.created", "session.spawned", "session.output", "session.completed"],
  );
});

eachWriter("stopping Baton ends open SSE streams itself", async (t, settings) => {
  const h = await startHarness(t, settings);
  const response = await fetch(`${h.url}/events`, { headers: authHeaders({ accept: "text/event-stream" }) });
  assert.equal(response.status, 200);
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let seen = "";
  while (!seen.includes(": connected")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += decoder.decode(chunk.value);
  }
  const stopped = h.baton.stop();
  // The server ends the stream (a clean end of the chunked body); a socket torn down under it makes read() reject.
  let outcome = "open";
  while (outcome === "open") {
    const chunk = await reader.read().catch((error: Error) => ({ failed: error.message }));
    if ("failed" in chunk) outcome = `torn down: ${chunk.failed}`;
    else if (chunk.done) outcome = "ended cleanly";
  }
  await stopped;
  assert.equal(outcome, "ended cleanly");
});

eachWriter(
  "an SSE stream opens with its cursor and sends heartbeats while idle; /health counts it",
  async (t, settings) => {
    const h = await startHarness(t, { ...settings, sseHeartbeatMs: 150 });
    for (let index = 0; index < 3; index += 1) await h.client.publish("idle.tick", { index });
    const controller = new AbortController();
    t.after(() => controller.abort());
    const deadline = setTimeout(() => controller.abort(), 10_000);
    const response = await fetch(`${h.url}/events`, {
      headers: authHeaders({ accept: "text/event-stream" }),
      signal: controller.signal,
    });
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    assert.ok(reader);
    let text = "";
    try {
      while ((text.match(/^: heartbeat$/gm) ?? []).length < 2) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += chunk.value;
      }
    } finally {
      clearTimeout(deadline);
    }
    assert.ok(text.startsWith(": connected\nid: 3\n\n"), `opens with the cursor it starts after: ${text}`);
    assert.equal((text.match(/^: heartbeat$/gm) ?? []).length, 2, "two heartbeats on an idle stream");
    assert.ok(!text.includes("data:"), "and nothing else");
    assert.deepEqual((await h.client.health()).subscribers, { websocket: 0, sse: 1 });
  },
);

eachWriter(
  "a follower whose stream drops before its first event resumes from where it started",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    const port = Number(new URL(h.url).port);
    await h.client.publish("before.follow", {});
    await h.client.publish("before.follow", {});
    const seen: number[] = [];
    const follower = follow(t, h, { onEvent: (event) => seen.push(event.seq) });
    await waitUntil(
      async () => (await h.client.health()).subscribers.sse === 1,
      10_000,
      "the follower is on",
    );
    await h.restart({ port });
    // Published before the follower is back: starting live again would skip it; its opening cursor does not.
    await h.client.publish("while.away", {});
    await waitUntil(() => seen.length > 0, 10_000, "the follower got the event from while it was away");
    await follower.stop();
    assert.deepEqual(seen, [3]);
  },
);

test("a stream that catches up while events keep coming moves to the fan-out process with no gap and no duplicate", async (t) => {
  const h = await startHarness(t, { fanoutProcess: true });
  const publisher = h.client;
  for (let index = 1; index <= 50; index += 1) await publisher.publish("lab.step", { index });
  // Publishing goes on while the stream replays, catches up and is handed over.
  let published = 50;
  const publishing = (async () => {
    while (published < 300) {
      published += 1;
      await publisher.publish(published % 3 === 0 ? "other.step" : "lab.step", { index: published });
    }
  })();
  const stream = await openSse(t, `${h.url}/events?after=10&topics=lab.*`);
  const last = 299; // the last seq on lab.* (300 is on other.step)
  const messages = await stream.take((got) => got.some((message) => Number(message.id) === last));
  await publishing;
  const expected = range(11, last).filter((seq) => seq % 3 !== 0 || seq <= 50);
  assert.deepEqual(
    messages.map((message) => Number(message.id)),
    expected,
  );
  assert.ok(fanoutPid(), "the fan-out process runs");
});

test("the fan-out process carries only streams that may see everything; if it dies, they resume in Baton and lose nothing", async (t) => {
  const aliceToken = "sse-alice-token-0000000000000000";
  const h = await startHarness(t, {
    fanoutProcess: true,
    tokens: [{ name: "alice", token: aliceToken, role: "user", owner: "alice" }],
  });
  const admin: number[] = [];
  const reconnects: string[] = [];
  const follower = follow(t, h, {
    onEvent: (event) => admin.push(event.seq),
    onReconnect: (_after, reason) => reconnects.push(reason),
  });
  // alice sees published topics and her own sessions only, so her stream stays in Baton's process.
  const alice = await openSse(t, `${h.url}/events?topics=lab.*`, { authorization: `Bearer ${aliceToken}` });
  await waitUntil(async () => (await h.client.health()).subscribers.sse === 2, 10_000, "both streams are on");
  await h.client.publish("lab.before", {});
  await waitUntil(() => admin.length === 1, 10_000, "the admin stream got the first event");

  const pid = fanoutPid();
  assert.ok(pid, "the admin stream's writer, the fan-out process, runs");
  process.kill(pid, "SIGKILL");
  await waitUntil(() => reconnects.length > 0, 10_000, "the admin stream ended with its writer");
  await h.client.publish("lab.after", {});
  await waitUntil(() => admin.length === 2, 10_000, "the resumed admin stream got the next event");
  assert.deepEqual(admin, [1, 2]);
  assert.equal(fanoutPid(), undefined, "no new fan-out process: Baton serves streams itself from now on");
  const aliceGot = await alice.take((messages) => messages.length === 2);
  assert.deepEqual(
    aliceGot.map((message) => message.event),
    ["lab.before", "lab.after"],
    "alice's stream, in Baton's process, never noticed",
  );
  await follower.stop();
});
