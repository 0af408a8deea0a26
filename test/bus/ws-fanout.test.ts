import assert from "node:assert/strict";
import { test } from "node:test";
import { eachWriter, fanoutPid } from "../support/fanout.ts";
import { startHarness } from "../support/harness.ts";
import { range, WsProbe } from "./ws-probe.ts";

/**
 * WebSocket connections and the fan-out process (`fanoutProcess`): a connection that may see every event is
 * handed over before its upgrade is answered, and the child owns it whole; a confined one stays in Baton's
 * process. (Every WebSocket protocol test also runs with the fan-out process: ws-seam, ws-protocol,
 * reconnect.)
 */
const ALICE = "ws-alice-token-00000000000000000";

test("an admin's WebSocket is served by the fan-out process, a confined user's by Baton; if the child dies, only its connections end, and they resume in Baton with nothing lost", async (t) => {
  const h = await startHarness(t, {
    fanoutProcess: true,
    tokens: [{ name: "alice", token: ALICE, role: "user", owner: "alice" }],
  });
  const inBaton = () => h.baton.server.websocketServer.clients.size;
  const admin = await WsProbe.open(t, h.url);
  await admin.subscribe({ id: "lab", topics: ["lab.*"], after: 0 });
  const alice = await WsProbe.open(t, h.url, { token: ALICE });
  await alice.subscribe({ id: "lab", topics: ["lab.*"], after: 0 });
  assert.equal(inBaton(), 1, "only alice's connection is in Baton's process");
  assert.equal((await h.client.health()).subscribers.websocket, 2, "/health counts both");

  const first = await h.client.publish("lab.before", {});
  await Promise.all([admin.waitForSeq("lab", first.seq), alice.waitForSeq("lab", first.seq)]);
  const pid = fanoutPid();
  assert.ok(pid, "the fan-out process runs");
  process.kill(pid, "SIGKILL");
  const closed = await admin.closed;
  assert.equal(closed.code, 1006, "the admin's connection dropped with its process");

  // The admin resumes from its last seq, now in Baton's process (no new fan-out process is started).
  const second = await h.client.publish("lab.after", {});
  const resumed = await WsProbe.open(t, h.url);
  await resumed.subscribe({ id: "lab", topics: ["lab.*"], after: first.seq });
  await resumed.waitForSeq("lab", second.seq);
  assert.deepEqual(
    [...admin.events("lab"), ...resumed.events("lab")].map((event) => event.seq),
    [first.seq, second.seq],
  );
  assert.equal(inBaton(), 2, "alice's and the resumed connection");
  await alice.waitForSeq("lab", second.seq);
  assert.deepEqual(
    alice.events("lab").map((event) => event.topic),
    ["lab.before", "lab.after"],
    "alice's connection, in Baton's process, never noticed",
  );
  assert.equal(fanoutPid(), undefined);
});

eachWriter(
  "many subscriptions on one connection, subscribed and unsubscribed while events flow, each get exactly their seqs",
  async (t, settings) => {
    const h = await startHarness(t, settings);
    const probe = await WsProbe.open(t, h.url);
    const halfway = Promise.withResolvers<void>();
    const publishing = (async () => {
      for (let published = 1; published <= 400; published += 1) {
        await h.client.publish(published % 2 === 0 ? "even.tick" : "odd.tick", { index: published });
        if (published === 200) halfway.resolve();
      }
    })();
    // A subscription replayed from the start, one that joins mid-way, and one dropped mid-way.
    await probe.subscribe({ id: "even", topics: ["even.*"], after: 0 });
    await probe.subscribe({ id: "dropped", topics: ["*"], after: 0 });
    await halfway.promise;
    probe.send({ type: "unsubscribe", id: "dropped" });
    await probe.waitFor((frame) => frame.type === "unsubscribed" && frame.id === "dropped");
    await probe.subscribe({ id: "odd", topics: ["odd.*"], after: 100 });
    await publishing;
    await probe.waitForSeq("even", 400);
    await probe.waitForSeq("odd", 399);
    assert.deepEqual(
      probe.events("even").map((event) => event.seq),
      range(1, 400).filter((seq) => seq % 2 === 0),
    );
    assert.deepEqual(
      probe.events("odd").map((event) => event.seq),
      range(101, 400).filter((seq) => seq % 2 === 1),
    );
    const dropped = probe.events("dropped").map((event) => event.seq);
    assert.deepEqual(dropped, range(1, dropped.length), "the dropped one: a gap-free prefix, then nothing");
  },
);
