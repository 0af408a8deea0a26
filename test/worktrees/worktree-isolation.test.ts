import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { authHeaders } from "../support/auth.ts";
import { startHarness } from "../support/harness.ts";
import { isTurnEnd } from "../support/wait-for-event.ts";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" });

function makeRepo(dir: string): string {
  git(dir, "init", "-q");
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "sub", "keep.txt"), "kept\n");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "init");
  return dir;
}

const worktreeEvent = (sessionId: string, action: string) => (event: BatonEvent) =>
  event.topic === "session.worktree" && event.sessionId === sessionId && event.data.action === action;

interface WorktreeConfig {
  repo: string;
  path: string;
  branch: string;
  base: string;
  requestedWorkDir: string;
}

test("a worktree session works on its own branch, reports branch and diff, and keeps its work on kill", async (t) => {
  const h = await startHarness(t);
  const repo = makeRepo(h.tempDir("repo-"));
  const session = await h.client.spawn({
    name: "iso",
    workDir: repo,
    isolation: "worktree",
    allowedTools: ["Bash", "Write"],
    prompt:
      "@write note.txt hello\n@bash git add note.txt && git -c user.email=t@t -c user.name=t commit -qm note\n" +
      "@write draft.txt wip\n@say done",
  });
  const worktree = session.config.worktree as WorktreeConfig;
  const path = join(h.root, "home", "worktrees", session.id);
  assert.deepEqual(
    [worktree.repo, worktree.requestedWorkDir, worktree.path, worktree.branch],
    [repo, repo, path, "baton/iso"],
  );
  assert.equal(session.config.workDir, path);
  assert.equal(worktree.base, git(repo, "rev-parse", "HEAD").trim());

  const end = await h.waitFor(isTurnEnd(session.id));
  assert.equal(end.data.result, "done");
  const report = await h.waitFor(worktreeEvent(session.id, "report"));
  assert.equal(report.data.branch, "baton/iso");
  assert.equal(report.data.commits, 1);
  assert.match(String(report.data.diffStat), /note\.txt \| 1 \+/);
  assert.match(String(report.data.diffStat), /1 file changed, 1 insertion/);
  assert.deepEqual(report.data.uncommitted, ["?? draft.txt"]);
  assert.equal(readFileSync(join(path, "note.txt"), "utf8"), "hello");
  assert.equal(existsSync(join(repo, "note.txt")), false, "the main checkout is untouched");
  assert.match(git(repo, "log", "--format=%s", "baton/iso"), /^note\ninit\n$/);

  const again = await fetch(`${h.url}/sessions`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ prompt: "x", workDir: repo, isolation: "worktree", name: "iso" }),
  });
  assert.equal(again.status, 409, "the branch is taken");

  await h.client.kill("iso");
  const kept = await h.waitFor(worktreeEvent(session.id, "kept"));
  assert.match(
    String(kept.data.reason),
    /1 commit\(s\) on baton\/iso not in its base and 1 uncommitted change/,
  );
  assert.match(String(kept.data.reason), /git -C .* worktree remove --force/);
  assert.ok(existsSync(join(path, "draft.txt")), "unmerged work is never deleted");
  assert.match(git(repo, "branch", "--list", "baton/iso"), /baton\/iso/);
});

test("a worktree without changes is removed on kill; a subdirectory maps into it; a non-git workDir is a 400", async (t) => {
  const h = await startHarness(t);
  const repo = makeRepo(h.tempDir("repo-"));
  const notGit = h.tempDir("plain-");
  const refused = await fetch(`${h.url}/sessions`, {
    method: "POST",
    headers: authHeaders({ "content-type": "application/json" }),
    body: JSON.stringify({ prompt: "x", workDir: notGit, isolation: "worktree" }),
  });
  assert.equal(refused.status, 400);
  const body = (await refused.json()) as {
    error: { code: string; message: string; details: { field: string } };
  };
  assert.equal(body.error.code, "WORKDIR_NOT_GIT");
  assert.equal(body.error.details.field, "workDir");
  assert.match(body.error.message, /not inside a git work tree/);

  const session = await h.client.spawn({
    workDir: join(repo, "sub"),
    isolation: "worktree",
    prompt: "@say nothing to change",
  });
  const worktree = session.config.worktree as WorktreeConfig;
  assert.equal(worktree.branch, `baton/${session.id}`);
  assert.equal(session.config.workDir, join(worktree.path, "sub"));
  const report = await h.waitFor(worktreeEvent(session.id, "report"));
  assert.deepEqual([report.data.commits, report.data.diffStat, report.data.uncommitted], [0, "", []]);

  await h.client.kill(session.id);
  await h.waitFor(worktreeEvent(session.id, "removed"));
  assert.equal(existsSync(worktree.path), false);
  assert.equal(git(repo, "branch", "--list", worktree.branch), "", "the empty branch went with it");
  assert.doesNotMatch(git(repo, "worktree", "list"), new RegExp(session.id));
});
