import type { BatonClient } from "../../src/client/baton-client.ts";

/**
 * A shell command that works for about `seconds`, then runs `then`: the one slow tool of the tests (so an
 * interrupt, a crash or a kill lands mid-tool). Short sleeps in a loop: the Bash tool refuses one long
 * `sleep`.
 */
export function slowCommand(seconds: number, then?: string): string {
  const steps = Math.max(1, Math.round(seconds / 0.2));
  return `for i in $(seq 1 ${steps}); do sleep 0.2; done${then ? `; ${then}` : ""}`;
}

/** About 4 s of tool work, then a final answer. */
export const SLOW_SCRIPT = `@bash ${slowCommand(4, "echo ok")}\n@say finished`;

/** Spawns `count` sessions running SLOW_SCRIPT, one owner each so per-owner caps never queue them. */
export async function spawnSlowSessions(
  client: BatonClient,
  count: number,
  workDirFor: (index: number) => string,
): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const session = await client.spawn({
      prompt: SLOW_SCRIPT,
      workDir: workDirFor(index),
      allowedTools: ["Bash"],
      owner: `owner-${index}`,
    });
    ids.push(session.id);
  }
  return ids;
}
