import { z } from "zod";
import { EventSchema } from "./catalogue.ts";

/*
 * The wire shapes of reading the event log page by page ("events after seq N"): the routes validate with
 * them, the client's types are inferred from them.
 */

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

export const EventPageSchema = z.object({
  events: z.array(EventSchema),
  nextAfter: z.number().int().describe("the cursor for the next page: pass it as `after`"),
});
export type EventPage = z.infer<typeof EventPageSchema>;
