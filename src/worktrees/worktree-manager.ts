import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BatonError, describeError } from "../core/errors.ts";
import type { KeyedSerial } from "../core/serial.ts";
import type { BatonEvent } from "../events/catalogue.ts";
import type { EventLog } from "../events/event-log.ts";
import { configOf } from "../sessions/session-mapper.ts";
import type { SessionConfig, WorktreeConfig } from "../sessions/session-schema.ts";
import type { WorkspacePreparer } from "../sessions/session-service.ts";
import { recordSessionEvents } from "../sessions/session-writes.ts";
import type { Store } from "../store/open-store.ts";
import { selectSessionById } from "../store/session-queries.ts";
import { gitComplaint, runGit } from "./git.ts";

export interface WorktreeManagerDeps {
  store: Store;
  log: EventLog;
  /** The supervisor's per-session queue: clean-up after a kill runs once the kill (and its process) is done. */
  serial: KeyedSerial;
  /** Where worktrees are created: `<BATON_HOME>/worktrees/<session id>`. */
  root: string;
  onError(error: unknown, context: string): void;
}

/** What a worktree holds beyond its base: commits on the branch and changes not committed yet. */
interface WorktreeState {
  commits: number;
  diffStat: string;
  uncommitted: string[];
}

/**
 * `isolation: "worktree"`: each such session works in its own git worktree on a new branch
 * `baton/<name or id>`, created from the repository's HEAD at spawn. After every turn Baton reports the
 * branch and what changed (`session.worktree`, action `report`). When the session is killed, the worktree
 * and branch are removed only if they hold nothing the base does not (no commits, no uncommitted or
 * untracked files); otherwise both are kept and the event (action `kept`) says why. Unmerged work is never
 * deleted: see docs/locks-and-worktrees.md.
 */
export class WorktreeManager implements WorkspacePreparer {
  private readonly deps: WorktreeManagerDeps;
  private unsubscribe: (() => void) | undefined;

  constructor(deps: WorktreeManagerDeps) {
    this.deps = deps;
  }

  start(): void {
    this.unsubscribe ??= this.deps.log.bus.subscribe((event) => this.onEvent(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  async prepare(sessionId: string, config: SessionConfig): Promise<SessionConfig> {
    if (config.isolation !== "worktree") return config;
    const top = await runGit(config.workDir, ["rev-parse", "--show-toplevel"]);
    if (!top.ok) {
      throw new BatonError(
        "WORKDIR_NOT_GIT",
        `workDir ${config.workDir} is not inside a git work tree, which isolation "worktree" needs (${gitComplaint(top)})`,
        { field: "workDir" },
      );
    }
    const repo = top.stdout.trim();
    const prefix = (await runGit(config.workDir, ["rev-parse", "--show-prefix"])).stdout.trim();
    const head = await runGit(repo, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
    if (!head.ok) {
      throw new BatonError(
        "WORKTREE_FAILED",
        `the repository ${repo} has no commit yet; a worktree starts from HEAD, so commit once first`,
        { field: "workDir" },
      );
    }
    const base = head.stdout.trim();
    const branch = `baton/${config.name ?? sessionId}`;
    if ((await runGit(repo, ["show-ref", "--verify", "--quiet", `refs/heads/${branch}`])).ok) {
      throw new BatonError(
        "WORKTREE_FAILED",
        `branch ${branch} already exists in ${repo} (kept from an earlier session?); merge or delete it, or choose another name`,
        { field: "name", branch },
      );
    }
    const path = join(this.deps.root, sessionId);
    await mkdir(this.deps.root, { recursive: true });
    const added = await runGit(repo, ["worktree", "add", "--quiet", "-b", branch, path, base]);
    if (!added.ok) {
      throw new BatonError("WORKTREE_FAILED", `git worktree add failed: ${gitComplaint(added)}`, {
        field: "isolation",
      });
    }
    const worktree: WorktreeConfig = { repo, requestedWorkDir: config.workDir, path, branch, base };
    return { ...config, workDir: resolve(path, prefix), worktree };
  }

  /** The spawn failed after the worktree was made: nothing ran in it, so it goes. */
  async discard(config: SessionConfig): Promise<void> {
    const worktree = config.worktree;
    if (!worktree) return;
    await runGit(worktree.repo, ["worktree", "remove", "--force", worktree.path]);
    await runGit(worktree.repo, ["branch", "-D", worktree.branch]);
  }

  private onEvent(event: BatonEvent): void {
    const sessionId = event.sessionId;
    if (!sessionId || (event.topic !== "session.completed" && event.topic !== "session.killed")) return;
    const task =
      event.topic === "session.completed" ? () => this.report(sessionId) : () => this.cleanUp(sessionId);
    // Queued behind the work in progress: after a kill, that includes closing the agent's process.
    this.deps.serial.detach(sessionId, task, (error) => this.deps.onError(error, `worktree of ${sessionId}`));
  }

  private async worktreeOf(sessionId: string): Promise<WorktreeConfig | undefined> {
    const row = await selectSessionById(this.deps.store.db, sessionId);
    return row ? configOf(row).worktree : undefined;
  }

  private async report(sessionId: string): Promise<void> {
    const worktree = await this.worktreeOf(sessionId);
    if (!worktree) return;
    const state = await inspect(worktree);
    await this.announce(sessionId, worktree, "report", state);
  }

  private async cleanUp(sessionId: string): Promise<void> {
    const worktree = await this.worktreeOf(sessionId);
    if (!worktree) return;
    let state: WorktreeState;
    try {
      state = await inspect(worktree);
    } catch (error) {
      const empty = { commits: 0, diffStat: "", uncommitted: [] };
      await this.announce(
        sessionId,
        worktree,
        "kept",
        empty,
        `could not inspect it: ${describeError(error)}`,
      );
      return;
    }
    const keep = reasonToKeep(worktree, state);
    if (keep) {
      await this.announce(sessionId, worktree, "kept", state, keep);
      return;
    }
    // Without --force, git itself refuses to remove a worktree with changes: a second guard.
    const removed = await runGit(worktree.repo, ["worktree", "remove", worktree.path]);
    if (!removed.ok) {
      await this.announce(
        sessionId,
        worktree,
        "kept",
        state,
        `git refused to remove it: ${gitComplaint(removed)}`,
      );
      return;
    }
    const tip = (
      await runGit(worktree.repo, ["rev-parse", "--verify", "--quiet", worktree.branch])
    ).stdout.trim();
    // The branch still points at its base: deleting it loses nothing even if no other branch contains base.
    await runGit(worktree.repo, ["branch", tip === worktree.base ? "-D" : "-d", worktree.branch]);
    await this.announce(sessionId, worktree, "removed", state);
  }

  private async announce(
    sessionId: string,
    worktree: WorktreeConfig,
    action: "report" | "removed" | "kept",
    state: WorktreeState,
    reason?: string,
  ): Promise<void> {
    await recordSessionEvents(this.deps.log, sessionId, [
      [
        "session.worktree",
        {
          action,
          branch: worktree.branch,
          path: worktree.path,
          base: worktree.base,
          ...state,
          ...(reason ? { reason } : {}),
        },
      ],
    ]);
  }
}

async function inspect(worktree: WorktreeConfig): Promise<WorktreeState> {
  const range = `${worktree.base}..${worktree.branch}`;
  const count = await runGit(worktree.repo, ["rev-list", "--count", range]);
  if (!count.ok) throw new Error(`git rev-list failed: ${gitComplaint(count)}`);
  const stat = await runGit(worktree.repo, ["diff", "--stat", `${worktree.base}...${worktree.branch}`]);
  const status = await runGit(worktree.path, ["status", "--porcelain", "--untracked-files=all"]);
  if (!status.ok) throw new Error(`git status failed: ${gitComplaint(status)}`);
  return {
    commits: Number(count.stdout.trim()),
    diffStat: stat.stdout.trimEnd(),
    uncommitted: status.stdout.split("\n").filter((line) => line.trim().length > 0),
  };
}

function reasonToKeep(worktree: WorktreeConfig, state: WorktreeState): string | undefined {
  const parts: string[] = [];
  if (state.commits > 0) parts.push(`${state.commits} commit(s) on ${worktree.branch} not in its base`);
  if (state.uncommitted.length > 0) parts.push(`${state.uncommitted.length} uncommitted change(s)`);
  if (parts.length === 0) return undefined;
  return (
    `${parts.join(" and ")}; kept so no work is lost. Merge ${worktree.branch}, then remove it with: ` +
    `git -C ${worktree.repo} worktree remove --force ${worktree.path} && git -C ${worktree.repo} branch -D ${worktree.branch}`
  );
}
