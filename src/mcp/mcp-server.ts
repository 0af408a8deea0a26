import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { VERSION } from "../core/version.ts";
import type { AgentTool } from "../sessions/runner-port.ts";

const INSTRUCTIONS =
  "Baton runs Claude agent sessions. Use these tools to spawn sessions, message them, look in on them " +
  "(status, what, children, others) and stop them (kill). Sessions are addressed by id (ses_…) or name.";

/**
 * Serves tools to an external MCP client (Claude Desktop, Claude Code, any MCP host): the same tools each
 * agent gets in-process. A thin adapter: tool results pass through unchanged.
 */
export function buildMcpServer(tools: readonly AgentTool[]): McpServer {
  const server = new McpServer({ name: "baton", version: VERSION }, { instructions: INSTRUCTIONS });
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.inputShape },
      async (args: Record<string, unknown>) => {
        const result = await tool.handler(args);
        return {
          content: [{ type: "text" as const, text: result.text }],
          ...(result.isError ? { isError: true } : {}),
        };
      },
    );
  }
  return server;
}
