import assert from "node:assert/strict";
import { test } from "node:test";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";

interface ErrorBody {
  error: { code: string; message: string };
}

async function post(url: string, body: string, contentType = "application/json") {
  const response = await fetch(url, {
    method: "POST",
    headers: authHeaders({ "content-type": contentType }),
    body,
  });
  return { status: response.status, body: (await response.json()) as ErrorBody };
}

test("bad spawn requests get a 4xx naming the problem and write nothing", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const cases: Array<{ what: string; body: string; status: number; code: string; mention: RegExp }> = [
    {
      what: "missing prompt",
      body: JSON.stringify({ workDir }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /prompt/,
    },
    {
      what: "empty prompt",
      body: JSON.stringify({ prompt: "  ", workDir }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /prompt/,
    },
    {
      what: "relative workDir",
      body: JSON.stringify({ prompt: "x", workDir: "proj" }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /workDir.*absolute/,
    },
    {
      what: "missing workDir",
      body: JSON.stringify({ prompt: "x", workDir: `${workDir}/nope` }),
      status: 400,
      code: "WORKDIR_NOT_FOUND",
      mention: /workDir .*does not exist/,
    },
    {
      what: "negative budget",
      body: JSON.stringify({ prompt: "x", workDir, maxBudgetUsd: -1 }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /maxBudgetUsd/,
    },
    {
      what: "unknown field",
      body: JSON.stringify({ prompt: "x", workDir, budget: 3 }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /budget/,
    },
    {
      what: "malformed JSON",
      body: '{"prompt": "x", workDir',
      status: 400,
      code: "INVALID_JSON",
      mention: /not valid JSON/,
    },
    {
      what: "bad permission mode",
      body: JSON.stringify({ prompt: "x", workDir, permissionMode: "yolo" }),
      status: 400,
      code: "VALIDATION_FAILED",
      mention: /permissionMode/,
    },
  ];
  for (const item of cases) {
    const { status, body } = await post(`${h.url}/sessions`, item.body);
    assert.equal(status, item.status, `${item.what}: status`);
    assert.equal(body.error.code, item.code, `${item.what}: code`);
    assert.match(
      body.error.message,
      item.mention,
      `${item.what}: message names the problem (${body.error.message})`,
    );
  }
  const page = await h.client.list();
  assert.equal(page.sessions.length, 0, "no session was written");
  assert.equal((await h.client.events()).events.length, 0, "no event was written");
  assert.equal(h.mock.requests.length, 0);
});

test("unknown sessions are 404 everywhere; names are unique among live sessions", async (t) => {
  const h = await startHarness(t);
  for (const [method, path] of [
    ["GET", "/sessions/ghost"],
    ["GET", "/sessions/ses_0000000000000000000/events"],
    ["POST", "/sessions/ghost/messages"],
    ["POST", "/sessions/ghost/interrupt"],
    ["POST", "/sessions/ghost/kill"],
    ["DELETE", "/sessions/ghost"],
  ] as const) {
    const body = path.endsWith("/messages")
      ? JSON.stringify({ text: "hi" })
      : method === "GET" || method === "DELETE"
        ? undefined
        : "{}";
    const response = await fetch(`${h.url}${path}`, {
      method,
      headers: authHeaders(body ? { "content-type": "application/json" } : {}),
      ...(body ? { body } : {}),
    });
    assert.equal(response.status, 404, `${method} ${path}`);
    const json = (await response.json()) as ErrorBody;
    assert.equal(json.error.code, "SESSION_NOT_FOUND");
  }

  const workDir = h.tempDir();
  const first = await h.client.spawn({ prompt: "@say one", workDir, name: "solo" });
  const { status, body } = await post(
    `${h.url}/sessions`,
    JSON.stringify({ prompt: "@say two", workDir, name: "solo" }),
  );
  assert.equal(status, 409);
  assert.equal(body.error.code, "NAME_TAKEN");
  // Once killed, the name is free again, and the name resolves to the live session.
  await h.client.kill("solo");
  const second = await h.client.spawn({ prompt: "@say two", workDir, name: "solo" });
  assert.notEqual(second.id, first.id);
  assert.equal((await h.client.get("solo")).id, second.id);
  await h.client.kill("solo");
});

test("publishing: reserved and malformed topics are refused, others are stored and listed", async (t) => {
  const h = await startHarness(t);
  const reserved = await post(`${h.url}/events`, JSON.stringify({ topic: "session.fake", data: {} }));
  assert.equal(reserved.status, 400);
  assert.equal(reserved.body.error.code, "RESERVED_TOPIC");
  const malformed = await post(`${h.url}/events`, JSON.stringify({ topic: "Not A Topic", data: {} }));
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.error.message, /topic/);
  const event = await h.client.publish("lab.stage_completed", { stage: 3 });
  assert.equal(event.topic, "lab.stage_completed");
  const page = await h.client.events({ topics: ["lab.*"] });
  assert.deepEqual(
    page.events.map((e) => e.data),
    [{ stage: 3 }],
  );
});

test("health, OpenAPI and docs are served from the same schemas", async (t) => {
  const h = await startHarness(t);
  const health = await h.client.health();
  assert.equal(health.ok, true);
  assert.equal(health.sessions.running, 0);
  const openapi = (await (await fetch(`${h.url}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } }>
    >;
  };
  assert.match(openapi.openapi, /^3\./);
  const spawnSchema = openapi.paths["/sessions"]?.post?.requestBody?.content["application/json"]?.schema;
  assert.deepEqual(spawnSchema?.required?.sort(), ["prompt", "workDir"]);
  assert.ok(openapi.paths["/sessions/{idOrName}/messages"]);
  const docs = await fetch(`${h.url}/docs`, { redirect: "follow" });
  assert.equal(docs.status, 200);
  assert.match(await docs.text(), /swagger/i);
});

test("with a token, every route but /health needs the bearer token", async (t) => {
  const h = await startHarness(t, { token: "s3cret-token-value" });
  assert.equal((await fetch(`${h.url}/health`)).status, 200);
  const denied = await fetch(`${h.url}/sessions`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as ErrorBody).error.code, "UNAUTHENTICATED");
  assert.equal(
    (await fetch(`${h.url}/sessions`, { headers: { authorization: "Bearer wrong-token-value" } })).status,
    401,
  );
  const allowed = await fetch(`${h.url}/sessions`, {
    headers: { authorization: "Bearer s3cret-token-value" },
  });
  assert.equal(allowed.status, 200);
});
