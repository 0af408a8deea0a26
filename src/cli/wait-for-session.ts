import { setTimeout as sleep } from "node:timers/promises";
import type { BatonClient } from "../client/index.ts";
import type { Session } from "../sessions/session-schema.ts";
import { isUnfinished } from "../sessions/session-status.ts";

/**
 * `baton show <session> --wait [until]`: what a script (or the README's quick start) needs between two
 * commands, without sleeping and hoping. `idle`: the session stopped working (its turn ended, or it waits
 * for a permission answer: the status is neither queued nor running). `tool`: a tool call is running now.
 * Polled (a GET every 250 ms): a CLI command has no subscription worth keeping for a few seconds.
 */
export const WAIT_UNTIL = ["idle", "tool"] as const;
export type WaitUntil = (typeof WAIT_UNTIL)[number];

const POLL_MS = 250;

export async function waitForSession(
  client: BatonClient,
  idOrName: string,
  until: WaitUntil,
  timeoutSeconds: number,
): Promise<Session> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const session = await client.get(idOrName);
    if (until === "idle" && session.status !== "queued" && session.status !== "running") return session;
    if (until === "tool" && (await client.what(idOrName)).currentTool) return session;
    if (until === "tool" && !isUnfinished(session.status)) {
      throw new Error(`session ${idOrName} is ${session.status}: it will run no tool`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `session ${idOrName} did not become ${until} within ${timeoutSeconds} s (${session.status})`,
      );
    }
    await sleep(POLL_MS);
  }
}
