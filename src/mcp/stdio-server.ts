import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { AgentTool } from "../sessions/runner-port.ts";
import { buildMcpServer } from "./mcp-server.ts";

/**
 * Serves the tools over stdin/stdout until the client closes stdin (an MCP host ends a stdio server that
 * way). Nothing else may write to stdout: it carries the protocol.
 */
export async function serveMcpOverStdio(tools: readonly AgentTool[]): Promise<void> {
  const server = buildMcpServer(tools);
  const ended = new Promise<void>((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  await server.connect(new StdioServerTransport());
  await ended;
  await server.close();
}
