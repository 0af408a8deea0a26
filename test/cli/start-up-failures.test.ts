import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BatonClient } from "../../src/client/baton-client.ts";
import {
  type BatonProcess,
  serveArgs,
  startBatonProcess,
  stopBatonProcess,
} from "../support/baton-process.ts";
import { agentEnvFor } from "../support/harness.ts";
import { processFixture } from "../support/process-fixture.ts";
import { runCli } from "../support/run-cli.ts";
import { isTurnEnd, waitForEvent } from "../support/wait-for-event.ts";
import { waitUntil } from "../support/wait-until.ts";

const BIN = fileURLToPath(new URL("../../bin/baton.js", import.meta.url));

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

/** A port nothing listens on (taken from the kernel, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const root = mkdtempSync(join(tmpdir(), "baton-first-hour-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test("port in use: one line naming the port and --port, exit 2, no stack trace", async (t) => {
  const root = tempRoot(t);
  const occupant = createServer();
  const port = await listen(occupant);
  t.after(() => occupant.close());
  const result = await runCli(serveArgs({ home: join(root, "home"), port, anthropicApiKey: "k" }));
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `^baton: port ${port} on 127\\.0\\.0\\.1 is in use \\(another Baton\\?\\); use --port or BATON_PORT$`,
      "m",
    ),
  );
  assert.doesNotMatch(result.stderr, /EADDRINUSE|\n\s+at /, "no raw error, no stack trace");
});

test("no model credentials: a warning at start, and the CLI's 'Not logged in' becomes what to set", async (t) => {
  const root = tempRoot(t);
  // No key, no base URL, no OAuth token; an empty ANTHROPIC_API_KEY makes the real CLI say "Not logged in"
  // without any request (agent-sdk-notes.md).
  const settings = {
    port: 0,
    home: join(root, "home"),
    quietAgents: true,
    agentEnv: { ...agentEnvFor(root), ANTHROPIC_API_KEY: "" },
  };
  let baton: BatonProcess | undefined = await startBatonProcess(settings);
  t.after(async () => {
    if (baton) await stopBatonProcess(baton);
  });
  await waitUntil(() => baton?.logs().includes("no model credentials"), 10_000, "the warning");
  const warnings = baton
    .logs()
    .split("\n")
    .filter((line) => line.includes("no model credentials"));
  assert.equal(warnings.length, 1, "one line");
  const warning = JSON.parse(warnings[0] ?? "{}") as { level: number; msg: string };
  assert.equal(warning.level, 40, "a warning");
  assert.match(
    warning.msg,
    /no model credentials configured: every session will fail to start; set ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_BASE_URL in Baton's environment or config/,
  );

  const client = new BatonClient({ url: baton.url, token: baton.token });
  const session = await client.spawn({ prompt: "@say hi", workDir: mkdtempSync(join(root, "work-")) });
  const end = await waitForEvent(
    { url: baton.url, session: session.id, timeoutMs: 60_000 },
    isTurnEnd(session.id),
  );
  assert.equal(end.topic, "session.failed");
  const expected =
    /^no model credentials: set ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_BASE_URL in Baton's environment or config \(the CLI said: Not logged in/;
  assert.match(String(end.data.error), expected);
  const shown = await runCli(["show", session.id], { BATON_URL: baton.url });
  assert.match(shown.stdout, /set ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_BASE_URL/);
  await stopBatonProcess(baton);
  baton = undefined;
});

test("a BATON_URL or --url without a scheme is called malformed (exit 2), not 'not running'", async () => {
  const fromEnv = await runCli(["ls"], { BATON_URL: "localhost:8420" });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.equal(
    fromEnv.stderr,
    'baton: BATON_URL "localhost:8420" is malformed: expected http://host:port or https://host:port (e.g. http://localhost:8420)\n',
  );
  const fromFlag = await runCli(["--url", "127.0.0.1:8420", "show", "x"], { BATON_URL: undefined });
  assert.equal(fromFlag.code, 2, fromFlag.stderr);
  assert.match(fromFlag.stderr, /^baton: --url "127\.0\.0\.1:8420" is malformed/);
  assert.doesNotMatch(fromEnv.stderr + fromFlag.stderr, /cannot reach|is it running/);
});

test("baton watch with no server exits 3 like every command; once connected it keeps retrying, and says so", async (t) => {
  const port = await closedPort();
  const started = Date.now();
  const down = await runCli(["watch"], { BATON_URL: `http://127.0.0.1:${port}` });
  assert.equal(down.code, 3, down.stderr);
  assert.match(
    down.stderr,
    new RegExp(`cannot reach Baton at http://127\\.0\\.0\\.1:${port}.*is it running\\?`),
  );
  assert.ok(Date.now() - started < 15_000, "gave up at once, no retry loop");

  const fixture = await processFixture(t, "baton-first-hour-");
  const baton = await startBatonProcess(fixture.settings);
  fixture.baton = baton;
  const watch = spawn(process.execPath, [BIN, "watch"], {
    env: { ...process.env, BATON_URL: baton.url, BATON_TOKEN: baton.token },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  watch.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => watch.once("exit", (code) => resolve(code)));
  t.after(async () => {
    if (watch.exitCode === null && watch.signalCode === null) watch.kill("SIGKILL");
    await exited;
  });
  await waitUntil(
    async () =>
      (await new BatonClient({ url: baton.url, token: baton.token }).health()).subscribers.websocket === 1,
    15_000,
    "the watch connected",
  );
  await stopBatonProcess(baton);
  await waitUntil(
    () => stderr.includes("retrying until Baton is back"),
    15_000,
    `the notice; stderr: ${stderr}`,
  );
  assert.match(stderr, /connection lost \(.*\); retrying until Baton is back, resuming after #\d+/);
  assert.equal(watch.exitCode, null, "still running, waiting for Baton");
  watch.kill("SIGINT");
  assert.equal(await exited, 0);
});
