import { z } from "zod";

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string().describe("stable error code, e.g. SESSION_NOT_FOUND"),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export { EventPageSchema, EventQuerySchema } from "../events/event-query-schema.ts";

export const PublishEventSchema = z
  .object({
    topic: z.string().min(1).max(200),
    data: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
