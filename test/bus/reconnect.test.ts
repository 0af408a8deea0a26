import assert from "node:assert/strict";
import { test } from "node:test";
import type { Baton } from "../../src/app.ts";
import { followEvents } from "../../src/client/event-stream.ts";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { eachWriter } from "../support/fanout.ts";
import { startHarness } from "../support/harness.ts";
import { waitUntil } from "../support/wait-until.ts";
import { range, WsProbe } from "./ws-probe.ts";

function publish(baton: Baton, topic: string, data: Record<string, unknown> = {}) {
  return baton.log.write(({ emitPublished }) => emitPublished(topic, data));
}

/** Produces `count` events at about one per millisecond, yielding so sockets and timers run meanwhile. */
async function produce(baton: Baton, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    await publish(baton, "churn.tick", { index });
    if (index % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// Baton's own process only: the test drops the sockets through Baton's WebSocket server, which does not
// hold the fan-out process's connections (their resume is the restart test's, below).
test("a client that drops and reconnects again and again ends with exactly the full sequence", async (t) => {
  const h = await startHarness(t);
  const controller = new AbortController();
  t.after(() => controller.abort());
  const viaLibrary: number[] = [];
  let reconnects = 0;
  const following = followEventsOverWs({
    url: h.url,
    token: h.token,
    after: 0,
    signal: controller.signal,
    retryDelayMs: 10,
    onEvent: (event) => viaLibrary.push(event.seq),
    onReconnect: () => {
      reconnects += 1;
    },
  });

  // A raw client that resumes from its last seq by hand: the server itself must not gap or repeat.
  const viaRaw: number[] = [];
  let rawConnections = 0;
  let current: WsProbe | undefined;
  const rawLoop = (async () => {
    while (!controller.signal.aborted) {
      current = await WsProbe.open(t, h.url).catch(() => undefined);
      if (!current) continue;
      // Stopped while this connection opened: the stop closed the previous one, so close this one here.
      if (controller.signal.aborted) {
        current.close();
        break;
      }
      rawConnections += 1;
      current.send({ type: "subscribe", id: "raw", after: viaRaw.at(-1) ?? 0 });
      await current.closed;
      viaRaw.push(...current.events("raw").map((event) => event.seq));
    }
  })();

  // Drop every socket from the server side every 40 ms while events are produced.
  const dropper = setInterval(() => {
    for (const socket of h.baton.server.websocketServer.clients) socket.terminate();
  }, 40);
  await produce(h.baton, 600);
  clearInterval(dropper);
  const latest = h.baton.log.bus.latestSeq;
  await waitUntil(() => viaLibrary.at(-1) === latest, 10_000, "the library follower caught up");
  await waitUntil(
    () => (current?.events("raw").at(-1)?.seq ?? viaRaw.at(-1)) === latest,
    10_000,
    "the raw client caught up",
  );
  controller.abort();
  current?.close();
  await Promise.all([following, rawLoop]);

  assert.ok(reconnects >= 5, `the follower reconnected repeatedly (${reconnects})`);
  assert.ok(rawConnections >= 5, `the raw client reconnected repeatedly (${rawConnections})`);
  assert.deepEqual(viaLibrary, range(1, latest));
  assert.deepEqual(viaRaw, range(1, latest));
});

eachWriter(
  "subscribers that reconnect with their last seq after a Baton restart lose nothing",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    const port = Number(new URL(h.url).port);
    const controller = new AbortController();
    t.after(() => controller.abort());
    const overWs: BatonEvent[] = [];
    const overSse: BatonEvent[] = [];
    const reasons: string[] = [];
    const common = { url: h.url, token: h.token, after: 0, signal: controller.signal, retryDelayMs: 50 };
    const followers = [
      followEventsOverWs({
        ...common,
        onEvent: (event) => overWs.push(event),
        onReconnect: (_, why) => reasons.push(why),
      }),
      followEvents({ ...common, path: "/events", onEvent: (event) => overSse.push(event) }),
    ];

    for (let index = 0; index < 50; index += 1) await publish(h.baton, "restart.before", { index });
    await waitUntil(() => overWs.length === 50 && overSse.length === 50, 10_000, "both followers saw 50");
    await h.restart({ port });
    for (let index = 0; index < 50; index += 1) await publish(h.baton, "restart.after", { index });
    const latest = h.baton.log.bus.latestSeq;
    assert.equal(latest, 100);
    await waitUntil(
      () => overWs.at(-1)?.seq === latest && overSse.at(-1)?.seq === latest,
      15_000,
      "caught up",
    );
    controller.abort();
    await Promise.all(followers);

    assert.deepEqual(
      overWs.map((event) => event.seq),
      range(1, 100),
    );
    assert.deepEqual(
      overSse.map((event) => event.seq),
      range(1, 100),
    );
    assert.ok(
      reasons.some((reason) => reason.includes("1001")),
      `the WebSocket follower was told Baton was going away: ${reasons.join("; ")}`,
    );
  },
);
