import type { BatonClient } from "../client/baton-client.ts";
import type { AgentTool } from "../sessions/runner-port.ts";
import { clearTool, killTool, nameTool, sendTool, spawnTool, waitTool } from "./command-tools.ts";
import { aloneTool, childrenTool, othersTool, statusTool, whatTool } from "./inspection-tools.ts";
import { lockToolSet } from "./lock-tools.ts";
import { answerPermissionTool, pendingPermissionsTool } from "./permission-tools.ts";
import { bindTools, type ToolDefinition } from "./tool-definition.ts";

/** Baton's own coordination tools, in the order a model sees them. */
export const COORDINATION_TOOLS: readonly ToolDefinition[] = [
  spawnTool,
  sendTool,
  waitTool,
  childrenTool,
  statusTool,
  whatTool,
  killTool,
  clearTool,
  nameTool,
  othersTool,
  aloneTool,
  pendingPermissionsTool,
  answerPermissionTool,
];

/**
 * Tool sets other features add (workspace locks: lock/unlock/locks). Each factory gets the client and the
 * caller, and returns [] where it does not apply (an external MCP client holds no locks). Listing a factory
 * here serves its tools everywhere at once: in-process to every agent, `baton mcp` and `/mcp`.
 */
export type ToolSetFactory = (client: BatonClient, self: string | undefined) => AgentTool[];
export const EXTRA_TOOL_SETS: readonly ToolSetFactory[] = [lockToolSet];

/** The coordination tools (plus `extra` definitions) bound to a caller: `self` is the calling session, if any. */
export function buildAgentTools(
  client: BatonClient,
  self: string | undefined,
  extra: readonly ToolDefinition[] = [],
): AgentTool[] {
  return withUniqueNames(bindTools([...COORDINATION_TOOLS, ...extra], { client, self }));
}

/** What Baton serves on every channel: the coordination tools and every EXTRA_TOOL_SETS factory's tools. */
export function buildServedTools(client: BatonClient, self: string | undefined): AgentTool[] {
  return withUniqueNames([
    ...buildAgentTools(client, self),
    ...EXTRA_TOOL_SETS.flatMap((factory) => factory(client, self)),
  ]);
}

/** Two tools with one name would shadow each other in the MCP server: fail at once instead. */
function withUniqueNames(tools: AgentTool[]): AgentTool[] {
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) throw new Error(`two coordination tools are named "${tool.name}"`);
    seen.add(tool.name);
  }
  return tools;
}
