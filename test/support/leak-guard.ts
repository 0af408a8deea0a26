import { readFileSync } from "node:fs";
import { listDescendants } from "../../src/runner/process-tree.ts";

/**
 * Fails a test that leaves child processes behind. Every `claude` child, scripted model and Baton a test
 * starts must be stopped by its own handle; anything still descending from the test process afterwards
 * is a leak (we never clean up by process name).
 */
export function assertNoLeakedProcesses(context: string): void {
  const leaked = listDescendants(process.pid).filter((pid) => {
    const state = readStat(pid);
    return state !== undefined && state !== "Z";
  });
  if (leaked.length > 0) {
    const described = leaked.map((pid) => `${pid} ${commandLine(pid)}`).join("\n  ");
    throw new Error(`${context} leaked ${leaked.length} process(es):\n  ${described}`);
  }
}

/** Waits (with a deadline) for descendants to exit: a kill is asynchronous. */
export async function waitForNoDescendants(timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = listDescendants(process.pid).filter(
      (pid) => readStat(pid) !== undefined && readStat(pid) !== "Z",
    );
    if (alive.length === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function readStat(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 160);
  } catch {
    return "?";
  }
}
