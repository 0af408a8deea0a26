import { z } from "zod";
import { BatonApiError, type BatonClient } from "../client/baton-client.ts";
import type { LockList } from "../locks/lock-schema.ts";
import type { AgentTool } from "../sessions/runner-port.ts";

/**
 * The agent's lock tools (`mcp__baton__lock`, `mcp__baton__unlock`, `mcp__baton__locks`), bound to the
 * calling session. They go through the HTTP API like any other client, so the rules are the server's.
 * File edits are locked automatically; these are for claiming a whole directory before a larger change.
 */
export function lockToolsFor(sessionId: string, client: BatonClient): AgentTool[] {
  return [...holderTools(sessionId, client), locksTool(client)];
}

/**
 * The shape of coordination's `ToolSetFactory` (src/coordination/agent-tools.ts, EXTRA_TOOL_SETS): a
 * session gets all three tools; an external MCP client, which holds no locks, only `locks`.
 */
export function lockToolSet(client: BatonClient, self: string | undefined): AgentTool[] {
  return self ? lockToolsFor(self, client) : [locksTool(client)];
}

function holderTools(sessionId: string, client: BatonClient): AgentTool[] {
  return [
    {
      name: "lock",
      description:
        "Lock your workDir (or a directory or file inside it) so other Baton sessions wait instead of editing it. " +
        "Held until you unlock or your turn ends. Fails at once if someone else holds it, unless waitMs is given.",
      inputShape: {
        reason: z.string().min(1).describe("why: shown to sessions that have to wait"),
        path: z
          .string()
          .optional()
          .describe("a directory or file, absolute or relative to your workDir (default: the whole workDir)"),
        waitMs: z.number().int().min(0).max(600_000).optional().describe("wait this long for the holder"),
      },
      handler: (args) =>
        answer(async () => {
          const lock = await client.lock(sessionId, {
            reason: String(args.reason),
            ...(typeof args.path === "string" && args.path ? { resource: args.path } : {}),
            ...(typeof args.waitMs === "number" ? { waitMs: args.waitMs } : {}),
          });
          return `Locked ${lock.resource} until you unlock or your turn ends.`;
        }),
    },
    {
      name: "unlock",
      description: "Release a lock you hold (default: every lock you hold), so waiting sessions can go on.",
      inputShape: {
        path: z.string().optional().describe("only this directory or file (default: everything you hold)"),
      },
      handler: (args) =>
        answer(async () => {
          const { released } = await client.unlock(
            sessionId,
            typeof args.path === "string" && args.path ? { resource: args.path } : {},
          );
          if (released.length === 0) return "You held no matching lock.";
          return `Released ${released.map((lock) => lock.resource).join(", ")}.`;
        }),
    },
  ];
}

function locksTool(client: BatonClient): AgentTool {
  return {
    name: "locks",
    description: "List the workspace locks: which session holds what, and who is waiting for whom.",
    inputShape: {},
    handler: () => answer(async () => describeLocks(await client.locks())),
  };
}

async function answer(work: () => Promise<string>): Promise<{ text: string; isError?: boolean }> {
  try {
    return { text: await work() };
  } catch (error) {
    if (error instanceof BatonApiError) return { text: `${error.message} [${error.code}]`, isError: true };
    return { text: (error as Error).message, isError: true };
  }
}

function describeLocks(list: LockList): string {
  if (list.locks.length === 0 && list.waiters.length === 0) return "No workspace locks are held.";
  const held = list.locks.map(
    (lock) =>
      `${lock.resource} held by ${lock.sessionName ?? lock.sessionId} (${lock.kind}${lock.reason ? `: ${lock.reason}` : ""})`,
  );
  const waiting = list.waiters.map(
    (waiter) => `${waiter.sessionId} waits for ${waiter.holderName ?? waiter.holder} on ${waiter.resource}`,
  );
  return [...held, ...waiting].join("\n");
}
