import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { BatonClient } from "../../src/client/baton-client.ts";
import { WsProbe } from "../bus/ws-probe.ts";
import { TEST_TOKEN } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

/** A raw HTTP request, so the test controls `Host` (fetch would set it from the URL). */
function raw(
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

test("a web page cannot drive Baton: DNS rebinding, cross-site WebSocket, SSE and form posts are refused", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const spawn = JSON.stringify({ prompt: "@say hi", workDir });
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };

  await t.test("Host: evil.example (DNS rebinding) is 421, even with a valid token", async () => {
    const answer = await raw(`${h.url}/sessions`, {
      method: "POST",
      headers: { ...auth, host: "evil.example:8420", "content-type": "application/json" },
      body: spawn,
    });
    assert.equal(answer.status, 421);
    assert.match(answer.body, /HOST_NOT_ALLOWED/);
    assert.equal((await h.client.list()).sessions.length, 0, "nothing was spawned");
  });

  await t.test("a WebSocket from a foreign Origin is refused at the upgrade", async () => {
    await assert.rejects(WsProbe.open(t, h.url, { headers: { origin: "http://evil.example" } }), /HTTP 403/);
    const own = await WsProbe.open(t, h.url, { headers: { origin: h.url } });
    await own.subscribe({ id: "ok", topics: ["*"] });
    own.close();
  });

  await t.test(
    "an event stream or a state change from a foreign Origin is 403; Baton's own origin is fine",
    async () => {
      const sse = await fetch(`${h.url}/events`, {
        headers: { ...auth, accept: "text/event-stream", origin: "http://evil.example" },
      });
      assert.equal(sse.status, 403);
      const form = await fetch(`${h.url}/sessions`, {
        method: "POST",
        headers: {
          ...auth,
          origin: "http://evil.example",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "prompt=hi&workDir=/tmp",
      });
      assert.equal(form.status, 403);
      assert.equal(((await form.json()) as { error: { code: string } }).error.code, "ORIGIN_NOT_ALLOWED");
      const sameOrigin = await fetch(`${h.url}/events`, {
        method: "POST",
        headers: { ...auth, origin: h.url, "content-type": "application/json" },
        body: JSON.stringify({ topic: "browser.ok", data: {} }),
      });
      assert.equal(sameOrigin.status, 201);
    },
  );

  await t.test("a token in the URL query is never accepted", async () => {
    const answer = await fetch(`${h.url}/sessions?token=${TEST_TOKEN}`);
    assert.equal(answer.status, 401);
  });
});

test("a user subscribed to * sees only its own owner's events, in replay and live", async (t) => {
  const aliceToken = "alice-token-for-stream-test-000";
  const h = await startHarness(t, {
    tokens: [{ name: "alice", token: aliceToken, role: "user", owner: "alice" }],
  });
  const alice = new BatonClient({ url: h.url, token: aliceToken });
  const before = await h.client.spawn({ prompt: "@say bob before", workDir: h.tempDir(), owner: "bob" });
  const mine = await alice.spawn({ prompt: "@say mine", workDir: h.tempDir() });
  assert.equal(mine.owner, "alice", "a user spawns as its own owner");
  await h.waitFor(isTurnEnd(before.id));
  await h.waitFor(isTurnEnd(mine.id));

  const probe = await WsProbe.open(t, h.url, { token: aliceToken });
  await probe.subscribe({ id: "all", topics: ["*"], after: 0 });
  const after = await h.client.spawn({ prompt: "@say bob after", workDir: h.tempDir(), owner: "bob" });
  await h.waitFor(isTurnEnd(after.id));
  const marker = await h.client.publish("fleet.marker", {});
  await probe.waitForSeq("all", marker.seq);
  const sessions = new Set(probe.events("all").map((event) => event.sessionId));
  assert.ok(sessions.has(mine.id), "alice sees her own session");
  assert.ok(!sessions.has(before.id), "no event of bob's earlier session (replay)");
  assert.ok(!sessions.has(after.id), "no event of bob's later session (live)");

  const listed = await alice.list();
  assert.deepEqual(
    listed.sessions.map((session) => session.id),
    [mine.id],
  );
  const page = await alice.events({});
  assert.ok(page.events.every((event) => event.sessionId === undefined || event.sessionId === mine.id));
});

test("allowedRoots is checked on the real path: a symlink to /etc inside a root is refused", async (t) => {
  const probe = await startHarness(t);
  const root = probe.tempDir("root-");
  mkdirSync(join(root, "project"));
  symlinkSync("/etc", join(root, "escape"));
  await probe.restart({ allowedRoots: [root] });
  const ok = await probe.client.spawn({ prompt: "@say inside", workDir: join(root, "project") });
  await probe.waitFor(isTurnEnd(ok.id));
  const refused = await fetch(`${probe.url}/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ prompt: "@say hi", workDir: join(root, "escape") }),
  });
  assert.equal(refused.status, 400);
  const { error } = (await refused.json()) as { error: { code: string; message: string } };
  assert.equal(error.code, "WORKDIR_NOT_ALLOWED");
  assert.match(error.message, /its real path is \/etc/);
});

test("a user's own roots narrow where it may spawn, on real paths too", async (t) => {
  const aliceToken = "alice-token-for-roots-test-0000";
  const first = await startHarness(t);
  const mine = first.tempDir("alice-root-");
  const elsewhere = first.tempDir("elsewhere-");
  symlinkSync(elsewhere, join(mine, "link-out"));
  await first.restart({
    tokens: [{ name: "alice", token: aliceToken, role: "user", owner: "alice", roots: [mine] }],
  });
  const alice = new BatonClient({ url: first.url, token: aliceToken });
  const inside = await alice.spawn({ prompt: "@say in my root", workDir: mine });
  await first.waitFor(isTurnEnd(inside.id));
  for (const workDir of [elsewhere, join(mine, "link-out")]) {
    const refused = await fetch(`${first.url}/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${aliceToken}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "@say hi", workDir }),
    });
    assert.equal(refused.status, 400, workDir);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "WORKDIR_NOT_ALLOWED");
  }
  const admin = await first.client.spawn({ prompt: "@say anywhere", workDir: elsewhere });
  await first.waitFor(isTurnEnd(admin.id));
});
