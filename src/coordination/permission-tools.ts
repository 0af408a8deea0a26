import { z } from "zod";
import type { PermissionRequest } from "../sessions/permission-schema.ts";
import { isDescendant } from "./session-neighbours.ts";
import { defineTool } from "./tool-definition.ts";
import { labelOf, requireDescendant } from "./tool-guards.ts";

export const pendingPermissionsTool = defineTool({
  name: "pending_permissions",
  description:
    "List tool calls waiting for approval (a session is blocked on each). As an agent you see your " +
    "descendants' requests, and can answer them with answer_permission.",
  inputShape: {
    session: z.string().min(1).optional().describe("only this session's requests (id or name)"),
  },
  async run(args, context) {
    const { client, self } = context;
    const { permissions } = await client.permissions({
      status: "pending",
      ...(args.session ? { session: args.session } : {}),
    });
    const visible: PermissionRequest[] = [];
    const verdicts = new Map<string, boolean>();
    for (const request of permissions) {
      if (self && !verdicts.has(request.sessionId)) {
        const session = await client.get(request.sessionId);
        verdicts.set(request.sessionId, await isDescendant(client, self, session));
      }
      if (!self || verdicts.get(request.sessionId)) visible.push(request);
    }
    if (visible.length === 0) return { text: "No pending permission requests." };
    const lines = visible.map(
      (request) =>
        `- ${request.id} session ${request.sessionId}: ${request.toolName} ${JSON.stringify(request.input).slice(0, 200)}`,
    );
    return { text: `${visible.length} pending request(s):\n${lines.join("\n")}` };
  },
});

export const answerPermissionTool = defineTool({
  name: "answer_permission",
  description:
    "Allow or deny a tool call a session is waiting on (see pending_permissions). A denial's message " +
    "reaches that session's model. Agents may answer only for their descendants, never for themselves.",
  inputShape: {
    session: z.string().min(1).describe("the waiting session (id or name)"),
    requestId: z.string().min(1).describe("the request id from pending_permissions"),
    decision: z.enum(["allow", "deny"]),
    message: z.string().min(1).max(4000).optional().describe("why (a denial's reason is shown to the model)"),
    alwaysAllow: z.boolean().optional().describe("allow this tool for the rest of that session"),
  },
  async run(args, context) {
    const target = await requireDescendant(context, args.session, "answer permission requests for");
    const answered = await context.client.answerPermission(target.id, args.requestId, {
      decision: args.decision,
      ...(args.message ? { message: args.message } : {}),
      ...(args.alwaysAllow ? { alwaysAllow: true } : {}),
    });
    return { text: `${answered.toolName} for ${labelOf(target)}: ${answered.status}.` };
  },
});
