import { z } from "zod";

/** The lock API's shapes: they validate requests, describe the OpenAPI entries, and type the client. */
export const LockSchema = z.object({
  resource: z.string().describe("file:<absolute path> or workdir:<absolute path>"),
  sessionId: z.string(),
  sessionName: z.string().nullable(),
  kind: z.enum(["auto", "explicit"]).describe("auto: taken before a file edit; explicit: lock on request"),
  reason: z.string().nullable(),
  acquiredAt: z.string(),
});
export type Lock = z.infer<typeof LockSchema>;

export const LockWaiterSchema = z.object({
  sessionId: z.string(),
  resource: z.string(),
  kind: z.enum(["auto", "explicit"]),
  holder: z.string().describe("the session it waits for"),
  holderName: z.string().nullable(),
  since: z.string(),
  timeoutMs: z.number().int(),
});
export type LockWaiter = z.infer<typeof LockWaiterSchema>;

export const LockListSchema = z.object({ locks: z.array(LockSchema), waiters: z.array(LockWaiterSchema) });
export type LockList = z.infer<typeof LockListSchema>;

export const ListLocksQuerySchema = z.object({
  session: z.string().min(1).optional().describe("only what this session (id or name) holds or waits for"),
});

const resourceField = z
  .string()
  .min(1)
  .max(4096)
  .describe(
    "file:<path>, workdir:<path>, or a path (relative to the session's workDir; a directory means workdir)",
  );

export const LockRequestSchema = z
  .object({
    reason: z.string().trim().min(1, "reason must be a non-empty string").max(500),
    resource: resourceField.optional().describe("default: the session's workDir"),
    waitMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .optional()
      .describe("wait this long for a holder to let go (default 0: answer 409 at once)"),
  })
  .strict();
export type LockRequest = z.infer<typeof LockRequestSchema>;

export const UnlockRequestSchema = z
  .object({ resource: resourceField.optional().describe("default: everything the session holds") })
  .strict();
export type UnlockRequest = z.infer<typeof UnlockRequestSchema>;

export const UnlockResultSchema = z.object({ released: z.array(LockSchema) });
