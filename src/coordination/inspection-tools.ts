import { z } from "zod";
import { describeSessionList, describeSessionStatus } from "./session-lines.ts";
import { listChildren, listOthers } from "./session-neighbours.ts";
import { defineTool, type ToolContext, ToolRefusal } from "./tool-definition.ts";

const optionalSession = (what: string) =>
  z.string().min(1).optional().describe(`${what}: a session id (ses_…) or name (default: you)`);
const workDirInput = z
  .string()
  .min(1)
  .optional()
  .describe("absolute directory to look at (default: your own working directory)");

function sessionOrSelf(session: string | undefined, context: ToolContext): string {
  const id = session ?? context.self;
  if (!id) throw new ToolRefusal("give session: which session to look at");
  return id;
}

export const statusTool = defineTool({
  name: "status",
  description:
    "One session's status, counters, limits, and its result or error (yours when session is left out). " +
    "Use what instead to see what a working session is doing right now.",
  inputShape: { session: optionalSession("the session") },
  async run(args, context) {
    const session = await context.client.get(sessionOrSelf(args.session, context));
    return { text: describeSessionStatus(session) };
  },
});

export const childrenTool = defineTool({
  name: "children",
  description:
    "List the sessions you spawned (or another session's children), with status, cost and the gist of " +
    "each result. Use it to check on delegated work.",
  inputShape: { session: optionalSession("whose children") },
  async run(args, context) {
    const parent = sessionOrSelf(args.session, context);
    const children = await listChildren(context.client, parent);
    if (children.length === 0) return { text: `${args.session ?? "You"} spawned no sessions.` };
    return { text: `${children.length} child session(s):\n${describeSessionList(children)}` };
  },
});

export const othersTool = defineTool({
  name: "others",
  description:
    "List the other live sessions working in the same directory as you (any status but killed). Check " +
    "before large edits: they may be changing the same files.",
  inputShape: { workDir: workDirInput },
  async run(args, context) {
    const { workDir, others } = await listOthers(context.client, context.self, args.workDir);
    if (others.length === 0) return { text: `No other sessions in ${workDir}.` };
    return { text: `${others.length} other session(s) in ${workDir}:\n${describeSessionList(others)}` };
  },
});

export const aloneTool = defineTool({
  name: "alone",
  description:
    "Answer whether you are the only live session in your working directory: true, or false and who else " +
    "is there.",
  inputShape: { workDir: workDirInput },
  async run(args, context) {
    const { workDir, others } = await listOthers(context.client, context.self, args.workDir);
    if (others.length === 0) return { text: `true: you are alone in ${workDir}.` };
    return {
      text: `false: ${others.length} other session(s) in ${workDir}:\n${describeSessionList(others)}`,
    };
  },
});

export const whatTool = defineTool({
  name: "what",
  description:
    "What a session is doing right now: its status and for how long, the tool it is running (with input), " +
    "its last output, turns and cost so far. Use it to look in on a child that is taking long.",
  inputShape: { session: z.string().min(1).describe("a session id (ses_…) or name") },
  async run(args, context) {
    return { text: (await context.client.what(args.session)).description };
  },
});
