import { randomBytes, randomUUID } from "node:crypto";

/**
 * Session ids sort by creation time (a base-36 millisecond timestamp, then randomness), so cursor paging
 * can order by id alone and a newer session always lists after an older one.
 */
export function newSessionId(now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, "0");
  const random = randomBytes(6).readUIntBE(0, 6).toString(36).padStart(10, "0");
  return `ses_${time}${random}`;
}

/** Message ids double as the SDK input `uuid`, which must be a UUID for `command_lifecycle` correlation. */
export function newMessageId(): string {
  return randomUUID();
}

export function newRequestId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}
