import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { Principal } from "../../access/principal.ts";
import type { AgentTool } from "../../sessions/runner-port.ts";
import { principalOf } from "../access-hooks.ts";

/**
 * `/mcp`: the coordination tools for external MCP clients over streamable HTTP, behind the same bearer
 * access control as every other route; the tools act with the caller's own token. Stateless: each POST gets its own server and transport (the tools keep no
 * state between calls), answered as plain JSON, so there are no MCP sessions to expire or leak.
 */
export function mcpRoutes(deps: {
  /** The tools, calling Baton's API with the caller's own token: an MCP client can do what its token can. */
  tools: (caller: { token: string; principal: Principal }) => AgentTool[];
}): FastifyPluginAsync {
  return async (app) => {
    const schema = {
      tags: ["coordination"],
      summary: "MCP over streamable HTTP: Baton's coordination tools for external MCP clients",
      description:
        "A JSON-RPC 2.0 MCP endpoint (stateless, JSON answers; GET and DELETE are 405). Point an MCP client " +
        "at `<baton>/mcp` with the same bearer token as the rest of the API. Tools and their inputs: " +
        "`tools/list`, or docs/coordination.md.",
    };
    app.post("/mcp", { config: { access: "mcp.call" }, schema }, async (request, reply) => {
      const token = request.headers.authorization?.slice("Bearer ".length).trim() ?? "";
      const [{ buildMcpServer }, { WebStandardStreamableHTTPServerTransport }] = await loadMcp();
      const server = buildMcpServer(deps.tools({ token, principal: principalOf(request) }));
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      try {
        await server.connect(transport);
        const response = await transport.handleRequest(toWebRequest(request), { parsedBody: request.body });
        const body = Buffer.from(await response.arrayBuffer());
        reply.status(response.status);
        for (const [key, value] of response.headers) reply.header(key, value);
        return reply.send(body);
      } finally {
        await server.close();
      }
    });
    // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
    for (const method of ["GET", "DELETE"] as const) {
      app.route({
        method,
        url: "/mcp",
        config: { access: "mcp.call" },
        schema: { hide: true },
        handler: async (_request, reply) =>
          reply
            .status(405)
            .header("allow", "POST")
            .send({
              jsonrpc: "2.0",
              error: {
                code: -32000,
                message: "Method not allowed: this MCP endpoint is stateless; POST only",
              },
              id: null,
            }),
      });
    }
  };
}

/**
 * The MCP SDK and the server built on it, loaded at the first MCP call: ~4 MB of Baton's own memory (more
 * with the validators it brings) that a server no MCP client talks to does not need (docs/capacity.md).
 */
const importMcp = () =>
  Promise.all([
    import("../../mcp/mcp-server.ts"),
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
  ]);
let mcpModules: ReturnType<typeof importMcp> | undefined;
function loadMcp() {
  mcpModules ??= importMcp();
  return mcpModules;
}

function toWebRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [key, value] of Object.entries(request.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(key, item);
    else if (value !== undefined) headers.set(key, value);
  }
  return new Request(new URL(request.url, "http://baton.local"), { method: request.method, headers });
}
