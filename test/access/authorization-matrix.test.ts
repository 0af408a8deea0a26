import assert from "node:assert/strict";
import { test } from "node:test";
import { declaredRoutes } from "../../src/api/access-hooks.ts";
import { WsProbe } from "../bus/ws-probe.ts";
import { signLikeSlack } from "../support/fake-slack.ts";
import { runCli } from "../support/run-cli.ts";
import { CALLERS, type Caller, type Fleet, SLACK_SIGNING_SECRET, startFleet } from "./fleet.ts";

/**
 * Who may do what, as one table: every route and verb, the callers allowed, and the status an allowed call
 * gets. Everyone else gets 401 (no or unknown token) or 403. Rows are written by hand from the contract's
 * roles table (docs/security.md), not computed from the policy, so the test can disagree with the code.
 * State-changing calls target K, a killed session of alice's tree, so an allowed call changes nothing
 * (it answers 409 or 404 after passing authorization).
 */
const EVERYONE: readonly Caller[] = [
  "none",
  "wrong",
  "admin",
  "viewer",
  "alice",
  "bob",
  "agentR",
  "agentC",
  "agentB",
];
const AUTHENTICATED: readonly Caller[] = ["admin", "viewer", "alice", "bob", "agentR", "agentC", "agentB"];
const WRITERS: readonly Caller[] = ["admin", "alice", "bob", "agentR", "agentC", "agentB"];
const FLEET_READERS: readonly Caller[] = ["admin", "viewer"];
/** May read alice's tree: admins, viewers, alice, and agents of alice's sessions. */
const READ_ALICE: readonly Caller[] = ["admin", "viewer", "alice", "agentR", "agentC"];
/** May message alice's sessions: the same, less the viewer. */
const SEND_ALICE: readonly Caller[] = ["admin", "alice", "agentR", "agentC"];
/** May act on K (a child of R): admins, its owner, and the agent that spawned it. Not its sibling C. */
const OVER_K: readonly Caller[] = ["admin", "alice", "agentR"];
/** May act on R with descendant-only verbs: no agent, since R's own agent may not act on itself. */
const OVER_R: readonly Caller[] = ["admin", "alice"];

interface Row {
  method: string;
  url: string;
  allowed: readonly Caller[];
  /** The status an allowed caller gets. */
  status: number;
  path: (f: Fleet) => string;
  body?: (f: Fleet) => unknown;
  headers?: Record<string, string>;
  /** Sign the body as Slack does (the signature is the credential; a Baton token is sent alongside or not). */
  slackSigned?: true;
}

const SPAWN_BODY = () => ({ prompt: "@say hi", workDir: "/nonexistent/matrix" });
const MCP_LIST = () => ({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
const SLACK_EVENTS = {
  method: "POST",
  url: "/slack/events",
  allowed: EVERYONE,
  path: () => "/slack/events",
  body: () => ({ type: "url_verification", challenge: "matrix" }),
} as const;
const MCP_HEADERS = { accept: "application/json, text/event-stream" };

const ROWS: Row[] = [
  { method: "GET", url: "/health", allowed: EVERYONE, status: 200, path: () => "/health" },
  { method: "GET", url: "/openapi.json", allowed: EVERYONE, status: 200, path: () => "/openapi.json" },
  // Fleet-wide spend and counts: admins and viewers (metricsPublic, off here, would open /metrics).
  { method: "GET", url: "/metrics", allowed: FLEET_READERS, status: 200, path: () => "/metrics" },
  { method: "GET", url: "/usage", allowed: FLEET_READERS, status: 200, path: () => "/usage?groupBy=owner" },
  { method: "GET", url: "/nodes", allowed: FLEET_READERS, status: 200, path: () => "/nodes" },
  { method: "GET", url: "/docs", allowed: EVERYONE, status: 200, path: () => "/docs/" },
  // The dashboard's page holds no data (built by npm install; its assets are covered below).
  { method: "GET", url: "/", allowed: EVERYONE, status: 200, path: () => "/" },
  // Logging in is open; an unknown token or a spent code is 401 for everyone.
  {
    method: "POST",
    url: "/login",
    allowed: EVERYONE,
    status: 401,
    path: () => "/login",
    body: () => ({ token: "matrix-never-a-token-000000" }),
  },
  { method: "GET", url: "/login", allowed: EVERYONE, status: 401, path: () => "/login?code=spent" },
  { method: "POST", url: "/logout", allowed: EVERYONE, status: 204, path: () => "/logout" },
  { method: "POST", url: "/login-links", allowed: AUTHENTICATED, status: 201, path: () => "/login-links" },
  { method: "GET", url: "/whoami", allowed: AUTHENTICATED, status: 200, path: () => "/whoami" },
  { method: "GET", url: "/config", allowed: FLEET_READERS, status: 200, path: () => "/config" },
  { method: "GET", url: "/sessions", allowed: AUTHENTICATED, status: 200, path: () => "/sessions" },
  // Allowed spawns fail on the missing workDir, after authorization: nothing is started.
  {
    method: "POST",
    url: "/sessions",
    allowed: WRITERS,
    status: 400,
    path: () => "/sessions",
    body: SPAWN_BODY,
  },
  {
    method: "POST",
    url: "/sessions/spawn",
    allowed: WRITERS,
    status: 400,
    path: () => "/sessions/spawn",
    body: SPAWN_BODY,
  },
  {
    method: "GET",
    url: "/sessions/:idOrName",
    allowed: READ_ALICE,
    status: 200,
    path: (f) => `/sessions/${f.ids.K}`,
  },
  {
    method: "PATCH",
    url: "/sessions/:idOrName",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}`,
    body: () => ({ name: "k-alice" }),
  },
  {
    method: "DELETE",
    url: "/sessions/:idOrName",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}`,
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/kill",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}/kill`,
    body: () => ({}),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/interrupt",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}/interrupt`,
    body: () => ({}),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/interrupt",
    allowed: OVER_R,
    status: 409,
    path: (f) => `/sessions/${f.ids.R}/interrupt`,
    body: () => ({}),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/messages",
    allowed: SEND_ALICE,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}/messages`,
    body: () => ({ text: "hello" }),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/wait",
    allowed: OVER_K,
    status: 202,
    path: (f) => `/sessions/${f.ids.K}/wait`,
    body: (f) => ({ target: f.ids.R, timeoutSeconds: 1 }),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/clear",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}/clear`,
    body: () => ({}),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/lock",
    allowed: OVER_K,
    status: 409,
    path: (f) => `/sessions/${f.ids.K}/lock`,
    body: () => ({ reason: "matrix" }),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/unlock",
    allowed: OVER_K,
    status: 200,
    path: (f) => `/sessions/${f.ids.K}/unlock`,
    body: () => ({}),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/permissions/:requestId",
    allowed: OVER_K,
    status: 404,
    path: (f) => `/sessions/${f.ids.K}/permissions/perm_none`,
    body: () => ({ decision: "allow" }),
  },
  {
    method: "POST",
    url: "/sessions/:idOrName/permissions/:requestId",
    allowed: OVER_R,
    status: 404,
    path: (f) => `/sessions/${f.ids.R}/permissions/perm_none`,
    body: () => ({ decision: "allow" }),
  },
  {
    method: "GET",
    url: "/sessions/:idOrName/events",
    allowed: READ_ALICE,
    status: 200,
    path: (f) => `/sessions/${f.ids.K}/events`,
  },
  {
    method: "GET",
    url: "/sessions/:idOrName/what",
    allowed: READ_ALICE,
    status: 200,
    path: (f) => `/sessions/${f.ids.K}/what`,
  },
  { method: "GET", url: "/events", allowed: AUTHENTICATED, status: 200, path: () => "/events" },
  {
    method: "GET",
    url: "/events",
    allowed: READ_ALICE,
    status: 200,
    path: (f) => `/events?session=${f.ids.K}`,
  },
  {
    method: "POST",
    url: "/events",
    allowed: WRITERS,
    status: 201,
    path: () => "/events",
    body: () => ({ topic: "matrix.ping", data: {} }),
  },
  // No session holds the key and no template is given: allowed callers get 400, after authorization.
  {
    method: "POST",
    url: "/keys/:key/messages",
    allowed: WRITERS,
    status: 400,
    path: () => "/keys/matrix:none/messages",
    body: () => ({ text: "hello" }),
  },
  { method: "GET", url: "/keys/:key", allowed: AUTHENTICATED, status: 404, path: () => "/keys/matrix:none" },
  {
    method: "GET",
    url: "/sessions/:idOrName/messages/:messageId",
    allowed: READ_ALICE,
    status: 404,
    path: (f) => `/sessions/${f.ids.K}/messages/msg_none`,
  },
  {
    method: "GET",
    url: "/sessions/:idOrName/messages",
    allowed: READ_ALICE,
    status: 200,
    path: (f) => `/sessions/${f.ids.K}/messages`,
  },
  { method: "GET", url: "/permissions", allowed: AUTHENTICATED, status: 200, path: () => "/permissions" },
  { method: "GET", url: "/locks", allowed: AUTHENTICATED, status: 200, path: () => "/locks" },
  {
    method: "POST",
    url: "/mcp",
    allowed: AUTHENTICATED,
    status: 200,
    path: () => "/mcp",
    body: MCP_LIST,
    headers: MCP_HEADERS,
  },
  { method: "GET", url: "/mcp", allowed: AUTHENTICATED, status: 405, path: () => "/mcp" },
  // Slack's Events API: a Baton token opens nothing; only Slack's signature does, whoever else sends one.
  { ...SLACK_EVENTS, status: 401 },
  { ...SLACK_EVENTS, status: 200, slackSigned: true },
  { method: "DELETE", url: "/mcp", allowed: AUTHENTICATED, status: 405, path: () => "/mcp" },
];

/** Routes the table covers by other means: `/ws` below (an upgrade), Swagger UI's assets by `/docs`. */
/** The WebSocket (its own tests) and static files: Swagger UI's and the dashboard's hashed assets. */
const COVERED_ELSEWHERE = (url: string) =>
  url === "/ws" || url.startsWith("/docs/") || url === "/docs/*" || url === "/assets/*";

function expected(row: Row, caller: Caller): number {
  if (row.allowed.includes(caller)) return row.status;
  return caller === "none" || caller === "wrong" ? 401 : 403;
}

test("every route has a row in the authorization table, and every row a route", async (t) => {
  const f = await startFleet(t);
  const routes = declaredRoutes(f.h.baton.server).filter((route) => route.method !== "HEAD");
  const rowKeys = new Set(ROWS.map((row) => `${row.method} ${row.url}`));
  for (const route of routes) {
    if (COVERED_ELSEWHERE(route.url)) {
      if (route.url !== "/ws") assert.equal(route.action, "open", `${route.url} is a static asset`);
      continue;
    }
    assert.ok(
      rowKeys.has(`${route.method} ${route.url}`),
      `no authorization row for ${route.method} ${route.url}`,
    );
  }
  const routeKeys = new Set(routes.map((route) => `${route.method} ${route.url}`));
  for (const key of rowKeys) assert.ok(routeKeys.has(key), `row ${key} names no route`);

  await t.test("each caller gets the exact status on every route", async () => {
    const mismatches: string[] = [];
    for (const row of ROWS) {
      for (const caller of CALLERS) {
        const token = f.token[caller];
        const body = row.body?.(f);
        const signed = row.slackSigned ? signLikeSlack(body, SLACK_SIGNING_SECRET) : undefined;
        const response = await fetch(`${f.h.url}${row.path(f)}`, {
          method: row.method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...row.headers,
            ...signed?.headers,
          },
          ...(body !== undefined ? { body: signed?.body ?? JSON.stringify(body) } : {}),
        });
        await response.arrayBuffer();
        const want = expected(row, caller);
        if (response.status !== want) {
          mismatches.push(`${row.method} ${row.path(f)} as ${caller}: ${response.status}, expected ${want}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
  });

  await t.test("a refusal names the principal, the action and the session", async () => {
    const response = await fetch(`${f.h.url}/sessions/${f.ids.K}/kill`, {
      method: "POST",
      headers: { authorization: `Bearer ${f.token.bob}`, "content-type": "application/json" },
      body: "{}",
    });
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, "FORBIDDEN");
    assert.match(error.message, /^user:bob may not kill session "k-alice" \(ses_/);
  });

  await t.test("live streams: SSE on a session, as each caller", async () => {
    for (const caller of CALLERS) {
      const token = f.token[caller];
      const controller = new AbortController();
      const response = await fetch(`${f.h.url}/sessions/${f.ids.K}/events`, {
        headers: { accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: controller.signal,
      });
      const want = READ_ALICE.includes(caller) ? 200 : caller === "none" || caller === "wrong" ? 401 : 403;
      assert.equal(response.status, want, `SSE as ${caller}`);
      controller.abort();
    }
  });

  await t.test(
    "WebSocket: the upgrade needs a token, a session subscription needs the right to read it",
    async () => {
      for (const caller of CALLERS) {
        const token = f.token[caller];
        if (!token || caller === "wrong") {
          await assert.rejects(WsProbe.open(t, f.h.url, { token: token ?? false }), /HTTP 401/, caller);
          continue;
        }
        const probe = await WsProbe.open(t, f.h.url, { token });
        probe.send({ type: "subscribe", id: "k", session: f.ids.K, after: 0 });
        const answer = await probe.waitFor((frame) => frame.type === "subscribed" || frame.type === "error");
        if (READ_ALICE.includes(caller)) assert.equal(answer.type, "subscribed", caller);
        else
          assert.deepEqual([answer.type, (answer as { code?: string }).code], ["error", "FORBIDDEN"], caller);
        probe.close();
      }
    },
  );

  await t.test("the CLI: baton kill as each caller, baton show as an owner and a stranger", async () => {
    const envOf = (caller: Caller) => ({
      BATON_URL: f.h.url,
      BATON_TOKEN: f.token[caller] ?? undefined,
      BATON_HOME: f.workDir,
    });
    // One CLI process at a time: each is a full Node start, and this machine may be busy.
    for (const caller of CALLERS) {
      const kill = await runCli(["kill", f.ids.K], envOf(caller));
      assert.equal(kill.code, 1, `kill of a killed session as ${caller} fails either way`);
      const why = OVER_K.includes(caller)
        ? /SESSION_ENDED/
        : caller === "none" || caller === "wrong"
          ? /UNAUTHENTICATED/
          : /FORBIDDEN/;
      assert.match(kill.stderr, why, `kill as ${caller}`);
    }
    assert.equal((await runCli(["show", f.ids.K], envOf("alice"))).code, 0);
    const stranger = await runCli(["show", f.ids.K], envOf("bob"));
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /user:bob may not read session "k-alice"/);
  });

  await t.test("MCP tools act with the caller's token: a viewer cannot spawn through them", async () => {
    const response = await fetch(`${f.h.url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${f.token.viewer}`,
        "content-type": "application/json",
        ...MCP_HEADERS,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "spawn", arguments: { prompt: "@say hi", workDir: f.workDir } },
      }),
    });
    const answer = (await response.json()) as { result: { isError?: boolean; content: { text: string }[] } };
    assert.equal(answer.result.isError, true);
    assert.match(answer.result.content[0]?.text ?? "", /viewer:vera may not spawn sessions/);
  });
});
