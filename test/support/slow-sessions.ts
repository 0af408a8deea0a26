import type { BatonClient } from "../../src/client/baton-client.ts";

/**
 * About 4 s of tool work, so a crash or a kill lands mid-tool. Short sleeps in a loop: the Bash tool
 * refuses one long `sleep`.
 */
export const SLOW_SCRIPT = "@bash for i in $(seq 1 40); do sleep 0.1; done; echo ok\n@say finished";

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
