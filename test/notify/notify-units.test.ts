import assert from "node:assert/strict";
import { test } from "node:test";
import { planDeliveries } from "../../src/notify/delivery-plan.ts";
import { truncateText } from "../../src/notify/message-text.ts";
import { backoffDelay, classifyStatus, parseRetryAfter } from "../../src/notify/retry-policy.ts";
import { computeSignature, signedHeaders, verifySignature } from "../../src/notify/signing.ts";
import { guardTarget, isPrivateAddress, TargetRefusedError } from "../../src/notify/target-guard.ts";

const OLD_SECRET = `whsec_${Buffer.from("the-old-secret-key-bytes").toString("base64")}`;
const NEW_SECRET = "a-raw-secret-of-enough-length";

test("signatures follow Standard Webhooks and every configured secret signs (rotation)", () => {
  const body = JSON.stringify({ type: "session.completed", data: { result: "ok" } });
  const headers = signedHeaders([OLD_SECRET, NEW_SECRET], "msg_1", 1_700_000_000, body);
  assert.equal(headers["webhook-id"], "msg_1");
  assert.equal(headers["webhook-timestamp"], "1700000000");
  const parts = headers["webhook-signature"]?.split(" ") ?? [];
  assert.equal(parts.length, 2);
  // whsec_ secrets sign with their base64-decoded bytes, as the spec's reference libraries do.
  assert.equal(parts[0], `v1,${computeSignature(OLD_SECRET, "msg_1", 1_700_000_000, body)}`);
  for (const secret of [OLD_SECRET, NEW_SECRET]) {
    const input = {
      secret,
      id: "msg_1",
      timestamp: "1700000000",
      signatureHeader: headers["webhook-signature"] ?? "",
      body,
      nowSeconds: 1_700_000_010,
    };
    assert.equal(verifySignature(input), true, "each receiver secret verifies");
    assert.equal(verifySignature({ ...input, body: `${body} ` }), false, "a changed body fails");
    assert.equal(verifySignature({ ...input, id: "msg_2" }), false, "another id fails");
    assert.equal(verifySignature({ ...input, nowSeconds: 1_700_001_000 }), false, "a stale timestamp fails");
  }
  assert.equal(signedHeaders([], "msg_1", 1, body)["webhook-signature"], undefined);
});

test("retry policy: doubling backoff with a cap, Retry-After in seconds or as a date, status classes", () => {
  const settings = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 5, jitter: false };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, settings)),
    [100, 200, 400, 800, 1000, 1000],
  );
  const jittered = backoffDelay(2, { ...settings, jitter: true }, () => 1);
  assert.equal(jittered, 240);
  assert.equal(parseRetryAfter("7"), 7000);
  const now = Date.parse("2030-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.deepEqual([200, 204, 301, 400, 404, 408, 410, 429, 500, 503].map(classifyStatus), [
    "delivered",
    "delivered",
    "rejected",
    "rejected",
    "rejected",
    "retry",
    "gone",
    "retry",
    "retry",
    "retry",
  ]);
});

test("the SSRF guard refuses private, loopback, link-local and CGNAT targets unless allowed", () => {
  for (const address of [
    "127.0.0.1",
    "10.1.2.3",
    "172.20.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
  ]) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ["::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"]) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1", "::ffff:8.8.8.8"]) {
    assert.equal(isPrivateAddress(address), false, address);
  }
  const strict = { allowPrivateTargets: false, outboundAllowlist: [] };
  assert.throws(() => guardTarget(new URL("http://127.0.0.1:9/x"), strict), TargetRefusedError);
  assert.throws(() => guardTarget(new URL("http://[::1]:9/x"), strict), TargetRefusedError);
  assert.throws(() => guardTarget(new URL("ftp://example.com/x"), strict), TargetRefusedError);
  assert.equal(guardTarget(new URL("https://8.8.8.8/x"), strict), undefined, "public literal: no lookup");
  assert.equal(
    typeof guardTarget(new URL("https://example.com/x"), strict),
    "function",
    "names: checked at connect",
  );
  const allowlisted = { allowPrivateTargets: false, outboundAllowlist: ["127.0.0.1"] };
  assert.equal(guardTarget(new URL("http://127.0.0.1:9/x"), allowlisted), undefined);
  assert.equal(
    guardTarget(new URL("http://10.0.0.1/x"), { allowPrivateTargets: true, outboundAllowlist: [] }),
    undefined,
  );
});

test("long text is cut at a line break and says how much was left out", () => {
  const text = Array.from({ length: 400 }, (_, i) => `line ${i} of the result`).join("\n");
  const cut = truncateText(text, 1000);
  assert.ok(cut.length <= 1000, `${cut.length} characters`);
  assert.match(cut, /\n… \(\d+ more characters not shown\)$/);
  assert.match(cut.split("\n").at(-2) ?? "", /^line \d+ of the result$/, "no line is cut in half");
  assert.equal(truncateText("short", 1000), "short");
});

test("a runIdentifier session's completion becomes a callback to the templated URL", () => {
  const event = {
    seq: 9,
    topic: "session.completed",
    sessionId: "ses_1",
    ts: "2030-01-01T00:00:00.000Z",
    data: { result: "all green", costUsd: 0.5, turns: 3 },
  };
  const session = { id: "ses_1", name: "builder", owner: "ci", runIdentifier: "RUN 5", config: {} };
  const [callback, ...rest] = planDeliveries(event, session, {
    callbackUrlTemplate: "https://lab.example/runs/{runIdentifier}/stages/complete?s={sessionId}",
    notifyDefaults: [],
  });
  assert.equal(rest.length, 0);
  assert.equal(callback?.channel, "callback");
  assert.equal(callback?.target, "https://lab.example/runs/RUN%205/stages/complete?s=ses_1");
  assert.deepEqual((callback as { payload: { data: Record<string, unknown> } }).payload.data, {
    runIdentifier: "RUN 5",
    sessionId: "ses_1",
    sessionName: "builder",
    status: "completed",
    summary: "all green",
    costUsd: 0.5,
    turns: 3,
    eventSeq: 9,
  });
});
