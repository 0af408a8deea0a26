import {
  createSdkMcpServer,
  type McpSdkServerConfigWithInstance,
  tool,
} from "@anthropic-ai/claude-agent-sdk";
import { VERSION } from "../core/version.ts";
import type { AgentTool } from "../sessions/runner-port.ts";

/** Serves Baton's coordination tools to one agent as an in-process MCP server (no extra process). */
export function buildBatonMcpServer(tools: AgentTool[]): McpSdkServerConfigWithInstance {
  return createSdkMcpServer({
    name: "baton",
    version: VERSION,
    tools: tools.map((agentTool) =>
      tool(agentTool.name, agentTool.description, agentTool.inputShape, async (args) => {
        const result = await agentTool.handler(args as Record<string, unknown>);
        return {
          content: [{ type: "text", text: result.text }],
          ...(result.isError ? { isError: true } : {}),
        };
      }),
    ),
  });
}
