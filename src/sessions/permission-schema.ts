import { z } from "zod";

export const PermissionAnswerSchema = z
  .object({
    decision: z.enum(["allow", "deny"]),
    message: z.string().min(1).max(4000).optional().describe("returned to the model (a denial's reason)"),
    updatedInput: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("run the tool with this input instead"),
    alwaysAllow: z.boolean().optional().describe("allow this tool for the rest of the session"),
    by: z.string().min(1).max(200).optional().describe("who answered (recorded in the audit event)"),
  })
  .strict();
export type PermissionAnswer = z.infer<typeof PermissionAnswerSchema>;

export const PermissionRequestSchema = z.object({
  id: z.string(),
  sessionId: z.string(),
  toolName: z.string(),
  toolUseId: z.string().nullable(),
  /** Secret-looking values masked. */
  input: z.unknown(),
  suggestions: z.unknown().nullable(),
  status: z.enum(["pending", "allowed", "denied", "cancelled"]),
  message: z.string().nullable(),
  answeredBy: z.string().nullable(),
  createdAt: z.string(),
  answeredAt: z.string().nullable(),
});
export type PermissionRequest = z.infer<typeof PermissionRequestSchema>;

export const ListPermissionsQuerySchema = z.object({
  status: z.enum(["pending", "allowed", "denied", "cancelled"]).optional(),
  session: z.string().min(1).optional().describe("session id or name"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
