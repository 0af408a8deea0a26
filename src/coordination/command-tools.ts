import { z } from "zod";
import { DELIVERY_MODES, SessionConfigSchema } from "../sessions/session-schema.ts";
import { isUnfinished } from "../sessions/session-status.ts";
import { defineTool, requireSelf, ToolRefusal } from "./tool-definition.ts";
import { childPermissions, labelOf, requireDescendant } from "./tool-guards.ts";

const config = SessionConfigSchema.shape;
const sessionRef = (what: string) => z.string().min(1).describe(`${what}: a session id (ses_…) or name`);

export const spawnTool = defineTool({
  name: "spawn",
  description:
    "Start a child agent session that works on its own task in parallel with you. Use it to delegate a " +
    "self-contained piece of work (give it everything it needs in the prompt: it does not see your " +
    "conversation). It runs in your working directory unless you give workDir, and its turn ends on its " +
    "own: you are sent a message with its result, so you do not need to poll. Returns its id and name.",
  inputShape: {
    prompt: config.prompt.describe("the child's complete task"),
    name: config.name.describe("a unique friendly name, usable instead of the id (e.g. tests-fixer)"),
    workDir: config.workDir.optional().describe("absolute directory to work in (default: yours)"),
    owner: config.owner.describe("who the session is accounted to (default: your owner)"),
    maxBudgetUsd: config.maxBudgetUsd.describe("spending cap in USD (default: the server's)"),
    maxTurns: config.maxTurns.describe("model-request cap (default: the server's)"),
    model: config.model,
    allowedTools: config.allowedTools.describe(
      'tools it may use without asking, e.g. ["Bash"]; as an agent, only tools you have yourself',
    ),
    permissionMode: config.permissionMode.describe("default: yours; as an agent, never more than yours"),
    idempotencyKey: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("any unique string; if you retry this spawn, pass the same one and no second child is made"),
  },
  async run(args, context) {
    const { client, self } = context;
    const parent = self ? await client.get(self) : undefined;
    const workDir = args.workDir ?? (parent?.config as { workDir?: string } | undefined)?.workDir;
    if (!workDir) throw new ToolRefusal("workDir is required (an absolute directory for the new session)");
    const owner = args.owner ?? parent?.owner;
    const { permissionMode, allowedTools, idempotencyKey, ...rest } = args;
    const child = await client.spawn(
      {
        ...rest,
        ...childPermissions(parent, {
          ...(permissionMode ? { permissionMode } : {}),
          ...(allowedTools ? { allowedTools } : {}),
        }),
        workDir,
        ...(owner ? { owner } : {}),
        ...(self ? { parentSessionId: self } : {}),
      },
      idempotencyKey ? { idempotencyKey } : {},
    );
    const queued = child.queuePosition ? ` (queue position ${child.queuePosition})` : "";
    const followUp = self
      ? " You will be sent a message when its turn ends; use status or what to look in on it, send to talk to it."
      : "";
    return { text: `Spawned ${labelOf(child)} in ${workDir}: ${child.status}${queued}.${followUp}` };
  },
});

export const sendTool = defineTool({
  name: "send",
  description:
    "Send a message to another session (by id or name). mode queue (default) delivers it when its current " +
    "turn ends; steer injects it into the running turn at its next step; interrupt stops the current turn " +
    "and delivers it at once. A message to a finished session resumes it. The recipient sees who sent it.",
  inputShape: {
    session: sessionRef("the recipient"),
    text: z.string().trim().min(1).describe("the message"),
    mode: z.enum(DELIVERY_MODES).optional().describe("queue (default), steer or interrupt"),
  },
  async run(args, { client, self }) {
    const receipt = await client.send(args.session, {
      text: args.text,
      ...(args.mode ? { mode: args.mode } : {}),
      ...(self ? { from: self } : {}),
    });
    return {
      text: `Message ${receipt.messageId} ${receipt.deliveredAt ? "delivered" : "queued"} to ${args.session}.`,
    };
  },
});

export const waitTool = defineTool({
  name: "wait",
  description:
    "Be woken when another session finishes its current work, or when timeoutSeconds run out. It returns " +
    "at once: end your turn afterwards, and Baton sends you a message with the outcome (you spend nothing " +
    "while you wait). Children you spawned report to you anyway; use wait for other sessions or deadlines.",
  inputShape: {
    session: sessionRef("the session to wait for"),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .describe("give up after this many seconds (you are told it is still busy)"),
  },
  async run(args, context) {
    const self = requireSelf(context, "external clients can poll status or what instead");
    const receipt = await context.client.wait(self, {
      target: args.session,
      timeoutSeconds: args.timeoutSeconds,
    });
    const finished = receipt.targetStatus && !isUnfinished(receipt.targetStatus);
    const text = finished
      ? `${args.session} is already ${receipt.targetStatus}: its outcome was sent to you as a message. End your turn to read it.`
      : `Waiting for ${args.session} until ${receipt.deadline} (wait ${receipt.waitId}). End your turn now: a message wakes you when it finishes or the time runs out.`;
    return { text };
  },
});

export const killTool = defineTool({
  name: "kill",
  description:
    "Stop one of your child sessions (or a descendant of them) for good, with every process it started. " +
    "Use it when a child is stuck, going the wrong way or no longer needed. Other sessions are refused.",
  inputShape: { session: sessionRef("the session to kill") },
  async run(args, context) {
    const target = await requireDescendant(context, args.session, "kill");
    const killed = await context.client.kill(target.id);
    return { text: `Killed ${labelOf(killed)}.` };
  },
});

export const clearTool = defineTool({
  name: "clear",
  description:
    "Give one of your idle child sessions a fresh conversation (same name and session, old history " +
    "dropped), so it can be reused for an unrelated task: send it the new task afterwards. Refused while it " +
    "is working, and for sessions that are not your descendants.",
  inputShape: { session: sessionRef("the session to clear") },
  async run(args, context) {
    const target = await requireDescendant(context, args.session, "clear");
    const cleared = await context.client.clear(target.id);
    return { text: `Cleared ${labelOf(cleared)}: its next message starts a new conversation.` };
  },
});

export const nameTool = defineTool({
  name: "name",
  description:
    "Set your own friendly name, so other sessions and people can address you by it (send, wait, status). " +
    "Names are unique among live sessions.",
  inputShape: {
    name: config.name.unwrap().describe("the new name: letters, digits, '.', '_' or '-'"),
    session: sessionRef("external clients only: the session to rename").optional(),
  },
  async run(args, context) {
    const { client, self } = context;
    if (self && args.session) {
      const target = await client.get(args.session);
      if (target.id !== self) throw new ToolRefusal("refused: a session may only rename itself");
    }
    const id = self ?? args.session;
    if (!id) throw new ToolRefusal("give session: the session to rename");
    const renamed = await client.rename(id, args.name);
    return { text: `${renamed.id} is now named "${renamed.name}".` };
  },
});
