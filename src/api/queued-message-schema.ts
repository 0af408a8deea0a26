import { z } from "zod";
import { MessageReceiptSchema } from "../sessions/session-schema.ts";

/** `GET /sessions/:idOrName/messages`: what a session will be told next, oldest first. */
export const QueuedMessageListSchema = z.object({
  messages: z.array(MessageReceiptSchema.extend({ text: z.string() })),
});
export type QueuedMessageList = z.infer<typeof QueuedMessageListSchema>;
