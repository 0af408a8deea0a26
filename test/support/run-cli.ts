import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TEST_TOKEN } from "./auth.ts";

const BIN = fileURLToPath(new URL("../../bin/baton.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `baton` CLI as a child process (its own pid, killed at the deadline if it hangs). BATON_TOKEN
 * is the test admin token unless `env` sets it (undefined removes it).
 */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, BATON_TOKEN: TEST_TOKEN, ...env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: childEnv, timeout: timeoutMs, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
