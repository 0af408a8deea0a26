import { z } from "zod";
import { SessionConfigSchema, SessionStatusSchema } from "./session-schema.ts";

/** `PATCH /sessions/:idOrName`: a new friendly name, validated exactly like a name given at spawn. */
export const RenameSessionSchema = z
  .object({
    name: SessionConfigSchema.shape.name.unwrap().describe("the new name; unique among live sessions"),
  })
  .strict();
export type RenameSessionInput = z.infer<typeof RenameSessionSchema>;

/** `POST /sessions/:idOrName/clear`: who asked (recorded in `session.cleared`); a bodiless POST is null. */
export const ClearSessionSchema = z
  .object({ by: z.string().min(1).max(200).optional() })
  .strict()
  .nullish();

/** `GET /sessions/:idOrName/what`: what a session is doing now, read from its newest events. */
export const SessionSummarySchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  status: SessionStatusSchema,
  statusSince: z.string().describe("when the session entered its status (the row's last status write)"),
  secondsInStatus: z.number().int().nonnegative(),
  currentTool: z
    .object({
      toolUseId: z.string(),
      name: z.string(),
      input: z.unknown(),
      startedAt: z.string(),
      seconds: z.number().int().nonnegative(),
    })
    .nullable()
    .describe("a tool call that started and has not finished (only while running or waiting)"),
  pendingPermission: z
    .object({ requestId: z.string(), toolName: z.string(), since: z.string() })
    .nullable()
    .describe("a permission request still waiting for an answer"),
  lastOutput: z.object({ text: z.string(), at: z.string() }).nullable(),
  lastActivityAt: z.string().nullable().describe("time of the session's newest event"),
  costUsd: z.number(),
  turns: z.number().int(),
  result: z.string().nullable(),
  error: z.string().nullable(),
  description: z.string().describe("the same, as a short paragraph for people and models"),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;

/** `POST /sessions/:idOrName/wait`: be told (by message) when `target` finishes, or after `timeoutSeconds`. */
export const WaitBodySchema = z
  .object({
    target: z.string().min(1).describe("the session to wait for (id or name)"),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400),
  })
  .strict();
export type WaitBody = z.infer<typeof WaitBodySchema>;

/** The answer to a wait: at once, the waiter holds no turn open. */
export const WaitReceiptSchema = z.object({
  waitId: z.string(),
  deadline: z.string().describe("when the waiter is told the target is still busy"),
  targetStatus: SessionStatusSchema.describe("the target's status when the wait was registered"),
});
export type WaitReceipt = z.infer<typeof WaitReceiptSchema>;
