import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { isAlive } from "../../src/runner/process-tree.ts";
import { TEST_TOKEN } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const BIN = fileURLToPath(new URL("../../bin/baton.js", import.meta.url));
const TOOLS = [
  "spawn",
  "send",
  "wait",
  "children",
  "status",
  "what",
  "kill",
  "clear",
  "name",
  "others",
  "alone",
];

/** `baton mcp` as a real child process, talking to this test's Baton; `self` makes it act for a session. */
async function connectStdio(
  url: string,
  self?: string,
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith("BATON_")) env[key] = value;
  env.BATON_URL = url;
  env.BATON_TOKEN = TEST_TOKEN;
  if (self) env.BATON_SESSION_ID = self;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    env,
    stderr: "pipe",
  });
  const client = new Client({ name: "baton-test", version: "0.0.0" });
  await client.connect(transport);
  return { client, transport };
}

function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = result.content as Array<{ type: string; text?: string }>;
  return content.map((part) => part.text ?? "").join("");
}

test("baton mcp over stdio lists the tools, spawns a real session, and exits when the client closes", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const { client, transport } = await connectStdio(h.url);
  const pid = transport.pid;
  assert.ok(pid);
  try {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const name of TOOLS) assert.ok(names.includes(name), `tools/list has ${name}: ${names.join(", ")}`);
    const spawnTool = tools.find((tool) => tool.name === "spawn");
    assert.ok(spawnTool?.inputSchema.properties?.prompt, "spawn's input schema names prompt");
    assert.ok(spawnTool?.description && spawnTool.description.length > 50, "spawn teaches when to use it");

    const result = await client.callTool({
      name: "spawn",
      arguments: { prompt: "@say from mcp", workDir, name: "via-mcp" },
    });
    assert.equal(result.isError, undefined, textOf(result));
    assert.match(textOf(result), /Spawned "via-mcp" \(ses_\w+\) in /);
    const session = await h.client.get("via-mcp");
    assert.equal(session.parentSessionId, null, "an external client spawns top-level sessions");
    const end = await h.waitFor(isTurnEnd(session.id));
    assert.equal(end.data.result, "from mcp");

    // External clients must say which session they mean where an agent would default to itself.
    const status = await client.callTool({ name: "status", arguments: {} });
    assert.equal(status.isError, true);
    assert.match(textOf(status), /give session/);
  } finally {
    await client.close();
  }
  await waitUntil(() => !isAlive(pid), 5000, "baton mcp to exit");
});

test("baton mcp inside a session acts for it: it may kill its own child, not a stranger", async (t) => {
  const h = await startHarness(t);
  const workDir = h.tempDir();
  const parent = await h.client.spawn({ prompt: "@say parent", workDir, name: "boss" });
  const child = await h.client.spawn({ prompt: "@say child", workDir, parentSessionId: parent.id });
  const stranger = await h.client.spawn({ prompt: "@say stranger", workDir: h.tempDir() });
  await Promise.all([parent, child, stranger].map((session) => h.waitFor(isTurnEnd(session.id))));
  const { client } = await connectStdio(h.url, parent.id);
  try {
    const children = await client.callTool({ name: "children", arguments: {} });
    assert.match(textOf(children), new RegExp(child.id));

    const refused = await client.callTool({ name: "kill", arguments: { session: stranger.id } });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /not one of your descendants/);
    const self = await client.callTool({ name: "kill", arguments: { session: "boss" } });
    assert.equal(self.isError, true);
    assert.match(textOf(self), /cannot kill yourself/);

    const killed = await client.callTool({ name: "kill", arguments: { session: child.id } });
    assert.equal(killed.isError, undefined, textOf(killed));
    assert.equal((await h.client.get(child.id)).status, "killed");
    assert.equal((await h.client.get(stranger.id)).status, "completed");
    const killedEvents = await h.client.sessionEvents(child.id, { topics: ["session.killed"] });
    assert.equal(killedEvents.events[0]?.data.by, "admin:token");

    // A child never gets more permissions than its parent: the tools themselves need no approval.
    const bypass = await client.callTool({
      name: "spawn",
      arguments: { prompt: "@say x", permissionMode: "bypassPermissions" },
    });
    assert.equal(bypass.isError, true);
    assert.match(textOf(bypass), /permissionMode bypassPermissions allows more than your own/);
    const bash = await client.callTool({
      name: "spawn",
      arguments: { prompt: "@say x", allowedTools: ["Bash"] },
    });
    assert.equal(bash.isError, true);
    assert.match(textOf(bash), /only tools you have yourself; not Bash/);

    const alone = await client.callTool({ name: "alone", arguments: {} });
    assert.match(textOf(alone), /^true: you are alone in /);
  } finally {
    await client.close();
  }
});

test("/mcp serves the same tools over streamable HTTP, behind the bearer token", async (t) => {
  const token = "mcp-test-token";
  const h = await startHarness(t, { token });
  const endpoint = new URL("/mcp", h.url);

  const unauthorised = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
  assert.equal(unauthorised.status, 401);
  const anonymous = new Client({ name: "baton-test", version: "0.0.0" });
  await assert.rejects(anonymous.connect(new StreamableHTTPClientTransport(endpoint)));

  const client = new Client({ name: "baton-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(endpoint, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  try {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    for (const name of TOOLS) assert.ok(names.includes(name), `tools/list has ${name}`);
    // The tools call back into Baton with the server's token: an answer (not a 401) proves it.
    const workDir = h.tempDir();
    const others = await client.callTool({ name: "others", arguments: { workDir } });
    assert.equal(others.isError, undefined, textOf(others));
    assert.equal(textOf(others), `No other sessions in ${workDir}.`);
  } finally {
    await client.close();
  }
  const get = await fetch(endpoint, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(get.status, 405);
});
