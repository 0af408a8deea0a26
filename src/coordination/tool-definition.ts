import { type ZodRawShape, z } from "zod";
import { BatonApiError, type BatonClient } from "../client/baton-client.ts";
import { describeError } from "../core/errors.ts";
import type { AgentTool } from "../sessions/runner-port.ts";

/** Who is calling a tool, and the way to reach Baton. */
export interface ToolContext {
  client: BatonClient;
  /** The calling session's id; undefined for an external MCP client (Claude Desktop, Claude Code, …). */
  self: string | undefined;
}

export interface ToolResult {
  text: string;
  isError?: boolean;
}

/**
 * One coordination tool, independent of how it is served: in-process to each agent (`mcp__baton__<name>`),
 * over stdio (`baton mcp`) and over HTTP (`/mcp`). `run` gets input already checked against `inputShape`.
 */
export interface ToolDefinition {
  name: string;
  /** Read by the model: say when to use the tool, not only what it does. */
  description: string;
  inputShape: ZodRawShape;
  run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult>;
}

/** A refusal the caller should read (a rule, a missing input): returned as an error result, never thrown on. */
export class ToolRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolRefusal";
  }
}

/** Defines a tool whose `run` sees typed, validated input (the MCP layers validate too; this keeps it honest). */
export function defineTool<Shape extends ZodRawShape>(spec: {
  name: string;
  description: string;
  inputShape: Shape;
  run(args: z.infer<z.ZodObject<Shape>>, context: ToolContext): Promise<ToolResult>;
}): ToolDefinition {
  const schema = z.object(spec.inputShape);
  return {
    name: spec.name,
    description: spec.description,
    inputShape: spec.inputShape,
    async run(args, context) {
      const parsed = schema.safeParse(args);
      if (!parsed.success) return { text: `invalid input: ${z.prettifyError(parsed.error)}`, isError: true };
      return spec.run(parsed.data, context);
    },
  };
}

/**
 * Binds definitions to a caller. Every failure becomes an error result the model can read and act on
 * (a 409 NAME_TAKEN, an unreachable Baton): a thrown error would surface as an opaque MCP failure.
 */
export function bindTools(definitions: readonly ToolDefinition[], context: ToolContext): AgentTool[] {
  return definitions.map((definition) => ({
    name: definition.name,
    description: definition.description,
    inputShape: definition.inputShape,
    async handler(args) {
      try {
        return await definition.run(args, context);
      } catch (error) {
        return { text: describeFailure(error), isError: true };
      }
    },
  }));
}

function describeFailure(error: unknown): string {
  if (error instanceof ToolRefusal) return error.message;
  if (error instanceof BatonApiError) return `${error.message} [${error.code}]`;
  return `internal error: ${describeError(error)}`;
}

/** The calling session, or a refusal naming what an external client must pass instead. */
export function requireSelf(context: ToolContext, instead: string): string {
  if (context.self) return context.self;
  throw new ToolRefusal(`this tool acts for a Baton session and you are not one: ${instead}`);
}
