import { z } from "zod";
import { USAGE_GROUPINGS } from "../store/usage-queries.ts";

/** An ISO date or date-time, normalised to a full ISO timestamp (UTC) for comparison with `ended_at`. */
const Instant = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO date or date-time")
  .transform((text) => new Date(text).toISOString());

export const UsageQuerySchema = z.object({
  groupBy: z
    .enum(USAGE_GROUPINGS)
    .default("owner")
    .describe("owner, tree (a root session and all its descendants), day (UTC) or model"),
  from: Instant.optional().describe("turns that ended at or after this instant"),
  to: Instant.optional().describe("turns that ended before this instant"),
  owner: z.string().min(1).optional().describe("only this owner's sessions"),
});

const UsageSumsShape = {
  costUsd: z.number(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  turns: z.number().int().describe("finished turns"),
  sessions: z.number().int().describe("distinct sessions"),
};

export const UsageReportSchema = z.object({
  rows: z.array(
    z.object({
      key: z
        .string()
        .describe("the owner, the tree's root session id, the UTC day (YYYY-MM-DD) or the model"),
      ...UsageSumsShape,
    }),
  ),
  total: z.object(UsageSumsShape),
});

export type UsageQuery = z.infer<typeof UsageQuerySchema>;
export type UsageReport = z.infer<typeof UsageReportSchema>;
