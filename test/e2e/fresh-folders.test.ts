import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" });

// A command acceptEdits does not allow by itself: without a rule it needs a human's decision.
const RULED_COMMAND = `python3 -c "open('made-by-rule.txt','w').write('x')"`;

/** A project folder with its own settings (an allow rule for RULED_COMMAND) and a CLAUDE.md. */
function writeProject(dir: string): void {
  mkdirSync(join(dir, ".claude"));
  writeFileSync(
    join(dir, ".claude", "settings.json"),
    JSON.stringify({ permissions: { allow: ["Bash(python3 -c:*)"] } }),
  );
  writeFileSync(join(dir, "CLAUDE.md"), "# Project memo\nThe project codeword is PELICAN-7.\n");
}

test("a brand-new folder without any project files starts at once, with no first-run or trust step", async (t) => {
  const h = await startHarness(t);
  const workDir = join(h.tempDir("fresh-"), "never-seen-before");
  mkdirSync(workDir);
  const session = await h.client.spawn({
    prompt: "@say hello from a new folder",
    workDir,
    claudeMdContent: "Spawn context: the codeword is HERON-3.",
  });
  const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  assert.equal(end.data.result, "hello from a new folder");
  const { events } = await h.client.sessionEvents(session.id);
  assert.deepEqual(
    events.map((event) => event.topic),
    ["session.created", "session.spawned", "session.completed"],
    "nothing waited on anyone",
  );
  assert.equal(h.mock.requests.length, 1, "one model request, nothing before it");
  assert.match(JSON.stringify(h.mock.requests[0]?.body), /HERON-3/, "claudeMdContent reached the model");
});

for (const variant of ["folder", "worktree"] as const) {
  test(`a brand-new ${variant} with .claude/settings.json and CLAUDE.md: both load, nothing stalls`, async (t) => {
    const h = await startHarness(t);
    const dir = join(h.tempDir("fresh-"), "project");
    mkdirSync(dir);
    writeProject(dir);
    if (variant === "worktree") {
      git(dir, "init", "-q");
      git(dir, "add", ".");
      git(dir, "commit", "-qm", "project files");
    }
    const session = await h.client.spawn({
      prompt: `@bash ${RULED_COMMAND}\n@say ran`,
      workDir: dir,
      claudeMdContent: "Spawn context: the codeword is HERON-3.",
      ...(variant === "worktree" && { isolation: "worktree" as const }),
    });
    const workDir = String(session.config.workDir);
    if (variant === "worktree") assert.notEqual(workDir, dir, "the session works in a new worktree");
    const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
    assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
    const { events } = await h.client.sessionEvents(session.id);
    const topics = events.map((event) => event.topic);
    // The project's allow rule took effect: the command ran without asking anyone.
    assert.ok(!topics.includes("session.permission_requested"), topics.join(", "));
    assert.ok(existsSync(join(workDir, "made-by-rule.txt")), "the ruled command ran in the session's folder");
    const done = events.find((event) => event.topic === "session.tool_done");
    assert.equal(done?.data.isError, false, JSON.stringify(done?.data));
    // The model received the project's CLAUDE.md and the spawn's claudeMdContent.
    const body = JSON.stringify(h.mock.requests[0]?.body);
    assert.match(body, /PELICAN-7/, "CLAUDE.md reached the model");
    assert.match(body, /HERON-3/, "claudeMdContent reached the model");
  });
}

test("control: with trustWorkDirs off, the CLI ignores the new folder's allow rule and asks a human", async (t) => {
  const h = await startHarness(t, { trustWorkDirs: false });
  const workDir = join(h.tempDir("fresh-"), "untrusted");
  mkdirSync(workDir);
  writeProject(workDir);
  const session = await h.client.spawn({ prompt: `@bash ${RULED_COMMAND}\n@say ran`, workDir });
  await h.waitFor(
    (event) => event.topic === "session.permission_requested" && event.sessionId === session.id,
    { timeoutMs: 60_000 },
  );
  assert.match(JSON.stringify(h.mock.requests[0]?.body), /PELICAN-7/, "its CLAUDE.md still loads");
  await h.client.kill(session.id);
});
