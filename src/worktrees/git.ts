import { execFile } from "node:child_process";

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Variables a calling git (a hook, a test runner) may have set that would point us at another repository. */
const INHERITED_GIT_VARS = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX"];

/** Runs git in `cwd`; never throws for a failing git, never prompts. */
export function runGit(cwd: string, args: readonly string[]): Promise<GitResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" };
  for (const name of INHERITED_GIT_VARS) delete env[name];
  return new Promise((resolve) => {
    execFile(
      "git",
      [...args],
      { cwd, env, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr || (error?.message ?? "")) });
      },
    );
  });
}

/** The first line of git's complaint, for an error message. */
export function gitComplaint(result: GitResult): string {
  return result.stderr.trim().split("\n")[0] ?? "git failed";
}
