import assert from "node:assert/strict";
import type { Baton } from "../../src/app.ts";
import { eachWriter } from "../support/fanout.ts";
import { startHarness } from "../support/harness.ts";
import { range, WsProbe } from "./ws-probe.ts";

function publish(baton: Baton, topic: string, data: Record<string, unknown> = {}) {
  return baton.log.write(({ emitPublished }) => emitPublished(topic, data));
}

eachWriter(
  "replay and live join with no gap and no duplicate while events keep arriving mid-replay",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    for (let index = 1; index <= 1200; index += 1) await publish(h.baton, "lab.tick", { index });

    // Writers keep appending while three clients replay (several pages each) from different cursors.
    let writing = true;
    const writer = (async () => {
      let written = 0;
      while (writing || written < 300) {
        await publish(h.baton, "lab.tick", { live: written });
        written += 1;
        if (written % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const cursors = [0, 600, 1199];
    const probes = await Promise.all(cursors.map(() => WsProbe.open(t, h.url)));
    await Promise.all(probes.map((probe, index) => probe.subscribe({ id: "all", after: cursors[index] })));
    writing = false;
    await writer;
    const latest = h.baton.log.bus.latestSeq;
    assert.ok(latest >= 1500, `events kept arriving (${latest})`);

    for (const [index, probe] of probes.entries()) {
      await probe.waitForSeq("all", latest);
      const cursor = cursors[index] ?? 0;
      assert.deepEqual(
        probe.events("all").map((event) => event.seq),
        range(cursor + 1, latest),
        `client from #${cursor} saw every seq once, in order`,
      );
    }
  },
);

eachWriter(
  "a subscription without a cursor starts live; one connection holds several and can unsubscribe",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    await publish(h.baton, "lab.before");
    const probe = await WsProbe.open(t, h.url);
    await probe.subscribe({ id: "lab", topics: ["lab.*"] });
    await probe.subscribe({ id: "build", topics: ["build.done"], after: 0 });
    const subscribed = probe.frames.find((frame) => frame.type === "subscribed" && frame.id === "lab");
    assert.deepEqual(subscribed, { type: "subscribed", id: "lab", after: 1 });

    await publish(h.baton, "lab.one");
    const build = await publish(h.baton, "build.done");
    await probe.waitForSeq("build", build.seq);
    await probe.waitForSeq("lab", 2);
    probe.send({ type: "unsubscribe", id: "lab" });
    await probe.waitFor((frame) => frame.type === "unsubscribed" && frame.id === "lab");
    await publish(h.baton, "lab.two");
    const last = await publish(h.baton, "build.done");
    await probe.waitForSeq("build", last.seq);

    assert.deepEqual(
      probe.events("lab").map((event) => event.topic),
      ["lab.one"],
    );
    assert.deepEqual(
      probe.events("build").map((event) => event.seq),
      [build.seq, last.seq],
    );
    // A subscription id is the client's: reusing a live one is refused, a free one is reused fine.
    probe.send({ type: "subscribe", id: "build", topics: ["*"] });
    const refused = await probe.waitFor((frame) => frame.type === "error" && frame.subscription === "build");
    assert.match(refused.type === "error" ? refused.message : "", /in use/);
    await probe.subscribe({ id: "lab", topics: ["lab.*"], after: 0 });
    await probe.waitForSeq("lab", last.seq - 1);
  },
);
