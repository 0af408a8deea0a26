import type { McpSdkServerConfigWithInstance } from "@anthropic-ai/claude-agent-sdk";
import { VERSION } from "../core/version.ts";
import type { AgentTool } from "../sessions/runner-port.ts";
import { agentSdk } from "./agent-sdk.ts";

/**
 * Serves Baton's coordination tools to one agent as an in-process MCP server (no extra process). `tools`
 * gives the definitions; each call runs the handler `resolve` names at call time, so a parked spare's
 * server (built before its session exists) acts for the session that claimed it.
 */
export function buildBatonMcpServer(
  tools: AgentTool[],
  resolve: { tool(name: string): AgentTool | undefined },
): McpSdkServerConfigWithInstance {
  const { createSdkMcpServer, tool } = agentSdk();
  return createSdkMcpServer({
    name: "baton",
    version: VERSION,
    tools: tools.map((definition) =>
      tool(definition.name, definition.description, definition.inputShape, async (args) => {
        const handler = resolve.tool(definition.name);
        const result = handler
          ? await handler.handler(args as Record<string, unknown>)
          : { text: "this agent process serves no session yet", isError: true };
        return {
          content: [{ type: "text", text: result.text }],
          ...(result.isError ? { isError: true } : {}),
        };
      }),
    ),
  });
}
