import { z } from "zod";
import { EventSchema } from "../events/catalogue.ts";

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string().describe("stable error code, e.g. SESSION_NOT_FOUND"),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

const topicList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((topic) => topic.trim())
      .filter(Boolean),
  )
  .describe("comma-separated topics: exact, session.*, or *");

const queryFlag = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

export const EventQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional().describe("return events with seq greater than this"),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  topics: topicList.default([]),
  output: queryFlag.default(false).describe("include session.output (assistant text) events"),
  deltas: queryFlag
    .default(false)
    .describe("also the streamed pieces of that text (session.output with delta: true); implies output"),
});

export const EventPageSchema = z.object({ events: z.array(EventSchema), nextAfter: z.number().int() });

export const PublishEventSchema = z
  .object({
    topic: z.string().min(1).max(200),
    data: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
