import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { BatonEvent } from "../../src/events/catalogue.ts";
import { isAlive, listDescendants } from "../../src/runner/process-tree.ts";
import type { Harness } from "./harness.ts";
import { isTurnEnd } from "./wait-for-event.ts";
import { waitUntil } from "./wait-until.ts";

/** Helpers of the warm pool's tests (test/e2e/warm-pool*.test.ts). */

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/** Waits until the pool has `ready` parked spares; resolves the pids of `claude` processes no session owns. */
export async function parkedSpares(h: Harness, ready: number): Promise<number[]> {
  await waitUntil(
    async () => (await h.client.health()).warmPool.ready === ready,
    60_000,
    `${ready} spare(s)`,
  );
  const owned = new Set(h.baton.supervisor.runs.pids());
  return listDescendants(process.pid).filter(
    (pid) => !owned.has(pid) && isAlive(pid) && commandLine(pid).includes("claude"),
  );
}

/** Runs one session to the end of its first turn; resolves its events and its process id. */
export async function runSession(
  h: Harness,
  workDir: string,
  extra: Record<string, unknown> = {},
  prompt = "@bash echo from-$BATON_SESSION_ID\n@say finished",
) {
  // Bash allowed outright (unless `extra` says otherwise): `$VAR` in a command would otherwise ask.
  const session = await h.client.spawn({ prompt, workDir, allowedTools: ["Bash"], ...extra });
  const end = await h.waitFor(isTurnEnd(session.id), { timeoutMs: 60_000 });
  assert.equal(end.topic, "session.completed", JSON.stringify(end.data));
  const { events } = await h.client.sessionEvents(session.id);
  const spawned = events.find((event) => event.topic === "session.spawned");
  return { id: session.id, workDir, events, pid: Number(spawned?.data.pid), end };
}

/** What a session's stream says, with ids, times and pids taken out (they differ between any two runs). */
export function shapeOf(run: { events: BatonEvent[]; id: string; workDir: string }): unknown[] {
  return run.events.map((event) => {
    const { toolUseId: _tool, agentSessionId: _agent, pid: _pid, costUsd: _cost, ...data } = event.data;
    const text = JSON.stringify(data).replaceAll(run.id, "<self>").replaceAll(run.workDir, "<dir>");
    return [event.topic, JSON.parse(text)];
  });
}
