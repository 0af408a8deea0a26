import assert from "node:assert/strict";
import { test } from "node:test";
import { WS_CLOSE } from "../../src/api/ws/ws-protocol.ts";
import type { Baton } from "../../src/app.ts";
import { startHarness } from "../support/harness.ts";
import { range, WsProbe } from "./ws-probe.ts";

function publish(baton: Baton, topic: string, data: Record<string, unknown> = {}) {
  return baton.log.write(({ emitPublished }) => emitPublished(topic, data));
}

test("a consumer that cannot keep up is cut off with 4008 while fast ones keep receiving", async (t) => {
  const h = await startHarness(t);
  const fast = await Promise.all([1, 2].map(() => WsProbe.open(t, h.url)));
  const slow = await WsProbe.open(t, h.url);
  for (const probe of [...fast, slow]) await probe.subscribe({ id: "all", topics: ["bulk.*"] });
  slow.pause(); // stops reading: the kernel buffers fill, then Baton's send buffer grows

  // 32 KiB events until the slow one is over its 4 MiB bound (kernel buffers take some first).
  const payload = "x".repeat(32 * 1024);
  let published = 0;
  const isCut = () => [...h.baton.server.websocketServer.clients].some((socket) => socket.readyState !== 1);
  while (!isCut() && published < 4000) {
    await publish(h.baton, "bulk.blob", { payload });
    published += 1;
    if (published % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(isCut(), `the slow consumer was cut off (after ${published} events)`);
  for (let index = 0; index < 20; index += 1) await publish(h.baton, "bulk.after", { index });
  const latest = h.baton.log.bus.latestSeq;

  for (const probe of fast) {
    await probe.waitForSeq("all", latest, 20_000);
    assert.deepEqual(
      probe.events("all").map((event) => event.seq),
      range(latest - published - 19, latest),
    );
    assert.ok(probe.isOpen);
  }
  slow.resume();
  const closed = await slow.closed;
  assert.equal(closed.code, WS_CLOSE.tooSlow);
  assert.match(closed.reason, /too slow/);
  const got = slow.events("all").map((event) => event.seq);
  // It keeps what was queued before the cut (a gap-free prefix), and nothing after it.
  assert.ok(got.length <= published, `the slow one got ${got.length} of ${published + 20}`);
  assert.deepEqual(got, range(latest - published - 19, latest - published - 20 + got.length));
});
