import { z } from "zod";

/** `GET /whoami`: who the request's credentials name. */
export const WhoamiSchema = z.object({
  principal: z.string().describe("how this caller is named in audit fields, e.g. user:alice or agent:ses_…"),
  role: z.enum(["admin", "user", "viewer", "agent"]),
  owner: z.string().optional().describe("the owner a user or agent acts as"),
  sessionId: z.string().optional().describe("the session an agent token acts for"),
});
export type Whoami = z.infer<typeof WhoamiSchema>;
