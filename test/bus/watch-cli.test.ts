import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { TEST_TOKEN } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { runCli } from "../support/run-cli.ts";
import { waitUntil } from "../support/wait-until.ts";

const BIN = fileURLToPath(new URL("../../bin/baton.js", import.meta.url));

/**
 * `baton watch …` as a child process, its output collected. Tests stop it themselves (the harness's leak
 * guard runs first); t.after kills it by its handle if a test failed before that.
 */
function startWatch(t: TestContext, url: string, args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [BIN, "watch", ...args], {
    env: { ...process.env, BATON_URL: url, BATON_TOKEN: TEST_TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const lines = () => output.stdout.split("\n").filter(Boolean);
  return { child, output, exited, lines };
}

test("baton watch --json streams events and resumes across a Baton restart without loss", async (t) => {
  const h = await startHarness(t);
  const port = Number(new URL(h.url).port);
  await h.client.publish("lab.step", { n: 1 });
  await h.client.publish("other.noise", {});
  const watch = startWatch(t, h.url, ["--json", "--after", "0", "--topics", "lab.*"]);
  await waitUntil(() => watch.lines().length === 1, 15_000, "the first event printed");

  await h.restart({ port });
  await h.client.publish("lab.step", { n: 2 });
  await h.client.publish("lab.step", { n: 3 });
  await waitUntil(() => watch.lines().length === 3, 15_000, `three lines; stderr: ${watch.output.stderr}`);
  watch.child.kill("SIGINT");
  assert.equal(await watch.exited, 0, "Ctrl-C is a normal end");

  const events = watch.lines().map((line) => JSON.parse(line) as BatonEvent);
  assert.deepEqual(
    events.map((event) => [event.seq, event.data.n]),
    [
      [1, 1],
      [3, 2],
      [4, 3],
    ],
  );
  assert.match(watch.output.stderr, /connection lost \(closed 1001.*resuming after #1/);
});

test("baton watch prints readable lines, and names what is wrong", async (t) => {
  const h = await startHarness(t);
  const watch = startWatch(t, h.url, ["-t", "lab.*"]);
  await waitUntil(() => watch.output.stderr.includes("watching all events"), 15_000, "the watch started");
  // The watch starts live: publish until its subscription is in place and a line shows up.
  await waitUntil(
    async () => {
      await h.client.publish("lab.stage_completed", { stage: 2 });
      return watch.lines().length > 0 ? true : undefined;
    },
    15_000,
    "a readable line",
  );
  assert.match(watch.lines()[0] ?? "", /^#\d+ \d\d:\d\d:\d\d lab\.stage_completed \{"stage":2\}$/);
  assert.equal(watch.output.stdout.includes("\u001b["), false, "no colours when stdout is not a terminal");
  watch.child.kill("SIGINT");
  assert.equal(await watch.exited, 0);

  const missing = await runCli(["watch", "no-such-session"], { BATON_URL: h.url });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-such-session.*\[SESSION_NOT_FOUND\]/);
});
