import assert from "node:assert/strict";
import { test } from "node:test";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance } from "fastify";
import type { AccessControl } from "../../src/access/access-control.ts";
import { registerAccessControl } from "../../src/api/access-hooks.ts";
import { BrowserGuard } from "../../src/api/browser-guard.ts";
import { WS_CLOSE, WS_LIMITS } from "../../src/api/ws/ws-protocol.ts";
import { registerWsRoute, WS_PLUGIN_OPTIONS } from "../../src/api/ws/ws-route.ts";
import { BatonApiError, BatonClient } from "../../src/client/baton-client.ts";
import { followEventsOverWs } from "../../src/client/ws-follow.ts";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { eachWriter } from "../support/fanout.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { WsProbe } from "./ws-probe.ts";

eachWriter("garbage frames get an error frame and the connection stays usable", async (t, settings) => {
  const h = await startHarness(t, settings);
  const probe = await WsProbe.open(t, h.url);
  const garbage = [
    "not json at all",
    "[1,2,3]",
    '{"type":"subscribe","topics":"lab.*"}',
    '{"type":"dance"}',
    '{"type":"subscribe","topics":["Bad Topic!"]}',
    '{"type":"subscribe","after":-1}',
    '{"type":"unsubscribe","id":"never-made"}',
    Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  ];
  for (const frame of garbage) probe.send(frame);
  await probe.waitFor(() => probe.frames.filter((frame) => frame.type === "error").length === garbage.length);
  const errors = probe.frames.flatMap((frame) => (frame.type === "error" ? [frame] : []));
  assert.match(errors[0]?.message ?? "", /not JSON/);
  assert.match(errors[2]?.message ?? "", /topics/);
  assert.match(errors[3]?.message ?? "", /type/);
  assert.match(errors[6]?.message ?? "", /no subscription "never-made"/);
  assert.match(errors[7]?.message ?? "", /binary/);
  assert.ok(errors.every((error) => error.code === "VALIDATION_FAILED"));

  assert.ok(probe.isOpen, "still open after garbage");
  probe.send({ type: "ping" });
  await probe.waitFor((frame) => frame.type === "pong");
  await probe.subscribe({ id: "after-garbage", topics: ["lab.*"] });
  const event = await h.client.publish("lab.ok", {});
  await probe.waitForSeq("after-garbage", event.seq);
});

eachWriter("a frame over the 64 KiB limit closes the connection with 1009", async (t, settings) => {
  const h = await startHarness(t, settings);
  const probe = await WsProbe.open(t, h.url);
  probe.send({ type: "subscribe", topics: ["lab.*"], id: "x".repeat(WS_LIMITS.maxPayloadBytes) });
  const closed = await probe.closed;
  assert.equal(closed.code, WS_CLOSE.messageTooBig);
  // The server is fine: the next client is served.
  const next = await WsProbe.open(t, h.url);
  await next.subscribe({ id: "fine", topics: ["*"] });
});

eachWriter(
  "/ws needs the bearer header like every other route; a token in the URL is refused",
  async (t, settings) => {
    const token = "bus-test-token-123";
    const h = await startHarness(t, { ...settings, token });
    await assert.rejects(WsProbe.open(t, h.url, { token: false }), /HTTP 401/);
    await assert.rejects(WsProbe.open(t, h.url, { token: "wrong-token-000" }), /HTTP 401/);
    const byHeader = await WsProbe.open(t, h.url, { token });
    await byHeader.subscribe({ id: "a", topics: ["*"] });
    // A token in the URL would end up in logs and browser history: even the right one is not accepted.
    await assert.rejects(WsProbe.open(t, h.url, { token: false, query: `?token=${token}` }), /HTTP 401/);

    // The client library says 401 instead of retrying forever, and follows with the right token.
    const controller = new AbortController();
    t.after(() => controller.abort());
    const follow = (withToken: string, onEvent: (event: BatonEvent) => void) =>
      followEventsOverWs({ url: h.url, token: withToken, after: 0, signal: controller.signal, onEvent });
    await assert.rejects(
      follow("wrong-token-000000", () => undefined),
      (error: unknown) => error instanceof BatonApiError && error.status === 401,
    );
    const published = await publishWithToken(h.url, token);
    let seen: BatonEvent | undefined;
    const following = follow(token, (event) => {
      seen = event;
      controller.abort();
    });
    await following;
    assert.equal(seen?.seq, published.seq);
  },
);

async function publishWithToken(url: string, token: string): Promise<BatonEvent> {
  return new BatonClient({ url, token }).publish("lab.secret", {});
}

test("a peer that stops answering pings is terminated", async (t) => {
  const h = await startHarness(t);
  // A second server on the same log, with a fast ping, so the test does not wait 60 s.
  const app = Fastify();
  await app.register(websocket, WS_PLUGIN_OPTIONS);
  registerWsRoute(app, { log: h.baton.log, access: accessFor(app, h), pingIntervalMs: 100 });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  t.after(() => app.close());

  const alive = await WsProbe.open(t, url);
  const deaf = await WsProbe.open(t, url, { autoPong: false });
  await deaf.subscribe({ id: "d", topics: ["*"] });
  const closed = await deaf.closed;
  assert.equal(closed.code, 1006, "terminated, no close handshake");
  assert.ok(alive.isOpen, "a peer that answers stays");
  alive.close();
  await alive.closed;
});

/** Baton's own access control (same store, same tokens) on a bare server, as buildServer wires it. */
function accessFor(app: FastifyInstance, h: Harness): AccessControl {
  const guard = new BrowserGuard({ boundHost: "127.0.0.1", allowedHosts: [], allowedOrigins: [] });
  registerAccessControl(app, { access: h.baton.access, guard });
  return h.baton.access;
}

eachWriter("stopping Baton closes WebSocket clients with 1001 and stays fast", async (t, settings) => {
  const h = await startHarness(t, settings);
  const probes = await Promise.all([1, 2, 3].map(() => WsProbe.open(t, h.url)));
  for (const probe of probes) await probe.subscribe({ id: "a", topics: ["*"], after: 0 });
  const started = Date.now();
  await h.baton.stop();
  assert.ok(Date.now() - started < 2000, `stop took ${Date.now() - started} ms`);
  for (const probe of probes) assert.equal((await probe.closed).code, WS_CLOSE.goingAway);
});
